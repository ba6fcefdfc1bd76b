"""Multi-worker training: Brief's LSTM fitted by several processes (machines) together.

    # on each of N machines, the same command with its own --index (worker 0 is the chief):
    python -m training.distributed --workers 10.0.0.1:2222,10.0.0.2:2222 --index 0 --out models/brief.h5
    # or N processes on this machine, on loopback:
    python -m training.distributed --local 2 --train bbc:train --validation bbc:validation --test bbc:test --out runs/mw.h5

The settings are ``training.train``'s, flags and defaults (training/recipe.py), but those a
multi-worker fit does not have (``HELD`` below); ``--batch-size`` is the global batch, split over
the workers. The data are prepared as ``training.train`` prepares them, through the same vector
cache (``--cache``; with ``--local``, worker i > 0 keeps its own beside it, since an HDF5 file takes
one writer), and the chief writes the same card, its pick rule chosen on validation.

The engine is ``tf.distribute.MultiWorkerMirroredStrategy``: one replica per worker, gradients summed
over the workers by collective all-reduce (gRPC). Keras 3's ``model.fit`` fails under it
(keras-team/keras#20585: "Attempt to convert a value (PerReplica...)"), so the fit here is a training
step of our own, run on every worker by ``strategy.run``; the model, its loss and its optimizer are
those of ``training.model.build_model``, as in a single-worker fit.

Every worker loads the same articles, builds the same examples and walks the same sequence of global
batches (same seed); worker ``i`` takes rows ``i, i+N, ...`` of each, so together the workers compute
the gradient of the whole batch, normalised as Keras normalises it (over the batch's padded steps).
The validation loss is summed over the workers the same way, so all of them take the same
early-stopping decision.

Only the chief (worker 0) writes: ``--out`` (an ``.h5`` that loads with ``keras.saving.load_model``
like a single-worker one, replaced atomically) and its card beside it. A worker that dies, or a
network cut, makes the others' collective operations fail within ``--timeout`` seconds: they exit
with status 3 and one line saying so, and nothing is written. ``--local`` starts the workers as
child processes and stops the others when one fails.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from app.settings import RUNS
from training.recipe import TrainConfig, add_recipe_arguments, recipe_from_args

LOST_CLUSTER = 3  # exit status of a worker that lost the others mid-fit

log = logging.getLogger("training.distributed")


# training.train's settings that a multi-worker fit does not have, held at what it does instead: one
# fit (no restarts to choose from or average, no saved models to average with or learn from), the
# workers' processes instead of --jobs or --distribute, no checkpoints to resume from, nothing in runs/.
HELD = {"restarts": 1, "ensemble": False, "average_with": [], "teacher": [], "jobs": 1, "resume": False,
        "distribute": False, "cpu_devices": 0, "runs": RUNS, "retrain_punkt": False}


def parse_args(argv: list[str] | None = None) -> tuple[argparse.Namespace, TrainConfig]:
    """The cluster's flags, and the recipe (``training.train``'s flags and defaults, but ``HELD``)."""
    p = argparse.ArgumentParser(prog="python -m training.distributed", description=__doc__.split("\n\n")[0])
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--workers", help="host:port of every worker, comma-separated, the chief first")
    where.add_argument("--local", type=int, metavar="N", help="start N workers on this machine, on loopback")
    p.add_argument("--index", type=int, default=0, help="this worker's place in --workers")
    p.add_argument("--timeout", type=float, default=120, help="seconds a collective may wait for the other workers")
    add_recipe_arguments(p, HELD)
    args = p.parse_args(argv)
    return args, recipe_from_args(p, args, HELD)


def free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def run_local(args: argparse.Namespace, config: TrainConfig, argv: list[str]) -> int:
    """Start ``--local`` workers on loopback; when one fails, stop the rest. Returns the exit status."""
    addresses = ",".join(f"127.0.0.1:{port}" for port in free_ports(args.local))
    base = [a for a in argv if not a.startswith("--local")]
    if "--local" in argv:  # "--local N" as two words
        i = argv.index("--local")
        base = argv[:i] + argv[i + 2:]
    cache = Path(config.cache)
    workers = []
    for index in range(args.local):
        own_cache = cache if index == 0 else cache.with_name(f"{cache.stem}.worker{index}{cache.suffix}")
        command = [sys.executable, "-m", "training.distributed", *base, "--workers", addresses,
                   "--index", str(index), "--cache", str(own_cache)]
        workers.append(subprocess.Popen(command))
    status = 0
    try:
        status = watch(workers, args.timeout)
    finally:
        stop(workers)  # also when the launcher itself is interrupted
    for index, w in enumerate(workers):
        if w.returncode:
            log.error("worker %d exited with status %d", index, w.returncode)
    status = status or next((w.returncode for w in workers if w.returncode), 0)
    return 1 if status < 0 else status  # a worker killed by a signal


def watch(workers: list[subprocess.Popen], timeout: float) -> int:
    """Until every worker has exited; when one fails, give the others the time to see it, then stop them."""
    status = 0
    while any(w.poll() is None for w in workers):
        failed = [(i, w.returncode) for i, w in enumerate(workers) if w.returncode not in (None, 0)]
        if failed:
            status = failed[0][1]  # the others are given the time to see it, then stopped
            deadline = time.monotonic() + timeout + 30  # time for them to see it themselves
            while any(w.poll() is None for w in workers) and time.monotonic() < deadline:
                time.sleep(0.5)
            break
        time.sleep(0.5)
    return status


def stop(workers: list[subprocess.Popen]) -> None:
    """SIGTERM, then SIGKILL: a worker blocked in TensorFlow's cluster threads may not end on SIGTERM."""
    for w in workers:
        if w.poll() is None:
            w.terminate()
    deadline = time.monotonic() + 10
    while any(w.poll() is None for w in workers) and time.monotonic() < deadline:
        time.sleep(0.5)
    for w in workers:
        if w.poll() is None:
            w.kill()


