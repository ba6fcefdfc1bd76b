"""Training throughput on CPU: the featurizing pipeline (split, encode, featurize) and the LSTM's fit, in sentences/s.

    python -m bench.training           # -> bench/results/training.json (about 3 minutes)

The LSTM is the shipped model's configuration (from its card's hyperparameters), fitted with
``training.model.build_model`` and ``training.model.ExampleBatches`` as ``training.train``
does, on rows of real articles' lengths. No GPU is lent to this task, so no GPU (JAX) figures.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from bench.common import CARD_PATH, NLTK_DATA, articles, parse_args, sentences_of, versions, write_result  # noqa: E402
from harness.machine import machine  # noqa: E402

ARTICLES = 60  # for the pipeline
FIT_ARTICLES = 1500
EPOCHS = 3  # the first traces the graphs: the rate is taken from the others


def pipeline(texts: list[str]) -> dict:
    """Split, encode (through a fresh vector cache, as training does) and featurize: seconds and sentences/s each."""
    from app.core.encoder import SentenceEncoder
    from app.core.features import featurize
    from app.core.sentences import SentenceSplitter
    from training.vector_cache import VectorCache

    splitter, encoder = SentenceSplitter(NLTK_DATA), SentenceEncoder(cache_size=0)
    encoder.encode_uncached(["Warm up: the first call traces the graph."])
    with tempfile.TemporaryDirectory() as tmp:
        cache = VectorCache(Path(tmp) / "vectors.h5", encoder.signature)
        started = time.perf_counter()
        split = [[s.text for s in splitter.split(t)] for t in texts]
        t_split = time.perf_counter()
        cache.vectors(list(dict.fromkeys(s for sentences in split for s in sentences)), encoder)
        t_encode = time.perf_counter()
        for sentences in split:
            featurize(sentences, cache.vectors(sentences, None))
        t_features = time.perf_counter()
    n = sum(map(len, split))
    stages = {"split": t_split - started, "encode": t_encode - t_split, "featurize": t_features - t_encode}
    return {"articles": len(texts), "sentences": n,
            "seconds": {k: round(v, 3) for k, v in stages.items()},
            "sentences_per_s": {**{k: round(n / v, 1) for k, v in stages.items()},
                                "pipeline": round(n / (t_features - started), 1)}}


def fit(lengths: list[int], epochs: int) -> dict:
    """Fit the shipped configuration on rows of these lengths: real sentences per second of an epoch."""
    import keras

    from app.core.encoder import DIM
    from app.core.features import N_FEATURES
    from training.examples import Example
    from training.model import ExampleBatches, build_model
    from training.recipe import ModelConfig

    hyper = json.loads(CARD_PATH.read_text()).get("hyperparameters", {}) if CARD_PATH.is_file() else {}
    config = ModelConfig(**{k: v for k, v in hyper.items() if k in ModelConfig.__dataclass_fields__})
    rng = np.random.default_rng(0)
    examples = [Example(None, [], rng.normal(size=(n, DIM + N_FEATURES)).astype(np.float32),
                        (rng.random(n) < 0.2).astype(np.float32)) for n in lengths]
    keras.utils.set_random_seed(1)
    model = build_model(config, DIM + N_FEATURES)
    epoch_seconds = []

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            epoch_seconds.append(time.perf_counter() - self.started)

    model.fit(ExampleBatches(examples, 32, 256, seed=1), epochs=epochs, callbacks=[Timer()], verbose=0)
    steady = epoch_seconds[1:] or epoch_seconds
    return {"config": config.to_dict(), "backend": keras.backend.backend(), "articles": len(lengths),
            "sentences_per_epoch": int(sum(lengths)), "epoch_seconds": [round(s, 2) for s in epoch_seconds],
            "sentences_per_s": round(sum(lengths) / float(np.mean(steady)), 1)}


def main() -> None:
    args = parse_args(__doc__)
    texts = articles("any", 8 if args.quick else ARTICLES, skip=100)
    lengths = [len(s) for s in sentences_of(articles("any", 32 if args.quick else FIT_ARTICLES))]
    result = {"benchmark": "training", "machine": machine(), "versions": versions(), "quick": args.quick,
              "device": "cpu (2 cores, all TensorFlow threads)",
              "pipeline": pipeline(texts), "lstm_fit": fit(lengths, 2 if args.quick else EPOCHS)}
    result["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    write_result("training", result, args.out)
    print(json.dumps({k: result[k] for k in ("pipeline", "lstm_fit")}, indent=1))


if __name__ == "__main__":
    main()
