"""An HDF5 cache of sentence vectors keyed by sentence text, so a second run does not re-encode."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Sequence

import h5py
import numpy as np

from app.encoder import DIM, SentenceEncoder


def _key(text: str) -> bytes:
    return hashlib.sha1(text.encode("utf-8")).hexdigest().encode("ascii")


class VectorCache:
    """Vectors for sentences, read from ``path`` and encoded (then appended) when missing.

    The file records the encoder's weights hash; a cache made by other weights is refused.
    """

    def __init__(self, path: str | Path, encoder_sha256: str):
        self.path = Path(path)
        self.encoder_sha256 = encoder_sha256
        self._index: dict[bytes, int] = {}
        self._vectors = np.zeros((0, DIM), dtype=np.float32)
        # The file is opened only to read it here and to append in add(), so that several runs
        # (a training and an evaluation) can share one cache.
        if self.path.exists():
            with self._open("r") as f:
                if f.attrs.get("encoder_sha256") != encoder_sha256:
                    raise ValueError(f"{self.path} holds vectors of other encoder weights; delete it to rebuild")
                self._index = {key: row for row, key in enumerate(f["keys"][:])}
                self._vectors = f["vectors"][:]

    def _open(self, mode: str) -> h5py.File:
        try:
            return h5py.File(self.path, mode)
        except BlockingIOError as e:
            raise RuntimeError(f"{self.path} is being written by another process; try again when it is done") from e

    def __len__(self) -> int:
        return len(self._index)

    def vectors(self, sentences: Sequence[str], encoder: SentenceEncoder | None) -> np.ndarray:
        """Vectors ``(n_sentences, 384)``; sentences not cached are encoded with ``encoder``."""
        keys = [_key(s) for s in sentences]
        missing = list(dict.fromkeys(s for s, k in zip(sentences, keys) if k not in self._index))
        if missing:
            if encoder is None:
                raise KeyError(f"{len(missing)} sentences are not in {self.path} and no encoder was given")
            self.add(missing, encoder.encode_uncached(missing))
        return self._vectors[[self._index[k] for k in keys]]

    def add(self, sentences: Sequence[str], vectors: np.ndarray) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._open("a") as f:
            if "vectors" not in f:
                f.attrs["encoder_sha256"] = self.encoder_sha256
                f.create_dataset("keys", shape=(0,), maxshape=(None,), dtype="S40", chunks=(4096,))
                f.create_dataset("vectors", shape=(0, DIM), maxshape=(None, DIM), dtype="f4", chunks=(1024, DIM))
            keys, stored = f["keys"], f["vectors"]
            start = len(keys)
            keys.resize((start + len(sentences),))
            stored.resize((start + len(sentences), DIM))
            keys[start:] = [_key(s) for s in sentences]
            stored[start:] = vectors
        # in memory, rows follow this process's own order (another run may have appended meanwhile)
        for offset, sentence in enumerate(sentences):
            self._index[_key(sentence)] = len(self._vectors) + offset
        self._vectors = np.concatenate([self._vectors, vectors.astype(np.float32)])
