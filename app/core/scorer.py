"""The LSTM's forward pass: articles' rows -> one score per sentence, batched by length.

The compiled graphs are cached per model (``scorer_for``), in a weak mapping, so that a discarded
model takes its graphs with it.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from typing import Sequence

import numpy as np

from app.core.batching import bucket_length, pad_rows

# One article at a time is scored by XLA-compiled graphs padded to these lengths (ModelScorer).
XLA_LENGTHS = (16, 32, 64, 96, 160, 256)

log = logging.getLogger(__name__)


class ModelScorer:
    """The model's forward pass ``(x, mask) -> (batch, length, 1)``, without Keras predict overheads.

    Under TensorFlow: one graph whose signature leaves batch and length open (traced once, so a new
    article length never retraces it), and for one article at a time, XLA-compiled graphs at the
    ``XLA_LENGTHS`` once ``compile`` has built them. At batch 1 the LSTM's time is op dispatch per
    step, which XLA fuses away (3x faster). A compile takes seconds; until ``compile`` has run, the plain
    graph answers. The two agree to about 1e-7, not bit for bit, so the server compiles before it
    declares itself ready (``app.server.service``): then one article always takes the same graph.
    """

    def __init__(self, model):
        import keras

        self._model = weakref.ref(model)  # the scorer cache must not keep a discarded model alive
        self.dim = int(model.input_shape[0][-1])
        self.compiled = threading.Event()  # set when every XLA length is compiled
        self._xla_ready: set[int] = set()
        self._tensorflow = keras.backend.backend() == "tensorflow"
        if self._tensorflow:
            import tensorflow as tf

            def forward(x, mask):
                return self._model()([x, mask], training=False)

            spec = [tf.TensorSpec((None, None, self.dim), tf.float32), tf.TensorSpec((None, None), tf.float32)]
            self._graph = tf.function(forward, input_signature=spec)
            self._xla = {n: tf.function(forward, jit_compile=True) for n in XLA_LENGTHS}

    def __call__(self, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
        if not self._tensorflow:  # e.g. training under JAX
            return np.asarray(self._model().predict_on_batch([x, mask]))
        length = next((n for n in XLA_LENGTHS if n >= x.shape[1]), None)
        if len(x) > 1 or length not in self._xla_ready:
            return self._graph(x, mask).numpy()
        padded, padded_mask = np.zeros((1, length, self.dim), np.float32), np.zeros((1, length), np.float32)
        padded[:, : x.shape[1]], padded_mask[:, : x.shape[1]] = x, mask
        return self._xla[length](padded, padded_mask).numpy()[:, : x.shape[1]]

    def compile(self) -> None:
        """XLA-compile the one-article graphs, shortest first (each is used as soon as it is built)."""
        if self._tensorflow:
            started = time.perf_counter()
            for length in XLA_LENGTHS:
                mask = np.zeros((1, length), np.float32)
                mask[0, 0] = 1.0
                self._xla[length](np.zeros((1, length, self.dim), np.float32), mask)
                self._xla_ready.add(length)
            log.info("LSTM compiled with XLA for one article of up to %d sentences in %.1f s",
                     XLA_LENGTHS[-1], time.perf_counter() - started)
        self.compiled.set()


_scorers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def scorer_for(model) -> ModelScorer:
    """The model's ``ModelScorer``, made on first use."""
    scorer = _scorers.get(model)
    if scorer is None:
        scorer = _scorers[model] = ModelScorer(model)
    return scorer


def predict_rows(model, rows: Sequence[np.ndarray], batch_size: int = 32) -> list[np.ndarray]:
    """Scores ``(n_sentences,)`` for each article's rows, batched with articles of similar length."""
    scorer = scorer_for(model)
    scores: list[np.ndarray | None] = [None] * len(rows)
    by_bucket: dict[int, list[int]] = {}
    for i, r in enumerate(rows):
        by_bucket.setdefault(bucket_length(len(r)), []).append(i)
    for members in by_bucket.values():
        for start in range(0, len(members), batch_size):
            chunk = members[start : start + batch_size]
            x, mask = pad_rows([rows[i] for i in chunk])  # to the chunk's longest: masked steps cost as much as real ones
            out = scorer(x, mask)[..., 0]  # (batch, length)
            for row, i in enumerate(chunk):
                scores[i] = out[row, : len(rows[i])].astype(np.float32)
    return scores  # type: ignore[return-value]
