"""A run's last steps, the same for ``training.train`` and ``training.distributed``: the shipping guard,
the test sets, then the model and its card saved, each atomically.
"""

from __future__ import annotations

import logging
import platform
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

import keras

from app.core.card import EncoderCard, ModelCard
from app.core.checksums import file_sha256
from app.core.features import FEATURES
from app.core.sentences import punkt_dir
from training.evaluate import evaluate_baselines, evaluate_model
from training.examples import Example
from training.fit import Candidate, Selection, atomic_write, backend_version, score_distribution
from training.recipe import TrainConfig
from training.splits import Splits

log = logging.getLogger("training")


@dataclass
class SavedModel:
    """A model a run reads (``--average-with``, ``--teacher``), checked like a served one."""

    card: ModelCard
    model: keras.Model


@dataclass
class Guard:
    """The shipping guard (README "Results"): a choice ships only if it is above Lead-K (R-1) on every
    validation set, a trade between sets that the criterion, their mean, cannot see."""

    lead: dict[str, dict[str, float]]  # Lead-K's ROUGE per validation set
    below_lead: list[str] = field(default_factory=list)  # the sets where the choice is not above it


def shipping_guard(selection: Selection, val_sets: dict[str, list[Example]], k: int) -> Guard:
    """Lead-K on each validation set, and where ``selection`` is not above it (logged: it should not ship)."""
    lead = {spec: evaluate_baselines(examples, k, ("lead",))["lead"] for spec, examples in val_sets.items()}
    guard = Guard(lead, [spec for spec in val_sets if selection.rouge[spec]["rouge1"] <= lead[spec]["rouge1"]])
    if guard.below_lead:
        log.warning("not above Lead-%d on %s: by the shipping guard this model should not ship", k,
                    ", ".join(f"{spec} ({selection.rouge[spec]['rouge1']} vs {lead[spec]['rouge1']})" for spec in guard.below_lead))
    return guard


def release(chosen: Candidate, config: TrainConfig, splits: Splits, precision: str, started: float,
            members: Sequence[SavedModel] = (), teachers: Sequence[SavedModel] = (), id_suffix: str = "",
            extra: dict | None = None) -> ModelCard:
    """Check ``chosen`` against Lead-K, score it on the test sets, save it to ``config.out`` with its card.

    Args:
        precision: the encoder's, which made the vectors (the card's ``encoder``).
        started: ``time.time()`` when the run began (the card's ``train_seconds``).
        id_suffix: after the card id's date, e.g. ``-mw2`` for a fit by two workers.
        extra: fields the card's JSON adds after the named ones.
    """
    selection = chosen.selection
    guard = shipping_guard(selection, splits.validation, config.k)
    test_rouge = {spec: evaluate_model(chosen.model, examples, config.k, selection.pick_rule, selection.length_exponent)
                  for spec, examples in splits.test.items()}
    out = Path(config.out)
    atomic_write(out, lambda tmp: chosen.model.save(tmp))
    now = datetime.now(timezone.utc)
    val_ex = splits.validation_examples
    card = ModelCard(
        id=f"{out.stem}-{'distilled' if teachers else config.labeler}-{now:%Y%m%d%H%M}{id_suffix}",
        created=now.isoformat(timespec="seconds"),
        model_file=out.name,
        model_sha256=file_sha256(out),
        encoder=EncoderCard.describe(precision).with_probes(),
        features=list(FEATURES),
        input_dim=int(splits.train[0].rows.shape[1]),
        punkt={
            "path": str(punkt_dir(config.nltk_data)),
            "files": {p.name: file_sha256(p) for p in sorted(punkt_dir(config.nltk_data).iterdir())},
        },
        labeler=config.labeler,
        training_data={
            "train": config.train,
            "validation": config.validation,
            "test": config.test,
            "articles": {"train": len(splits.train), "validation": {k: len(v) for k, v in splits.validation.items()},
                         "test": {k: len(v) for k, v in splits.test.items()}},
            "sentences": {"train": int(sum(len(e.rows) for e in splits.train)), "validation": int(sum(len(e.rows) for e in val_ex))},
            "skipped": dict(splits.report.skipped),
            # the saved models offered for averaging (--average-with), and the data each was fit on
            **({"average_with": [_provenance(m.card) for m in members]} if members else {}),
            # the models whose scores were the training labels (--teacher); the labeler labelled validation
            **({"teachers": [_provenance(t.card) for t in teachers]} if teachers else {}),
        },
        hyperparameters={**config.model.to_dict(), "epochs": config.epochs, "batch_size": config.batch_size,
                         "patience": config.patience, "restarts": config.restarts, "jobs": config.jobs, "seed": config.seed,
                         "ensemble": config.ensemble},
        chosen=chosen.name,
        k=config.k,
        pick_rule=selection.pick_rule,  # how the API picks highlights from this model's scores (app/core/ranking.py)
        length_exponent=selection.length_exponent,  # ... after weighing them by sentence length
        selection_criterion=Selection.__doc__.split("\n\n")[1].strip().replace("\n    ", " "),
        validation_criterion=selection.criterion,
        validation_rouge=selection.rouge,
        validation_lead=guard.lead,
        above_lead_on_validation=not guard.below_lead,
        test_rouge=test_rouge,
        validation_scores=score_distribution(chosen.model, val_ex),
        versions={"keras": keras.__version__, "backend": keras.backend.backend(), "python": platform.python_version(),
                  **backend_version()},
        train_seconds=round(time.time() - started, 1),
        extra=extra or {},
    )
    atomic_write(out.with_suffix(".json"), card.write)
    log.info("saved %s (validation %s, test %s)", out, selection.rouge, test_rouge)
    return card


def _provenance(card: ModelCard) -> dict:
    """What a run's card says of a saved model it used (--average-with, --teacher)."""
    return {"id": card.id, "model_sha256": card.model_sha256, "validation_criterion": card.validation_criterion,
            "train": (card.training_data or {}).get("train")}
