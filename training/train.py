"""Train Brief's sentence scorer and save it as ``models/brief.h5`` with its card ``models/brief.json``.

    python -m training.train                      # the shipped model (`make train`; settings: training/recipe.py)
    python -m training.train --labeler jaccard --loss mae --restarts 1 --average-with --out runs/jaccard.h5

Steps (``train`` below, in order): load articles -> train Punkt on the training texts if there are
no parameters yet -> check the saved models the run reads -> split, label every sentence against the
summary's quotes (with ``--teacher``, training sentences by saved models' scores instead), MiniLM
vectors (cached in HDF5), features -> fit the LSTM ``restarts`` times with early stopping on the
validation loss -> keep the candidate with the best validation ROUGE: a fit, the average of the fits
(``--ensemble``), or either averaged with ``--average-with`` models -> the shipping guard, the test
sets, the ``.h5`` and its card saved atomically (training/release.py).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import keras

from app.core.card import EncoderCard, ModelCard, load_model_with_card
from app.core.encoder import SentenceEncoder
from app.core.features import FEATURES
from app.core.model_file import ModelFileError
from app.core.sentences import SentenceSplitter, punkt_dir
from training.data import Article
from training.distill import teacher_labels
from training.examples import Example
from training.fit import (Candidate, Selection, average_models, fit_in_processes, fit_once, make_strategy, save_curves,
                          save_fit, saved_fit, select, split_cpu)
from training.punkt import train_punkt
from training.recipe import TrainConfig, parse_args
from training.release import SavedModel, release
from training.splits import Splits, load_articles, prepare_splits

log = logging.getLogger("training")


def train(config: TrainConfig) -> ModelCard:
    """One run, every step in order; returns the card saved beside the model."""
    started = time.time()
    split_cpu(config.cpu_devices)
    articles = load_articles(config)
    splitter = sentence_splitter(config, articles.train)
    encoder = SentenceEncoder()
    # checked like served models before the long work, so that a bad one fails now
    members = read_saved_models(config.average_with, encoder)
    teachers = read_saved_models(config.teacher, encoder)
    splits = prepare_splits(config, articles, splitter, encoder)
    splits.train = teacher_labels(splits.train, [t.model for t in teachers])
    run_dir = Path(config.runs) / Path(config.out).stem
    fits = fit_restarts(config, splits, run_dir / "fits")
    chosen = choose(config, fits, members, splits.validation)
    card = release(chosen, config, splits, encoder.precision, started, members, teachers)
    save_run_record(run_dir, config, fits, chosen, card.test_rouge)
    return card


def sentence_splitter(config: TrainConfig, train_articles: list[Article]) -> SentenceSplitter:
    """Brief's splitter, its Punkt parameters learnt from the training texts first if there are none yet."""
    if config.retrain_punkt or not punkt_dir(config.nltk_data).is_dir():
        log.info("training Punkt on %d articles", len(train_articles))
        train_punkt([a.text for a in train_articles], config.nltk_data)
    return SentenceSplitter(config.nltk_data)


def read_saved_models(paths: list[str], encoder: SentenceEncoder) -> list[SavedModel]:
    """Each ``.h5`` with the card beside it, refused (``ModelFileError``) if fit on other features or vectors."""
    return [SavedModel(*load_model_with_card(path, Path(path).with_suffix(".json"), FEATURES,
                                             EncoderCard.describe(encoder.precision))) for path in paths]


@dataclass
class Fit:
    restart: int  # seeded config.seed + restart
    model: keras.Model
    history: dict[str, list[float]]  # per epoch: loss, val_loss
    selection: Selection


# Settings that do not change what one fit learns: fit i is seeded ``seed + i`` and sees the same data
# however many fits the run makes or whether it averages them, so ``--resume`` reuses it across those.
NOT_PER_FIT = ("resume", "epochs", "restarts", "ensemble", "average_with")


def fit_settings(config: TrainConfig) -> str:
    """The run's settings, written beside each completed fit (``same_fit`` compares them)."""
    return json.dumps(dataclasses.asdict(config), sort_keys=True)


def same_fit(saved: str, settings: str) -> bool:
    """Whether a fit saved with ``saved`` settings is the fit these settings would make."""
    def key(text: str) -> dict:
        return {k: v for k, v in json.loads(text).items() if k not in NOT_PER_FIT}
    return key(saved) == key(settings)


