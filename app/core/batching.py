"""Variable-length items -> padded batches: the length buckets and the padding shared by training and serving.

Grouping items of similar length keeps padding (which costs as much as real steps) small.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

# Articles, in sentences: those of one bucket are scored together (training pads its batches to these too).
SENTENCE_BUCKETS = (16, 32, 64, 128, 256, 512, 1024)
# Sentences, in WordPiece tokens (at most the encoder's MAX_TOKENS, 256): one encoder batch holds one bucket.
TOKEN_BUCKETS = (16, 32, 48, 64, 96, 128, 192, 256)


def bucket_length(n: int, buckets: Sequence[int] = SENTENCE_BUCKETS) -> int:
    """The smallest bucket that holds ``n``; ``n`` itself beyond the largest."""
    for bucket in buckets:
        if n <= bucket:
            return bucket
    return n


def pad_rows(rows: Sequence[np.ndarray], length: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Stack articles' rows into ``(batch, length, dim)`` with zero padding and a ``(batch, length)`` mask.

    The mask is float32 (1 real, 0 padding), not bool: Keras casts it for the LSTM, and
    ``tf.distribute`` cannot sum bool tensors across replicas (AddN has no bool kernel).
    """
    length = length or max(len(r) for r in rows)
    dim = rows[0].shape[1]
    x = np.zeros((len(rows), length, dim), dtype=np.float32)
    mask = np.zeros((len(rows), length), dtype=np.float32)
    for i, r in enumerate(rows):
        x[i, : len(r)] = r[:length]
        mask[i, : len(r)] = 1.0
    return x, mask
