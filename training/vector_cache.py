"""An HDF5 cache of sentence vectors keyed by sentence text, so a second run does not re-encode.

At the scale of CNN/DailyMail (about a million sentences, an hour of encoding on two cores) the
cache is filled in chunks: each chunk is appended to the file as soon as it is encoded, so an
interrupted run loses at most one chunk and the next run goes on where it stopped.
"""

from __future__ import annotations

import hashlib
import logging
import time
from pathlib import Path
from typing import Sequence

import h5py
import numpy as np

from app.core.encoder import DIM, SentenceEncoder

log = logging.getLogger(__name__)
CHUNK = 4096  # sentences encoded, then appended to the file, at a time
PROGRESS_EVERY = 15.0  # seconds between progress lines


def _key(text: str) -> bytes:
    return hashlib.sha1(text.encode("utf-8")).hexdigest().encode("ascii")


class VectorCache:
    """Vectors for sentences, read from ``path`` and encoded (then appended) when missing.

    The file records the encoder's signature (weights hash, precision and pooling: see
    ``SentenceEncoder.signature``); a cache made by another encoder is refused, so vectors of
    another precision or pooling never mix.
    """

    def __init__(self, path: str | Path, signature: str):
        self.path = Path(path)
        self.signature = signature
        self._index: dict[bytes, int] = {}
        self._blocks: list[np.ndarray] = []  # (rows, 384) float32, concatenated on first read
        # The file is opened only to read it here and to append in add(), so that several runs
        # (a training and an evaluation) can share one cache.
        if self.path.exists():
            with self._open("r") as f:
                found = f.attrs.get("encoder_signature")
                if found != signature:
                    raise ValueError(f"{self.path} holds vectors of another encoder ({found}, not {signature}); "
                                     "delete it or name another --cache to rebuild")
                if "keys" in f:
                    self._index = {key: row for row, key in enumerate(f["keys"][:])}
                    self._blocks = [f["vectors"][:]]

    def _open(self, mode: str) -> h5py.File:
        try:
            return h5py.File(self.path, mode)
        except BlockingIOError as e:
            raise RuntimeError(f"{self.path} is being written by another process; try again when it is done") from e

    def __len__(self) -> int:
        return len(self._index)

    def missing(self, sentences: Sequence[str]) -> list[str]:
        """The distinct sentences of ``sentences`` that have no vector yet, in first-seen order."""
        return [s for s in dict.fromkeys(sentences) if _key(s) not in self._index]

    def fill(self, sentences: Sequence[str], encoder: SentenceEncoder | None, chunk: int = CHUNK) -> int:
        """Encode every sentence not cached yet, appending each chunk to the file; returns how many.

        Logs progress with a rate and an ETA every ``PROGRESS_EVERY`` seconds.
        """
        todo = self.missing(sentences)
        if not todo:
            return 0
        if encoder is None:
            raise KeyError(f"{len(todo)} sentences are not in {self.path} and no encoder was given")
        log.info("encoding %d sentences (%d already cached)", len(todo), len(self))
        started = last = time.perf_counter()
        for done in range(0, len(todo), chunk):
            part = todo[done : done + chunk]
            self.add(part, encoder.encode_uncached(part))
            now = time.perf_counter()
            if now - last >= PROGRESS_EVERY or done + chunk >= len(todo):
                last = now
                n = min(done + chunk, len(todo))
                rate = n / (now - started)
                eta = (len(todo) - n) / rate if rate else 0.0
                log.info("encoded %d/%d (%.1f%%), %.0f sentences/s, elapsed %s, ETA %s", n, len(todo),
                         100 * n / len(todo), rate, _clock(now - started), _clock(eta))
        return len(todo)

    def vectors(self, sentences: Sequence[str], encoder: SentenceEncoder | None) -> np.ndarray:
        """Vectors ``(n_sentences, 384)``; sentences not cached are encoded with ``encoder``."""
        keys = [_key(s) for s in sentences]
        if any(k not in self._index for k in keys):
            self.fill(sentences, encoder)
        if len(self._blocks) > 1:
            self._blocks = [np.concatenate(self._blocks)]
        return self._blocks[0][[self._index[k] for k in keys]]

    def add(self, sentences: Sequence[str], vectors: np.ndarray) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._open("a") as f:
            if "vectors" not in f:
                f.attrs["encoder_signature"] = self.signature
                f.create_dataset("keys", shape=(0,), maxshape=(None,), dtype="S40", chunks=(4096,))
                f.create_dataset("vectors", shape=(0, DIM), maxshape=(None, DIM), dtype="f4", chunks=(1024, DIM))
            keys, stored = f["keys"], f["vectors"]
            start = len(keys)
            keys.resize((start + len(sentences),))
            stored.resize((start + len(sentences), DIM))
            keys[start:] = [_key(s) for s in sentences]
            stored[start:] = vectors
        # in memory, rows follow this process's own order (another run may have appended meanwhile)
        offset = sum(len(b) for b in self._blocks)
        for i, sentence in enumerate(sentences):
            self._index[_key(sentence)] = offset + i
        self._blocks.append(np.asarray(vectors, dtype=np.float32))


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
