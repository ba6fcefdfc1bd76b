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

Padding never touches the loss either: the fit gives padded steps a ``sample_weight`` of 0.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import keras


@dataclass
class ModelConfig:
    units: int = 512  # LSTM units per direction (the 2016 design: 512)
    layers: int = 1  # stacked LSTM layers
    bidirectional: bool = False  # read the article both ways
    dropout: float = 0.3  # dropout on the LSTM's inputs (the 2016 design: 0.3)
    recurrent_dropout: float = 0.0
    l2: float = 0.0  # L2 penalty on the LSTM and output kernels
    loss: str = "mae"  # mae (2016 design), mse or bce
    optimizer: str = "rmsprop"  # rmsprop (2016 design) or adam
    learning_rate: float = 1e-3

    def to_dict(self) -> dict:
        return asdict(self)


LOSSES = {"mae": "mean_absolute_error", "mse": "mean_squared_error", "bce": "binary_crossentropy"}
OPTIMIZERS = {"rmsprop": keras.optimizers.RMSprop, "adam": keras.optimizers.Adam}


def build_model(config: ModelConfig, input_dim: int) -> keras.Model:
    """Build and compile the scorer for rows of ``input_dim`` features."""
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
