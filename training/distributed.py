"""Multi-worker training: Brief's LSTM fitted by several processes (machines) together.

    # on each of N machines, the same command with its own --index (worker 0 is the chief):
    python -m training.distributed --workers 10.0.0.1:2222,10.0.0.2:2222 --index 0 --out models/brief.h5
    # or N processes on this machine, on loopback:
    python -m training.distributed --local 2 --train 'bbc:train' --validation 'bbc:validation' --out runs/mw.h5

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
from datetime import datetime, timezone
from pathlib import Path

from app.settings import MODEL_FILE, NLTK_DATA, VECTOR_CACHE

LOST_CLUSTER = 3  # exit status of a worker that lost the others mid-fit

log = logging.getLogger("training.distributed")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m training.distributed", description=__doc__.split("\n\n")[0])
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--workers", help="host:port of every worker, comma-separated, the chief first")
    where.add_argument("--local", type=int, metavar="N", help="start N workers on this machine, on loopback")
    p.add_argument("--index", type=int, default=0, help="this worker's place in --workers")
    p.add_argument("--train", nargs="+", default=["bbc:train"], help="data sets to fit on (as training.train)")
    p.add_argument("--validation", nargs="+", default=["bbc:validation"], help="early stopping and the card's ROUGE")
    p.add_argument("--data-root", default=None)
    p.add_argument("--labeler", default="oracle")
    p.add_argument("--units", type=int, default=128)
    p.add_argument("--bidirectional", action="store_true")
    p.add_argument("--loss", default="listwise")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--patience", type=int, default=4)
    p.add_argument("--batch-size", type=int, default=32, help="global batch, split over the workers")
    p.add_argument("--max-sentences", type=int, default=256)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--k", type=int, default=3)
    p.add_argument("--nltk-data", default=NLTK_DATA)
    p.add_argument("--cache", default=VECTOR_CACHE,
                   help="sentence-vector cache; with --local, worker i > 0 keeps its own beside it")
    p.add_argument("--out", default=MODEL_FILE)
    p.add_argument("--timeout", type=float, default=120, help="seconds a collective may wait for the other workers")
    return p.parse_args(argv)


def free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def run_local(args: argparse.Namespace, argv: list[str]) -> int:
    """Start ``--local`` workers on loopback; when one fails, stop the rest. Returns the exit status."""
    addresses = ",".join(f"127.0.0.1:{port}" for port in free_ports(args.local))
    base = [a for a in argv if not a.startswith("--local")]
    if "--local" in argv:  # "--local N" as two words
        i = argv.index("--local")
        base = argv[:i] + argv[i + 2:]
    cache = Path(args.cache)
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


def fit(args: argparse.Namespace) -> None:
    """This worker's part of the fit; the chief then saves the model and its card."""
    addresses = args.workers.split(",")
    os.environ["TF_CONFIG"] = json.dumps({"cluster": {"worker": addresses},
                                          "task": {"type": "worker", "index": args.index}})
    import tensorflow as tf  # after TF_CONFIG, and before any other TensorFlow operation

    strategy = tf.distribute.MultiWorkerMirroredStrategy(
        communication_options=tf.distribute.experimental.CommunicationOptions(timeout_seconds=args.timeout))
    chief = args.index == 0
    log.info("worker %d of %d: cluster ready", args.index, len(addresses))
    try:
        train_ex, val_ex, train_config = prepare(args)
        model, history = fit_multi_worker(strategy, args, train_ex, val_ex, args.index, len(addresses))
    except (tf.errors.UnavailableError, tf.errors.DeadlineExceededError, tf.errors.CancelledError,
            tf.errors.AbortedError, tf.errors.InternalError) as e:
        first_line = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        log.error("worker %d of %d lost the other workers mid-fit (%s: %s): a worker died or cannot be "
                  "reached. Nothing was saved; start every worker again.", args.index, len(addresses),
                  type(e).__name__, first_line)
        sys.stdout.flush()
        os._exit(LOST_CLUSTER)  # TensorFlow's cluster threads would keep a normal exit waiting
    if chief:
        save(model, history, train_ex, val_ex, train_config, args, len(addresses))
    else:
        log.info("worker %d: done; the chief writes %s", args.index, args.out)


