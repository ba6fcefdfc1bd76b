"""The TimeDistributed LSTM: sentence rows ``(batch, n_sentences, dim)`` -> scores ``(batch, n_sentences, 1)``.

Pure Keras 3 (no backend-specific ops), so the same code fits under TensorFlow or JAX.

Two Keras 3 pitfalls shape this file (both measured with keras 3.15 / TF 2.21):
- A mask computed inside the graph (``Masking``) saves to ``.h5`` but does not load back
  ("Unknown layer: 'NotEqual'"). So the padding mask is a second input, ``mask`` ``(batch,
  n_sentences)``, 1.0 for a sentence and 0.0 for padding (float, since ``tf.distribute`` cannot
  sum bool tensors), handed to every LSTM; the saved ``.h5`` then loads with plain
  ``keras.saving.load_model``.
- ``TimeDistributed`` gives wrong shapes when the time axis changes between calls
  (``(2, 4, 5)`` in, ``(2, 2, 1)`` out after a call with 7 steps). A ``Dense`` on a 3-D input is
  the same per-sentence layer (one kernel shared across time steps), so the head is a ``Dense``.

Padding never touches the loss either: the fit gives padded steps a ``sample_weight`` of 0, and
their target is ``PADDING_LABEL`` (-1), so a loss that looks at a whole article (``listwise``) can
tell them apart.
"""

from __future__ import annotations

import keras
import numpy as np

from app.core.batching import bucket_length, pad_rows
from training.examples import Example
from training.recipe import ModelConfig

PADDING_LABEL = -1.0  # the target of a padded step


@keras.saving.register_keras_serializable(package="brief")
def listwise_loss(y_true, y_pred):
    """Softmax cross-entropy over each article's sentences, plus binary cross-entropy.

    The first part sees an article as one ranking: the scores' logits, softmaxed over the article's
    real sentences, are pulled towards its labels normalised to sum to 1. What counts for a top-K
    pick is then the order within the article, not the level, which differs between sources (a BBC
    summary holds ~40% of its article's sentences, a CNN one ~10%). The second part keeps the
    scores readable as probabilities. Returned per step (padding 0), summing to the article's loss.
    """
    from keras import ops

    real = ops.cast(y_true[..., 0] >= 0, "float32")
    target = ops.maximum(y_true[..., 0], 0.0) * real
    p = ops.clip(y_pred[..., 0], 1e-6, 1 - 1e-6)
    logits = ops.where(real > 0, ops.log(p) - ops.log(1 - p), -1e9)
    log_softmax = logits - ops.logsumexp(logits, axis=1, keepdims=True)
    share = target / ops.maximum(ops.sum(target, axis=1, keepdims=True), 1e-6)
    ranking = -share * ops.where(real > 0, log_softmax, 0.0)
    bce = -(target * ops.log(p) + (1 - target) * ops.log(1 - p)) * real
    return ranking + bce / ops.maximum(ops.sum(real, axis=1, keepdims=True), 1.0)


LOSSES = {"mae": "mean_absolute_error", "mse": "mean_squared_error", "bce": "binary_crossentropy",
          "listwise": listwise_loss}
OPTIMIZERS = {"rmsprop": keras.optimizers.RMSprop, "adam": keras.optimizers.Adam}


def build_model(config: ModelConfig, input_dim: int) -> keras.Model:
    """Build and compile the scorer for rows of ``input_dim`` features (``ModelConfig``: training/recipe.py)."""
    if config.loss not in LOSSES:
        raise ValueError(f"unknown loss {config.loss!r}; choose from {sorted(LOSSES)}")
    if config.optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {config.optimizer!r}; choose from {sorted(OPTIMIZERS)}")
    regularizer = keras.regularizers.L2(config.l2) if config.l2 else None
    inputs = keras.Input(shape=(None, input_dim), name="sentences")
    mask = keras.Input(shape=(None,), dtype="float32", name="mask")  # 1 real sentence, 0 padding
    x = inputs
    for i in range(config.layers):
        lstm = keras.layers.LSTM(
            config.units,
            return_sequences=True,
            dropout=config.dropout,
            recurrent_dropout=config.recurrent_dropout,
            kernel_regularizer=regularizer,
            name=f"lstm_{i}",
        )
        if config.bidirectional:
            lstm = keras.layers.Bidirectional(lstm, name=f"bi_lstm_{i}")
        x = lstm(x, mask=mask)
    # (batch, n_sentences, 1): one Dense applied at every time step, i.e. TimeDistributed(Dense(1))
    outputs = keras.layers.Dense(1, activation="sigmoid", kernel_regularizer=regularizer, name="score")(x)
    model = keras.Model([inputs, mask], outputs, name="brief")
    model.compile(
        optimizer=OPTIMIZERS[config.optimizer](learning_rate=config.learning_rate),
        loss=LOSSES[config.loss],
        weighted_metrics=[],
    )
    return model


class ExampleBatches(keras.utils.PyDataset):
    """Batches of articles of similar length, padded to a length bucket, reshuffled every epoch.

    Yields ``([x, mask], y, sample_weight)`` with ``sample_weight`` 0 and ``y`` ``PADDING_LABEL``
    on padding, so padding never touches the loss; on real sentences ``sample_weight`` is the
    article's weight.
    """

    def __init__(self, examples: list[Example], batch_size: int, max_sentences: int, seed: int, shuffle: bool = True):
        super().__init__()
        self.examples = examples
        self.batch_size = batch_size
        self.max_sentences = max_sentences
        self.rng = np.random.default_rng(seed)
        self.shuffle = shuffle
        self._make_batches()

    def _make_batches(self) -> None:
        order = sorted(range(len(self.examples)), key=lambda i: len(self.examples[i].rows) + self.rng.random())
        self.batches = [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        if self.shuffle:
            self.rng.shuffle(self.batches)
        # Keras infers the input signature from the first few batches: lead with the longest and
        # the shortest, so the time axis is seen to vary (else later, longer batches are refused).
        lengths = [max(len(self.examples[i].rows) for i in b) for b in self.batches]
        longest, shortest = int(np.argmax(lengths)), int(np.argmin(lengths))
        first = [self.batches[longest]] + ([self.batches[shortest]] if shortest != longest else [])
        self.batches = first + [b for j, b in enumerate(self.batches) if j not in (longest, shortest)]

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, index: int):
        members = [self.examples[i] for i in self.batches[index]]
        length = min(self.max_sentences, bucket_length(max(len(e.rows) for e in members)))
        x, mask = pad_rows([e.rows for e in members], length)
        y = np.full(mask.shape + (1,), PADDING_LABEL, dtype=np.float32)
        for row, e in enumerate(members):
            y[row, : min(length, len(e.labels)), 0] = e.labels[:length]
        weights = np.array([e.weight for e in members], dtype=np.float32)
        return (x, mask), y, mask * weights[:, None]

    def on_epoch_end(self) -> None:
        if self.shuffle:
            self._make_batches()
