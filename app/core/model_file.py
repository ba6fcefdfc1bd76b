"""The saved LSTM: load the ``.h5`` (architecture and weights), checked against the sha256 its card records.

Serving loads it as ``app.core.numpy_lstm.NumpyLSTM`` (no TensorFlow); training and evaluation, and
serving where that cannot read the architecture, as a Keras model.
"""

from __future__ import annotations

import logging
from pathlib import Path

from app.core.checksums import file_sha256

log = logging.getLogger(__name__)


class ModelFileError(RuntimeError):
    """The model file is missing, unreadable, or not the one its card describes."""


def check_model_file(model_path: str | Path, expected_sha256: str | None = None) -> Path:
    """The path, once it is known to exist and (when a sha256 is given) to be the expected file."""
    path = Path(model_path)
    if not path.is_file():
        raise ModelFileError(f"model file {path} does not exist")
    if expected_sha256 and file_sha256(path) != expected_sha256:
        raise ModelFileError(f"model file {path} does not match the sha256 in its card")
    return path


def load_keras_model(model_path: str | Path, expected_sha256: str | None = None):
    """Load the ``.h5`` (architecture and weights), checking its sha256 first when one is given."""
    import keras

    path = check_model_file(model_path, expected_sha256)
    try:
        return keras.saving.load_model(path, compile=False)
    except Exception as e:  # h5py and keras raise many types for a corrupt file
        raise ModelFileError(f"cannot load model file {path}: {type(e).__name__}: {e}") from e


def load_scoring_model(model_path: str | Path, expected_sha256: str | None = None):
    """The ``.h5`` as serving scores with it: the NumPy forward pass, or Keras for an architecture it does not read.

    Either answers ``model.input_shape`` and ``app.core.scorer.predict_rows`` with the same scores.
    """
    from app.core.numpy_lstm import UnsupportedModel, read_numpy_lstm

    path = check_model_file(model_path, expected_sha256)
    try:
        return read_numpy_lstm(path)
    except UnsupportedModel as e:
        log.warning("scoring %s with Keras (loads TensorFlow): the NumPy forward pass does not read it: %s", path, e)
    except (OSError, KeyError, ValueError) as e:  # h5py's errors for a file that is not HDF5, or is damaged
        raise ModelFileError(f"cannot load model file {path}: {type(e).__name__}: {e}") from e
    return load_keras_model(path)
