"""The training library behind ``training/train.py``: fit one initialisation, average fits, choose on
validation, and save atomically.

``train.py`` is the entry point (the steps in order; the settings are ``training/recipe.py``);
``training/search.py`` and ``training/distributed.py`` reuse these pieces.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import keras
import numpy as np

from app.core.card import score_histogram
from app.core.ranking import LENGTH_EXPONENTS, PICK_RULES
from app.core.scorer import predict_rows
from training.evaluate import evaluate_scores
from training.examples import Example
from training.model import ExampleBatches, build_model
from training.recipe import TrainConfig

log = logging.getLogger("training")


def atomic_write(path: Path, write) -> None:
    """Write through a temporary file in the same folder, then rename: readers see old or new, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=path.suffix, dir=path.parent)
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; the model must be readable by the service
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def score_distribution(model, examples: list[Example]) -> dict:
    """The model's scores on ``examples`` in the card's histogram: the service's drift reference."""
    return score_histogram(np.concatenate(predict_rows(model, [e.rows for e in examples])))


class EpochLog(keras.callbacks.Callback):
    """One log line per epoch, named after the fit: several fits running at once stay readable."""

    def __init__(self, label: str, epochs: int):
        super().__init__()
        self.label, self.epochs = label, epochs

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        figures = " ".join(f"{k} {v:.5f}" for k, v in (logs or {}).items())
        log.info("%s epoch %d/%d: %s (%.0f s)", self.label, epoch + 1, self.epochs, figures, time.perf_counter() - self.started)


def fit_once(config: TrainConfig, train: list[Example], val: list[Example], seed: int, strategy=None,
             backup_dir: Path | None = None, verbose: int = 2, label: str = "fit"):
    """One random initialisation: fit with early stopping, return (model, history).

    With ``backup_dir``, the fit leaves a checkpoint there after every epoch and, if one is already
    there (an interrupted run), goes on from it; the checkpoint is deleted when the fit completes.
    """
    keras.utils.set_random_seed(seed)
    input_dim = train[0].rows.shape[1]
    if strategy is not None:
        with strategy.scope():
            model = build_model(config.model, input_dim)
    else:
        model = build_model(config.model, input_dim)
    history = model.fit(
        ExampleBatches(train, config.batch_size, config.max_sentences, seed),
        validation_data=ExampleBatches(val, config.batch_size, config.max_sentences, seed, shuffle=False),
        epochs=config.epochs,
        callbacks=[keras.callbacks.EarlyStopping(patience=config.patience, restore_best_weights=True),
                   EpochLog(label, config.epochs)]
        + ([keras.callbacks.BackupAndRestore(str(backup_dir))] if backup_dir else []),
        verbose=verbose,
    )
    return model, history.history


# A completed fit on disk: fits/fit_<i>.h5 and fits/fit_<i>.json (the run's settings and the fit's history).
def save_fit(fits_dir: Path, restart: int, model, history: dict, settings: str) -> dict:
    """Write fit ``restart`` atomically (the model first, so a fit whose ``.json`` exists is complete)."""
    history = {k: [float(v) for v in vs] for k, vs in history.items()}
    atomic_write(fits_dir / f"fit_{restart}.h5", lambda tmp: model.save(tmp))
    atomic_write(fits_dir / f"fit_{restart}.json",
                 lambda tmp: tmp.write_text(json.dumps({"settings": settings, "history": history})))
    return history


def saved_fit(fits_dir: Path, restart: int) -> tuple[str, dict] | None:
    """``(settings, history)`` of fit ``restart`` if a completed one is on disk, else None."""
    model, info = fits_dir / f"fit_{restart}.h5", fits_dir / f"fit_{restart}.json"
    if not (model.exists() and info.exists()):
        return None
    saved = json.loads(info.read_text())
    return saved["settings"], saved["history"]


