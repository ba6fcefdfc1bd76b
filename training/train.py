"""Train Brief's sentence scorer and save it as ``models/brief.h5`` with its card ``models/brief.json``.

    python -m training.train                      # the shipped model (see README)
    python -m training.train --labeler jaccard --loss mae --restarts 1 --out runs/jaccard.h5

Steps: load articles -> train Punkt on the training texts -> split -> label every sentence against
the summary's quotes (with ``--teacher``, training sentences by saved models' scores instead) ->
MiniLM vectors (cached in HDF5) -> features -> fit the LSTM ``restarts`` times with early stopping
on the validation loss -> keep the fit with the best validation ROUGE (or the average of the fits,
or of the choice with ``--average-with`` models, where that is better) -> save the ``.h5`` and the
card atomically.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import platform
import shutil
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import keras

from app.core.card import EncoderCard, ModelCard, load_model_with_card
from app.core.checksums import file_sha256
from app.core.encoder import SentenceEncoder
from app.core.features import FEATURES
from app.core.model_file import ModelFileError
from app.core.sentences import SentenceSplitter, punkt_dir
from app.settings import DATA_ROOT, MODEL_FILE, NLTK_DATA, RUNS, VECTOR_CACHE
from training.data import LoadReport, load_sets
from training.distill import teacher_labels
from training.evaluate import evaluate_baselines, evaluate_model
from training.examples import prepare_examples
from training.fit import (Selection, atomic_write, average_models, backend_version, fit_in_processes, fit_once,
                          make_strategy, save_curves, save_fit, saved_fit, score_distribution, select, split_cpu)
from training.labels import LABELERS
from training.model import ModelConfig
from training.punkt import train_punkt
from training.vector_cache import VectorCache

log = logging.getLogger("training")


# The shipped model's data (../shared/data/README.md). BBC four times per epoch, so that ~13,000
# news stories do not drown its style (chosen on validation over twice: criterion 36.38 vs 36.24);
# a fixed random sample of the lowercased CNN/DailyMail train split.
TRAIN_SETS = ("bbc:train*4", "cnndm:train_cased", "cnndm:train_lowercased~8500")
# Early stopping, the choice of fit and of pick rule: one set per kind of article.
VALIDATION_SETS = ("bbc:validation", "cnndm:validation_cased", "cnndm:validation_lowercased[:-1000]~1000")
# Reported, never chosen by: BBC test, CNN/DM validation.jsonl, the last 1,000 lowercased
# validation stories (DailyMail), and Inshorts, a source never trained on.
TEST_SETS = ("bbc:test", "cnndm:validation", "cnndm:validation_lowercased[-1000:]", "inshorts:news_summary[:500]")


@dataclass
class TrainConfig:
    # data sets to fit on; "<set>*N" repeats a set N times per epoch (oversampling a small one),
    # "<set>^W" weighs its articles W times in the loss instead
    train: list[str] = field(default_factory=lambda: list(TRAIN_SETS))
    validation: list[str] = field(default_factory=lambda: list(VALIDATION_SETS))  # early stopping + model choice
    test: list[str] = field(default_factory=lambda: list(TEST_SETS))  # reported in the card, never used to choose
    data_root: str = str(DATA_ROOT)
    labeler: str = "oracle"  # how sentences are labelled against the summary (training/labels.py)
    model: ModelConfig = field(default_factory=ModelConfig)
    epochs: int = 30
    batch_size: int = 32
    patience: int = 4  # early stopping on validation loss
    restarts: int = 3  # random initialisations; the best on validation ROUGE is kept...
    ensemble: bool = False  # ...or all of them, averaged into one model (kept if better on validation)
    # saved models (.h5 beside its card .json) to average with the run's choice, kept if better on
    # validation: fits of other data mixes, e.g. a news-heavy one beside a BBC-heavy one
    average_with: list[str] = field(default_factory=list)
    # saved models whose mean score replaces every training sentence's label (training/distill.py):
    # one LSTM fit to an average of several; validation keeps the labeler's labels
    teacher: list[str] = field(default_factory=list)
    jobs: int = 1  # processes: fits side by side, each with cores/jobs threads (training/fit.py fit_in_processes),
    # and the labelling and featurizing of the examples
    seed: int = 1
    k: int = 3  # sentences picked when measuring ROUGE
    max_sentences: int = 256  # longer articles are cut for training (never for scoring)
    out: str = MODEL_FILE
    nltk_data: str = NLTK_DATA
    retrain_punkt: bool = False  # re-learn Punkt even if models/nltk_data has parameters
    cache: str = VECTOR_CACHE
    runs: str = RUNS  # curves, metrics and checkpoints of each training run (runs/<model name>/)
    resume: bool = False  # go on from the checkpoints of an interrupted run with the same settings
    distribute: bool = False  # tf.distribute.MirroredStrategy over all visible devices (TF backend)
    cpu_devices: int = 0  # split the CPU into this many logical devices (to try --distribute)


def parse_args(argv: list[str] | None = None) -> TrainConfig:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    defaults = TrainConfig()
    for f in dataclasses.fields(TrainConfig):
        if f.name == "model":
            continue
        _add_field(parser, f.name, getattr(defaults, f.name))
    for f in dataclasses.fields(ModelConfig):
        _add_field(parser, f.name, getattr(defaults.model, f.name))
    args = vars(parser.parse_args(argv))
    for name, value in list(args.items()):
        if value is None and isinstance(getattr(defaults, name, None), list):
            args[name] = getattr(defaults, name)
    model_args = {f.name: args.pop(f.name) for f in dataclasses.fields(ModelConfig)}
    config = TrainConfig(**args, model=ModelConfig(**model_args))
    if config.labeler not in LABELERS:
        parser.error(f"--labeler must be one of {sorted(LABELERS)}")
    if config.jobs < 1:
        parser.error("--jobs must be 1 or more")
    if config.jobs > 1 and config.distribute:
        parser.error("--jobs runs fits side by side on the CPU; --distribute spreads one fit over devices: choose one")
    return config


def _add_field(parser: argparse.ArgumentParser, name: str, default) -> None:
    flag = "--" + name.replace("_", "-")
    if isinstance(default, bool):
        parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=default)
    elif isinstance(default, list):
        # no list default here: "append" would add to it; parse_args fills it in when the flag is absent
        parser.add_argument(flag, action="append", default=None, help=f"repeatable (default: {default})")
    else:
        parser.add_argument(flag, type=type(default), default=default, help=f"(default: {default})")


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


def train(config: TrainConfig) -> ModelCard:
    started = time.time()
    split_cpu(config.cpu_devices)
    report = LoadReport()
    train_articles = load_sets(config.train, config.data_root, report)
    val_articles = {spec: load_sets([spec], config.data_root, report) for spec in config.validation}
    test_articles = {spec: load_sets([spec], config.data_root, LoadReport(), dedupe=False) for spec in config.test}
    log.info("articles: train %d, validation %s, test %s", len(train_articles),
             {k: len(v) for k, v in val_articles.items()}, {k: len(v) for k, v in test_articles.items()})

    if config.retrain_punkt or not punkt_dir(config.nltk_data).is_dir():
        log.info("training Punkt on %d articles", len(train_articles))
        train_punkt([a.text for a in train_articles], config.nltk_data)
    splitter = SentenceSplitter(config.nltk_data)
    encoder = SentenceEncoder()
    cache = VectorCache(config.cache, encoder.signature)
    # --average-with and --teacher models, checked like served ones before the long work, so that a bad one fails now
    def checked(paths):
        return [load_model_with_card(path, Path(path).with_suffix(".json"), FEATURES, EncoderCard.describe(encoder.precision))
                for path in paths]
    members, teachers = checked(config.average_with), checked(config.teacher)
    def prepare(articles, report, min_sentences=2):
        return prepare_examples(articles, splitter, config.labeler, cache, encoder, report, min_sentences, jobs=config.jobs)

    val_sets = {spec: prepare(a, report) for spec, a in val_articles.items()}
    test_sets = {spec: prepare(a, LoadReport(), min_sentences=1) for spec, a in test_articles.items()}
    train_ex = teacher_labels(prepare(train_articles, report), [m for _, m in teachers])
    val_ex = [e for examples in val_sets.values() for e in examples]
    log.info("examples: train %d, validation %d; skipped %s", len(train_ex), len(val_ex), dict(report.skipped))

    strategy = make_strategy(config)
    out = Path(config.out)
    run_dir = Path(config.runs) / out.stem
    fits_dir = run_dir / "fits"
    settings = fit_settings(config)
    if not config.resume:
        shutil.rmtree(fits_dir, ignore_errors=True)
    fits_dir.mkdir(parents=True, exist_ok=True)

    def completed(restart: int) -> dict | None:  # the history of fit ``restart`` if these settings completed it
        saved = saved_fit(fits_dir, restart)
        return saved[1] if saved and same_fit(saved[0], settings) else None

    resumed = {r for r in range(config.restarts) if completed(r) is not None}  # only with --resume: else fits/ was emptied
    todo = [r for r in range(config.restarts) if r not in resumed]
    if config.jobs > 1 and len(todo) > 1:
        fit_in_processes(config, train_ex, val_ex, todo, fits_dir, settings)
    fits = []
    for restart in range(config.restarts):
        # A completed fit is kept on disk, so an interrupted run (--resume) does not redo it.
        history = completed(restart)
        if history is None:
            model, history = fit_once(config, train_ex, val_ex, config.seed + restart, strategy,
                                      backup_dir=fits_dir / f"backup_{restart}", label=f"fit {restart}")
            history = save_fit(fits_dir, restart, model, history, settings)
        else:
            model = keras.saving.load_model(fits_dir / f"fit_{restart}.h5", compile=False)
            log.info("fit %d: %s %s", restart, "resumed from" if restart in resumed else "fitted in a worker:",
                     fits_dir / f"fit_{restart}.h5")
        log.info("fit %d: validation", restart)
        fits.append((select(model, val_sets, config.k), restart, model, history))
    best_index = max(fits, key=lambda f: (f[0].criterion, -f[1]))[1]
    # The candidates, in order of preference on a tie: each fit alone, the fits' average
    # (--ensemble), then each of those averaged with the --average-with members.
    candidates = [(f[0], f"fit {f[1]}", f[2]) for f in fits]
    if config.ensemble and len(fits) > 1:
        ensemble = average_models([f[2] for f in fits])
        log.info("ensemble of %d fits: validation", len(fits))
        candidates.append((select(ensemble, val_sets, config.k), f"average of {len(fits)} fits", ensemble))
    if members:
        names = ", ".join(m[0].id for m in members)
        for alone, name, candidate in list(candidates):
            averaged = average_models([candidate] + [m[1] for m in members])
            averaged_selection = select(averaged, val_sets, config.k)
            log.info("%s averaged with %s: validation criterion %.4f (alone %.4f)", name, names,
                     averaged_selection.criterion, alone.criterion)
            candidates.append((averaged_selection, f"{name} averaged with {names}", averaged))
    selection, chosen, model = max(candidates, key=lambda c: c[0].criterion)  # the first of equals
    log.info("keeping %s with pick rule %s, length exponent %.1f (validation criterion %.3f)", chosen,
             selection.pick_rule, selection.length_exponent, selection.criterion)
    # The shipping guard (README "Results"): a choice ships only if it is above Lead-K on every
    # validation set, a trade between sets that the criterion, their mean, cannot see.
    lead = {spec: evaluate_baselines(examples, config.k, ("lead",))["lead"] for spec, examples in val_sets.items()}
    below_lead = [spec for spec in val_sets if selection.rouge[spec]["rouge1"] <= lead[spec]["rouge1"]]
    if below_lead:
        log.warning("not above Lead-%d on %s: by the shipping guard this model should not ship", config.k,
                    ", ".join(f"{spec} ({selection.rouge[spec]['rouge1']} vs {lead[spec]['rouge1']})" for spec in below_lead))
    test_rouge = {spec: evaluate_model(model, examples, config.k, selection.pick_rule, selection.length_exponent)
                  for spec, examples in test_sets.items()}

    save_curves([f[3] for f in fits], run_dir / "curves.png")
    metrics = {
        "fits": [{"seed": config.seed + f[1], "validation": dataclasses.asdict(f[0]), "history": f[3]} for f in fits],
        "best_fit": best_index,
        "chosen": chosen,
        "pick_rule": selection.pick_rule,
        "length_exponent": selection.length_exponent,
        "validation_criterion": selection.criterion,
        "validation_rouge": selection.rouge,
        "test_rouge": test_rouge,
    }
    (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")

    atomic_write(out, lambda tmp: model.save(tmp))
    card = ModelCard(
        id=f"{out.stem}-{'distilled' if teachers else config.labeler}-{datetime.now(timezone.utc):%Y%m%d%H%M}",
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        model_file=out.name,
        model_sha256=file_sha256(out),
        encoder=EncoderCard.describe(encoder.precision).with_probes(),
        features=list(FEATURES),
        input_dim=int(train_ex[0].rows.shape[1]),
        punkt={
            "path": str(punkt_dir(config.nltk_data)),
            "files": {p.name: file_sha256(p) for p in sorted(punkt_dir(config.nltk_data).iterdir())},
        },
        labeler=config.labeler,
        training_data={
            "train": config.train,
            "validation": config.validation,
            "test": config.test,
            "articles": {"train": len(train_ex), "validation": {k: len(v) for k, v in val_sets.items()},
                         "test": {k: len(v) for k, v in test_sets.items()}},
            "sentences": {"train": int(sum(len(e.rows) for e in train_ex)), "validation": int(sum(len(e.rows) for e in val_ex))},
            "skipped": dict(report.skipped),
            # the saved models offered for averaging (--average-with), and the data each was fit on
            **({"average_with": [_provenance(card) for card, _ in members]} if members else {}),
            # the models whose scores were the training labels (--teacher); the labeler labelled validation
            **({"teachers": [_provenance(card) for card, _ in teachers]} if teachers else {}),
        },
        hyperparameters={**config.model.to_dict(), "epochs": config.epochs, "batch_size": config.batch_size,
                         "patience": config.patience, "restarts": config.restarts, "jobs": config.jobs, "seed": config.seed,
                         "ensemble": config.ensemble},
        chosen=chosen,
        k=config.k,
        pick_rule=selection.pick_rule,  # how the API picks highlights from this model's scores (app/core/ranking.py)
        length_exponent=selection.length_exponent,  # ... after weighing them by sentence length
        selection_criterion=Selection.__doc__.split("\n\n")[1].strip().replace("\n    ", " "),
        validation_criterion=selection.criterion,
        validation_rouge=selection.rouge,
        validation_lead=lead,
        above_lead_on_validation=not below_lead,
        test_rouge=test_rouge,
        validation_scores=score_distribution(model, val_ex),
        versions={"keras": keras.__version__, "backend": keras.backend.backend(), "python": platform.python_version(),
                  **backend_version()},
        train_seconds=round(time.time() - started, 1),
    )
    atomic_write(out.with_suffix(".json"), card.write)
    log.info("saved %s (validation %s, test %s)", out, selection.rouge, test_rouge)
    return card


def _provenance(card: ModelCard) -> dict:
    """What a run's card says of a saved model it used (--average-with, --teacher)."""
    return {"id": card.id, "model_sha256": card.model_sha256, "validation_criterion": card.validation_criterion,
            "train": (card.training_data or {}).get("train")}


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = parse_args(argv)
    try:
        train(config)
    except ModelFileError as e:  # e.g. an --average-with model that is missing or fit on other features
        raise SystemExit(f"training.train: {e}") from None


if __name__ == "__main__":
    main()