def fit_restarts(config: TrainConfig, splits: Splits, fits_dir: Path) -> list[Fit]:
    """Fit ``config.restarts`` initialisations and measure each on validation.

    A completed fit is kept in ``fits_dir``, so an interrupted run (``--resume``) does not redo it;
    without ``--resume`` the folder is emptied first. With ``--jobs`` > 1 the fits still to make run
    side by side in worker processes, and are then read back like resumed ones.
    """
    settings = fit_settings(config)
    if not config.resume:
        shutil.rmtree(fits_dir, ignore_errors=True)
    fits_dir.mkdir(parents=True, exist_ok=True)

    def completed(restart: int) -> dict | None:  # the history of fit ``restart`` if these settings completed it
        saved = saved_fit(fits_dir, restart)
        return saved[1] if saved and same_fit(saved[0], settings) else None

    resumed = {r for r in range(config.restarts) if completed(r) is not None}
    todo = [r for r in range(config.restarts) if r not in resumed]
    val_ex = splits.validation_examples
    if config.jobs > 1 and len(todo) > 1:
        fit_in_processes(config, splits.train, val_ex, todo, fits_dir, settings)
    strategy = make_strategy(config)
    fits = []
    for restart in range(config.restarts):
        history = completed(restart)
        if history is None:
            model, history = fit_once(config, splits.train, val_ex, config.seed + restart, strategy,
                                      backup_dir=fits_dir / f"backup_{restart}", label=f"fit {restart}")
            history = save_fit(fits_dir, restart, model, history, settings)
        else:
            model = keras.saving.load_model(fits_dir / f"fit_{restart}.h5", compile=False)
            log.info("fit %d: %s %s", restart, "resumed from" if restart in resumed else "fitted in a worker:",
                     fits_dir / f"fit_{restart}.h5")
        log.info("fit %d: validation", restart)
        fits.append(Fit(restart, model, history, select(model, splits.validation, config.k)))
    return fits


def choose(config: TrainConfig, fits: list[Fit], members: list[SavedModel], val_sets: dict[str, list[Example]]) -> Candidate:
    """The candidate with the best validation criterion; on a tie the first of: each fit alone, the
    fits' average (``--ensemble``), then each of those averaged with the ``--average-with`` members."""
    candidates = [Candidate(f"fit {f.restart}", f.model, f.selection) for f in fits]
    if config.ensemble and len(fits) > 1:
        ensemble = average_models([f.model for f in fits])
        log.info("ensemble of %d fits: validation", len(fits))
        candidates.append(Candidate(f"average of {len(fits)} fits", ensemble, select(ensemble, val_sets, config.k)))
    if members:
        names = ", ".join(m.card.id for m in members)
        for alone in list(candidates):
            averaged = average_models([alone.model] + [m.model for m in members])
            selection = select(averaged, val_sets, config.k)
            log.info("%s averaged with %s: validation criterion %.4f (alone %.4f)", alone.name, names,
                     selection.criterion, alone.selection.criterion)
            candidates.append(Candidate(f"{alone.name} averaged with {names}", averaged, selection))
    chosen = max(candidates, key=lambda c: c.selection.criterion)  # the first of equals
    log.info("keeping %s with pick rule %s, length exponent %.1f (validation criterion %.3f)", chosen.name,
             chosen.selection.pick_rule, chosen.selection.length_exponent, chosen.selection.criterion)
    return chosen


def save_run_record(run_dir: Path, config: TrainConfig, fits: list[Fit], chosen: Candidate, test_rouge: dict) -> None:
    """``runs/<model>/curves.png`` (every fit's losses) and ``metrics.json`` (every fit's and the choice's figures)."""
    save_curves([f.history for f in fits], run_dir / "curves.png")
    best = max(fits, key=lambda f: (f.selection.criterion, -f.restart))
    metrics = {
        "fits": [{"seed": config.seed + f.restart, "validation": dataclasses.asdict(f.selection), "history": f.history}
                 for f in fits],
        "best_fit": best.restart,
        "chosen": chosen.name,
        "pick_rule": chosen.selection.pick_rule,
        "length_exponent": chosen.selection.length_exponent,
        "validation_criterion": chosen.selection.criterion,
        "validation_rouge": chosen.selection.rouge,
        "test_rouge": test_rouge,
    }
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = parse_args(argv, __doc__)
    try:
        train(config)
    except ModelFileError as e:  # e.g. an --average-with model that is missing or fit on other features
        raise SystemExit(f"training.train: {e}") from None


if __name__ == "__main__":
    main()