def fit_in_processes(config: TrainConfig, train: list[Example], val: list[Example], restarts: list[int],
                     fits_dir: Path, settings: str) -> None:
    """Fit ``restarts`` ``config.jobs`` at a time, each in a process of its own with an equal share of
    the CPU's threads, each saved with ``save_fit`` as it completes.

    An LSTM step gains little from a second thread (docs/experiments/fit-threads/threads.py on 2 idle
    cores: 0.068 s a batch with one thread, 0.051 s with two), so two one-thread fits side
    by side make 1.5x the batches a second of one two-thread fit. The examples reach the workers through one pickle
    in ``fits_dir`` (rows, labels and weights only), deleted at the end.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    data = fits_dir / "examples.pkl"
    light = [[replace(e, article=None, sentences=[]) for e in examples] for examples in (train, val)]

    def write(tmp: Path) -> None:  # streamed: no second in-memory copy of ~1 GB of rows
        with tmp.open("wb") as f:
            pickle.dump(light, f, protocol=5)

    atomic_write(data, write)
    del light
    threads = max(1, (os.cpu_count() or 1) // config.jobs)
    log.info("fitting %s, %d at a time in worker processes of %d thread(s) each", restarts, config.jobs, threads)
    try:
        # spawn, not fork: the parent has the encoder's threads running, which a forked child would inherit half-made
        with ProcessPoolExecutor(min(config.jobs, len(restarts)), mp_context=multiprocessing.get_context("spawn"),
                                 initializer=_worker_start, initargs=(threads,)) as pool:
            for done in [pool.submit(_fit_worker, config, str(data), r, str(fits_dir), settings) for r in restarts]:
                done.result()
    finally:
        data.unlink(missing_ok=True)


def _worker_start(threads: int) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)


def _fit_worker(config: TrainConfig, data: str, restart: int, fits_dir: str, settings: str) -> None:
    with open(data, "rb") as f:
        train, val = pickle.load(f)
    fits = Path(fits_dir)
    model, history = fit_once(config, train, val, config.seed + restart, backup_dir=fits / f"backup_{restart}",
                              verbose=0, label=f"fit {restart}")
    save_fit(fits, restart, model, history, settings)
    log.info("fit %d: saved", restart)


def average_models(models: list[keras.Model]) -> keras.Model:
    """One model whose score is the mean of the members' scores (saved and loaded as one .h5)."""
    sentences = keras.Input(shape=models[0].input_shape[0][1:], name="sentences")
    mask = keras.Input(shape=(None,), dtype="float32", name="mask")
    for i, member in enumerate(models):
        member.name = f"member_{i}"
    scores = keras.layers.Average(name="score")([m([sentences, mask]) for m in models])
    return keras.Model([sentences, mask], scores, name="brief_ensemble")


def mean_rouge(r: dict) -> float:
    return (r["rouge1"] + r["rouge2"] + r["rougeLsum"]) / 3


@dataclass
class Selection:
    """How good a model is on validation, with the pick rule that suits it best.

    The criterion (fixed before any result was seen): for each validation set, the mean of
    R-1, R-2 and R-L of the top-K highlights; then the mean over the sets, so that each set
    (BBC, cased CNN, lowercased DailyMail...) counts the same however many articles it has.
    """

    criterion: float
    pick_rule: str
    rouge: dict[str, dict[str, float]]  # per validation set
    length_exponent: float = 0.0  # picks rank by score / words ** this (app/core/ranking.py)


@dataclass
class Candidate:
    """A model a run may keep: a fit, an average of fits, or either averaged with saved models."""

    name: str  # "fit 0", "average of 3 fits", "fit 0 averaged with <card id>"...: the card's ``chosen``
    model: keras.Model
    selection: Selection


def select(model, val_sets: dict[str, list[Example]], k: int) -> Selection:
    """The model's criterion under each pick rule and length exponent; the best (the simpler on a tie:
    ``top`` before the blocking rules, no length weighting before any)."""
    scores = {name: predict_rows(model, [e.rows for e in examples]) for name, examples in val_sets.items()}
    best = None
    for exponent in LENGTH_EXPONENTS:
        for rule in PICK_RULES:
            rouge = {name: evaluate_scores(examples, scores[name], k, rule, exponent) for name, examples in val_sets.items()}
            criterion = round(float(np.mean([mean_rouge(r) for r in rouge.values()])), 4)
            log.info("  pick rule %s, length exponent %.1f: criterion %.3f %s", rule, exponent, criterion, rouge)
            if best is None or criterion > best.criterion:
                best = Selection(criterion, rule, rouge, exponent)
    return best


def save_curves(histories: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for i, h in enumerate(histories):
        ax.plot(h["loss"], label=f"fit {i} train", color=f"C{i}")
        ax.plot(h["val_loss"], label=f"fit {i} validation", color=f"C{i}", linestyle="--")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def make_strategy(config: TrainConfig):
    if not config.distribute:
        return None
    import tensorflow as tf  # multi-device training is a TensorFlow feature; the model code stays pure Keras

    if keras.backend.backend() != "tensorflow":
        raise SystemExit("--distribute needs KERAS_BACKEND=tensorflow")
    gpus = tf.config.list_logical_devices("GPU")
    devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
    log.info("MirroredStrategy over %s", devices)
    return tf.distribute.MirroredStrategy(devices)


def split_cpu(n: int) -> None:
    if n > 1:
        import tensorflow as tf

        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * n)


def backend_version() -> dict:
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return {"tensorflow": tf.__version__}
    if keras.backend.backend() == "jax":
        import jax

        return {"jax": jax.__version__}
    return {}