def prepare(args: argparse.Namespace):
    """Articles -> examples, exactly as ``training.train`` prepares them."""
    from app.core.encoder import SentenceEncoder
    from app.core.sentences import SentenceSplitter
    from training.data import LoadReport
    from training.examples import prepare_examples
    from training.model import ModelConfig
    from training.data import load_sets
    from training.train import TrainConfig
    from training.vector_cache import VectorCache

    config = TrainConfig(train=args.train, validation=args.validation, labeler=args.labeler,
                         model=ModelConfig(units=args.units, bidirectional=args.bidirectional, loss=args.loss),
                         epochs=args.epochs, batch_size=args.batch_size, patience=args.patience, restarts=1,
                         seed=args.seed, k=args.k, max_sentences=args.max_sentences, out=args.out,
                         nltk_data=args.nltk_data, cache=args.cache)
    if args.data_root:
        config.data_root = args.data_root
    report = LoadReport()
    train_articles = load_sets(config.train, config.data_root, report)
    val_articles = load_sets(config.validation, config.data_root, report)
    splitter, encoder = SentenceSplitter(config.nltk_data), SentenceEncoder()
    cache = VectorCache(config.cache, encoder.signature)
    train_ex = prepare_examples(train_articles, splitter, config.labeler, cache, encoder, report)
    val_ex = prepare_examples(val_articles, splitter, config.labeler, cache, encoder, report)
    log.info("worker %d: examples: train %d, validation %d", args.index, len(train_ex), len(val_ex))
    return train_ex, val_ex, config


def fit_multi_worker(strategy, args: argparse.Namespace, train_ex, val_ex, index: int, count: int):
    """Fit with early stopping on the validation loss; returns the model (best weights) and its history."""
    import keras
    import numpy as np
    import tensorflow as tf

    from training.examples import ExampleBatches
    from training.model import ModelConfig, build_model

    keras.utils.set_random_seed(args.seed)
    dim = train_ex[0].rows.shape[1]
    with strategy.scope():
        model = build_model(ModelConfig(units=args.units, bidirectional=args.bidirectional, loss=args.loss), dim)
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

    batches = ExampleBatches(train_ex, args.batch_size, args.max_sentences, args.seed)
    val_batches = ExampleBatches(val_ex, args.batch_size, args.max_sentences, args.seed, shuffle=False)
    history = {"loss": [], "val_loss": []}
    best, best_weights, waited = float("inf"), None, 0
    for epoch in range(args.epochs):
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
        log.info("worker %d: epoch %d/%d loss %.4f val_loss %.4f (%.1f s)", index, epoch + 1, args.epochs,
                 history["loss"][-1], history["val_loss"][-1], time.perf_counter() - started)
        if history["val_loss"][-1] < best:
            best, best_weights, waited = history["val_loss"][-1], model.get_weights(), 0
        else:
            waited += 1
            if waited >= args.patience:
                log.info("worker %d: early stop after epoch %d", index, epoch + 1)
                break
    model.set_weights(best_weights)
    return model, history


def save(model, history: dict, train_ex, val_ex, config, args: argparse.Namespace, workers: int) -> None:
    """The chief's ``.h5`` and card, each replaced atomically."""
    import keras

    from app.core.checksums import file_sha256
    from app.core.card import EncoderCard, ModelCard
    from app.core.encoder_runtime import choose_precision
    from app.core.features import FEATURES
    from app.settings import Settings
    from training.evaluate import evaluate_model
    from training.fit import atomic_write, score_distribution

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    # A plain (non-distributed) copy: the saved file must not depend on the strategy.
    plain = keras.models.clone_model(model)
    plain.set_weights(model.get_weights())
    atomic_write(out, lambda tmp: plain.save(tmp))
    rouge = evaluate_model(plain, val_ex, args.k)
    card = ModelCard(
        id=f"brief-{args.labeler}-{datetime.now(timezone.utc):%Y%m%d%H%M}-mw{workers}",
        created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        model_file=out.name,
        model_sha256=file_sha256(out),
        # prepare() encodes with SentenceEncoder's default precision: BRIEF_ENCODER_PRECISION on this CPU
        encoder=EncoderCard.describe(choose_precision(Settings.load().ENCODER_PRECISION)).with_probes(),
        features=list(FEATURES),
        input_dim=int(train_ex[0].rows.shape[1]),
        labeler=args.labeler,
        training_data={"train": args.train, "validation": args.validation,
                       "train_examples": len(train_ex), "validation_examples": len(val_ex)},
        hyperparameters=config.model.to_dict() | {"batch_size": args.batch_size, "epochs": args.epochs,
                                                  "patience": args.patience, "seed": args.seed},
        k=args.k,
        validation_rouge=rouge,
        validation_scores=score_distribution(plain, val_ex),
        extra={"distributed": {"workers": workers, "strategy": "MultiWorkerMirroredStrategy", "history": history}},
    )
    atomic_write(out.with_suffix(".json"), card.write)
    log.info("chief: saved %s and its card (validation ROUGE %s)", out, rouge)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    args = parse_args(argv)
    if args.local:
        sys.exit(run_local(args, argv))
    fit(args)


if __name__ == "__main__":
    main()