def fit(args: argparse.Namespace, config: TrainConfig) -> None:
    """This worker's part of the fit; the chief then saves the model and its card."""
    started = time.time()
    addresses = args.workers.split(",")
    os.environ["TF_CONFIG"] = json.dumps({"cluster": {"worker": addresses},
                                          "task": {"type": "worker", "index": args.index}})
    import tensorflow as tf  # after TF_CONFIG, and before any other TensorFlow operation

    from app.core.encoder import SentenceEncoder
    from app.core.sentences import SentenceSplitter
    from training.splits import load_articles, prepare_splits

    strategy = tf.distribute.MultiWorkerMirroredStrategy(
        communication_options=tf.distribute.experimental.CommunicationOptions(timeout_seconds=args.timeout))
    chief = args.index == 0
    log.info("worker %d of %d: cluster ready", args.index, len(addresses))
    try:
        # as training.train prepares them; only the chief scores the test sets
        encoder = SentenceEncoder()
        splits = prepare_splits(config, load_articles(config, test=chief), SentenceSplitter(config.nltk_data), encoder)
        model, history = fit_multi_worker(strategy, config, splits, args.index, len(addresses))
    except (tf.errors.UnavailableError, tf.errors.DeadlineExceededError, tf.errors.CancelledError,
            tf.errors.AbortedError, tf.errors.InternalError) as e:
        first_line = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        log.error("worker %d of %d lost the other workers mid-fit (%s: %s): a worker died or cannot be "
                  "reached. Nothing was saved; start every worker again.", args.index, len(addresses),
                  type(e).__name__, first_line)
        sys.stdout.flush()
        os._exit(LOST_CLUSTER)  # TensorFlow's cluster threads would keep a normal exit waiting
    if chief:
        save(model, history, splits, config, encoder.precision, len(addresses), started)
    else:
        log.info("worker %d: done; the chief writes %s", args.index, config.out)


