"""The LSTM's forward pass: articles' rows -> one score per sentence, batched by length.

Serving's model is ``app.core.numpy_lstm.NumpyLSTM``, its own forward pass. A Keras model
(training, evaluation, or serving an architecture the NumPy pass does not read) goes through a
``ModelScorer``, cached per model in a weak mapping, so that a discarded model takes its graph with it.
"""

from __future__ import annotations

import weakref
from typing import Callable, Sequence

import numpy as np

from app.core.batching import bucket_length, pad_rows
from app.core.numpy_lstm import NumpyLSTM

Forward = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (x (batch, length, dim), mask (batch, length)) -> (batch, length, 1)


class ModelScorer:
    """A Keras model's forward pass ``(x, mask) -> (batch, length, 1)``, without Keras predict overheads.

    Under TensorFlow: one graph whose signature leaves batch and length open, traced once, so a
    new article length never retraces it. (XLA-compiled graphs per length were 2x faster at batch 1
    but cost 11 s and 160 MB per worker before ready; the NumPy pass beats both: docs/startup.md.)
    """

    def __init__(self, model):
        import keras

        self._model = weakref.ref(model)  # the scorer cache must not keep a discarded model alive
        self.dim = int(model.input_shape[0][-1])
        self._tensorflow = keras.backend.backend() == "tensorflow"
        if self._tensorflow:
            import tensorflow as tf

            def forward(x, mask):
                return self._model()([x, mask], training=False)

            spec = [tf.TensorSpec((None, None, self.dim), tf.float32), tf.TensorSpec((None, None), tf.float32)]
            self._graph = tf.function(forward, input_signature=spec)

    def __call__(self, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
        if not self._tensorflow:  # e.g. training under JAX
            return np.asarray(self._model().predict_on_batch([x, mask]))
        return self._graph(x, mask).numpy()


_scorers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def scorer_for(model) -> Forward:
    """The model's forward pass: a ``NumpyLSTM`` is its own; a Keras model's ``ModelScorer`` is made on first use."""
    if isinstance(model, NumpyLSTM):
        return model
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
