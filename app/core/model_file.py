"""The saved LSTM: load the ``.h5`` (architecture and weights), checked against the sha256 its card records."""

from __future__ import annotations

from pathlib import Path

from app.core.checksums import file_sha256


class ModelFileError(RuntimeError):
    """The model file is missing, unreadable, or not the one its card describes."""


def load_keras_model(model_path: str | Path, expected_sha256: str | None = None):
    """Load the ``.h5`` (architecture and weights), checking its sha256 first when one is given."""
    import keras

    path = Path(model_path)
    if not path.is_file():
        raise ModelFileError(f"model file {path} does not exist")
    if expected_sha256 and file_sha256(path) != expected_sha256:
        raise ModelFileError(f"model file {path} does not match the sha256 in its card")
    try:
        return keras.saving.load_model(path, compile=False)
    except Exception as e:  # h5py and keras raise many types for a corrupt file
        raise ModelFileError(f"cannot load model file {path}: {type(e).__name__}: {e}") from e