def fit_multi_worker(strategy, config: TrainConfig, splits, index: int, count: int):
    """Fit with early stopping on the validation loss; returns the model (best weights) and its history."""
    import keras
    import numpy as np
    import tensorflow as tf

    from training.model import ExampleBatches, build_model

    keras.utils.set_random_seed(config.seed)
    dim = splits.train[0].rows.shape[1]
    with strategy.scope():
        model = build_model(config.model, dim)
    loss_fn = keras.losses.get(model.loss) if isinstance(model.loss, str) else model.loss
    spec = (tf.TensorSpec((None, None, dim), tf.float32), tf.TensorSpec((None, None), tf.float32),
            tf.TensorSpec((None, None, 1), tf.float32), tf.TensorSpec((None, None), tf.float32),
            tf.TensorSpec((), tf.float32))

    def replica_loss(x, mask, y, weight, size, training):
        # Keras' "sum over batch size": the weighted per-step losses over all the batch's (padded) steps.
        loss = tf.reduce_sum(loss_fn(y, model([x, mask], training=training)) * weight) / size
        if model.losses:
            loss += tf.add_n(model.losses) / count
        return loss

    @tf.function(input_signature=spec)
    def train_step(x, mask, y, weight, size):
        def replica(x, mask, y, weight, size):
            with tf.GradientTape() as tape:
                loss = replica_loss(x, mask, y, weight, size, True)
            grads = tape.gradient(loss, model.trainable_variables)
            model.optimizer.apply_gradients(zip(grads, model.trainable_variables))  # all-reduces (sum)
            return loss
        return strategy.reduce(tf.distribute.ReduceOp.SUM, strategy.run(replica, args=(x, mask, y, weight, size)), axis=None)

    @tf.function(input_signature=spec)
    def val_step(x, mask, y, weight, size):
        per_replica = strategy.run(lambda *a: replica_loss(*a, False), args=(x, mask, y, weight, size))
        return strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)

    def shard(batch):
        (x, mask), y, weight = batch
        size = np.float32(x.shape[0] * x.shape[1])
        return x[index::count], mask[index::count], y[index::count], weight[index::count], size

    batches = ExampleBatches(splits.train, config.batch_size, config.max_sentences, config.seed)
    val_batches = ExampleBatches(splits.validation_examples, config.batch_size, config.max_sentences, config.seed,
                                 shuffle=False)
    history = {"loss": [], "val_loss": []}
    best, best_weights, waited = float("inf"), None, 0
    for epoch in range(config.epochs):
        started, losses = time.perf_counter(), []
        for b in range(len(batches)):
            batch = batches[b]
            if len(batch[1]) >= count:  # fewer articles than workers: every worker skips it alike
                losses.append(float(train_step(*shard(batch))))
        batches.on_epoch_end()
        val = [float(val_step(*shard(batch))) for batch in (val_batches[b] for b in range(len(val_batches)))
               if len(batch[1]) >= count]
        history["loss"].append(float(np.mean(losses)))
        history["val_loss"].append(float(np.mean(val)))
        log.info("worker %d: epoch %d/%d loss %.4f val_loss %.4f (%.1f s)", index, epoch + 1, config.epochs,
                 history["loss"][-1], history["val_loss"][-1], time.perf_counter() - started)
        if history["val_loss"][-1] < best:
            best, best_weights, waited = history["val_loss"][-1], model.get_weights(), 0
        else:
            waited += 1
            if waited >= config.patience:
                log.info("worker %d: early stop after epoch %d", index, epoch + 1)
                break
    model.set_weights(best_weights)
    return model, history


def save(model, history: dict, splits, config: TrainConfig, precision: str, workers: int, started: float) -> None:
    """The chief's ``.h5`` and card, as training.train writes them (with the pick rule chosen on validation)."""
    import keras

    from training.fit import Candidate, select
    from training.release import release

    # A plain (non-distributed) copy: the saved file must not depend on the strategy.
    plain = keras.models.clone_model(model)
    plain.set_weights(model.get_weights())
    chosen = Candidate(f"one fit over {workers} workers", plain, select(plain, splits.validation, config.k))
    release(chosen, config, splits, precision, started, id_suffix=f"-mw{workers}",
            extra={"distributed": {"workers": workers, "strategy": "MultiWorkerMirroredStrategy", "history": history}})
    log.info("chief: saved %s and its card", config.out)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    args, config = parse_args(argv)
    if args.local:
        sys.exit(run_local(args, config, argv))
    fit(args, config)


if __name__ == "__main__":
    main()
