"""Train nltk's Punkt sentence splitter on the training articles and save its parameters.

The parameters are written in nltk's text ``punkt_tab`` layout (no pickle), under
``<nltk_data>/tokenizers/punkt_tab/english/``, where ``app/core/sentences.py`` loads them.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterable

from nltk.tokenize.punkt import PunktTrainer, save_punkt_params

from app.core.sentences import punkt_dir, use_nltk_data


# Titles and abbreviations that news text uses with a full stop but that a corpus in BBC style
# ("Mr Smith") never shows Punkt; without them "Mr. Smith" would end a sentence at "Mr.".
SEED_ABBREVIATIONS = (
    "mr mrs ms dr prof sr jr st mt gen col lt sgt capt rev gov sen rep supt insp det "
    "co corp inc ltd jan feb mar apr jun jul aug sep sept oct nov dec no vs etc u.s u.k u.n"
).split()


def train_punkt(texts: Iterable[str], nltk_data: str | Path) -> Path:
    """Learn Punkt parameters from ``texts`` and write them atomically; returns their folder."""
    trainer = PunktTrainer()
    trainer.INCLUDE_ALL_COLLOCS = True
    for text in texts:
        trainer.train(text, finalize=False)
    trainer.finalize_training()
    params = trainer.get_params()
    params.abbrev_types.update(SEED_ABBREVIATIONS)

    target = punkt_dir(nltk_data)
    target.parent.mkdir(parents=True, exist_ok=True)
    # nltk writes only inside folders on nltk.data.path, into a private (0700) directory.
    use_nltk_data(nltk_data)
    staging = Path(tempfile.mkdtemp(prefix=".punkt-", dir=target.parent))
    save_punkt_params(params, dir=str(staging))
    os.chmod(staging, 0o755)
    for path in staging.iterdir():
        os.chmod(path, 0o644)
    old = target.with_name(target.name + ".old")
    if target.exists():
        target.rename(old)
    staging.rename(target)
    shutil.rmtree(old, ignore_errors=True)
    return target
