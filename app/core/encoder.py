"""Sentences -> vectors: all-MiniLM-L6-v2, its graph and weights from keras-hub, run by OpenVINO.

The weights are checked against their known sha256 before use (``app.core.weights``); the tokenizer
is ``app.core.wordpiece``, the transformer ``app.core.encoder_runtime`` (in float32 or bfloat16,
``BRIEF_ENCODER_PRECISION``). Vectors are the mean of the real tokens' hidden states (as
sentence-transformers pools this model), L2-normalised: ``(n_sentences, 384)``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from app.core.batching import TOKEN_BUCKETS, bucket_length
from app.core.coalescer import Coalescer
from app.core.encoder_runtime import RUNTIME, Forward, OpenVINOForward, choose_precision, tf_float32_forward
from app.core.weights import WEIGHTS_SHA256, verify_weights, weights_dir
from app.core.wordpiece import WordPieceTokenizer
from app.settings import Settings, resolve

DIM = 384
POOLING = "mean, L2-normalised"
MAX_TOKENS = 256  # sentence-transformers' max_seq_length for this model
CLS_ID, SEP_ID = 101, 102
PAD_MULTIPLE = 8  # a batch is padded to its longest sentence, rounded up to this


def encoder_signature(precision: str = "float32") -> str:
    """What makes two vectors comparable: the weights, the precision they ran in and the pooling.

    The vector cache and the model card record it, so vectors of another encoder never mix.
    """
    return f"{WEIGHTS_SHA256}/{precision}/{POOLING}"


class SentenceEncoder:
    """Encodes sentences to L2-normalised 384-d vectors, with a bounded LRU cache by text."""

    def __init__(self, model_dir: str | Path | None = None, batch_size: int = 64, cache_size: int = 20_000,
                 max_batch_sentences: int = 512, precision: str | None = None, runtime_dir: str | Path | None = None):
        """``precision``: ``auto``, ``float32`` or ``bfloat16``; ``runtime_dir``: where the converted model is
        cached. Both default to their settings (``BRIEF_ENCODER_PRECISION``, ``BRIEF_ENCODER_CACHE``),
        so that the service, training and the benchmarks encode alike."""
        settings = Settings.load() if precision is None or runtime_dir is None else None
        self.model_dir = Path(model_dir) if model_dir else weights_dir()
        verify_weights(self.model_dir)
        self.runtime_dir = resolve(runtime_dir or settings.ENCODER_CACHE)
        self.runtime = RUNTIME
        self.tokenizer = WordPieceTokenizer.from_preset(self.model_dir)
        self.batch_size = batch_size
        self.cache_size = cache_size
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.use_precision(choose_precision(precision or settings.ENCODER_PRECISION))
        # Threads that need vectors at the same time share encoder batches (``app.core.coalescer``).
        self._encode_together = Coalescer(self._encode_distinct, max_items=max_batch_sentences)
        self.cache_hits = 0
        self.cache_misses = 0
        self.probe_min_cosine: float | None = None  # against the model card's probe vectors (app.core.probes)

    def use_precision(self, precision: str) -> None:
        """Run the transformer in ``precision`` (``float32`` or ``bfloat16``) from now on."""
        self._forward = OpenVINOForward(self.model_dir, self.runtime_dir, precision)
        self.precision = precision
        with self._lock:
            self._cache.clear()  # vectors of the other precision

    @property
    def signature(self) -> str:
        return encoder_signature(self.precision)

    def token_ids(self, sentences: Sequence[str]) -> list[list[int]]:
        """WordPiece ids with [CLS] ... [SEP], truncated to ``MAX_TOKENS``."""
        return token_ids(self.tokenizer, sentences)

    def encode(self, sentences: Sequence[str]) -> np.ndarray:
        """Vectors ``(n_sentences, 384)`` for ``sentences``, served from the cache where possible."""
        vectors = np.zeros((len(sentences), DIM), dtype=np.float32)
        missing: dict[str, list[int]] = {}
        with self._lock:
            for i, sentence in enumerate(sentences):
                cached = self._cache.get(sentence)
                if cached is None:
                    missing.setdefault(sentence, []).append(i)
                else:
                    self._cache.move_to_end(sentence)
                    vectors[i] = cached
            self.cache_hits += len(sentences) - sum(len(v) for v in missing.values())
            self.cache_misses += len(missing)
        if missing:
            texts = list(missing)
            fresh = self._encode_together(texts)
            with self._lock:
                for text, vector in zip(texts, fresh):
                    vectors[missing[text]] = vector
                    if self.cache_size:
                        self._cache[text] = vector
                        if len(self._cache) > self.cache_size:
                            self._cache.popitem(last=False)
        return vectors

    def encode_uncached(self, sentences: Sequence[str]) -> np.ndarray:
        """Encode without the cache: batches of one length bucket, padded to their longest sentence."""
        if not sentences:
            return np.zeros((0, DIM), dtype=np.float32)
        return encode_token_ids(self.token_ids(sentences), self._forward, self.batch_size)

    def _encode_distinct(self, sentences: list[str]) -> np.ndarray:
        """``encode_uncached`` with each distinct sentence encoded once (callers that share a batch may repeat each other)."""
        distinct = list(dict.fromkeys(sentences))
        if len(distinct) == len(sentences):
            return self.encode_uncached(sentences)
        vectors = self.encode_uncached(distinct)
        where = {s: i for i, s in enumerate(distinct)}
        return vectors[[where[s] for s in sentences]]


def token_ids(tokenizer: WordPieceTokenizer, sentences: Sequence[str]) -> list[list[int]]:
    """WordPiece ids with [CLS] ... [SEP], truncated to ``MAX_TOKENS``."""
    return [[CLS_ID, *p[: MAX_TOKENS - 2], SEP_ID] for p in tokenizer(sentences)]


def reference_vectors(sentences: Sequence[str], model_dir: str | Path | None = None, batch_size: int = 64) -> np.ndarray:
    """Vectors ``(n_sentences, 384)`` from keras-hub's encoder under TensorFlow in float32: what every
    other path must reproduce (the model card's probe vectors, the benchmark's cosines). Imports TensorFlow."""
    model_dir = Path(model_dir) if model_dir else weights_dir()
    verify_weights(model_dir)
    ids = token_ids(WordPieceTokenizer.from_preset(model_dir), sentences)
    return encode_token_ids(ids, tf_float32_forward(model_dir), batch_size)


def token_batches(ids: Sequence[Sequence[int]], batch_size: int) -> Iterator[tuple[list[int], np.ndarray, np.ndarray]]:
    """``(positions, token_ids, mask)`` batches: up to ``batch_size`` sentences of one length bucket,
    shortest first, padded to their longest sentence rounded up to ``PAD_MULTIPLE``."""
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    start = 0
    while start < len(order):
        bucket = bucket_length(len(ids[order[start]]), TOKEN_BUCKETS)
        end = start
        while end < len(order) and end - start < batch_size and bucket_length(len(ids[order[end]]), TOKEN_BUCKETS) == bucket:
            end += 1
        batch = order[start:end]
        length = -(-len(ids[order[end - 1]]) // PAD_MULTIPLE) * PAD_MULTIPLE  # the longest (sorted)
        token_ids = np.zeros((len(batch), length), dtype=np.int32)
        mask = np.zeros((len(batch), length), dtype=bool)
        for row, i in enumerate(batch):
            token_ids[row, : len(ids[i])] = ids[i]
            mask[row, : len(ids[i])] = True
        yield batch, token_ids, mask
        start = end


def mean_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The sentence vector: the mean of the real tokens' hidden states, L2-normalised (``POOLING``)."""
    weights = mask[..., None].astype(np.float32)
    mean = (np.asarray(hidden, dtype=np.float32) * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1.0)
    return mean / np.maximum(np.linalg.norm(mean, axis=1, keepdims=True), 1e-12)


def encode_token_ids(ids: Sequence[Sequence[int]], forward: Forward, batch_size: int = 64) -> np.ndarray:
    """Vectors ``(len(ids), 384)`` with ``forward`` as the transformer: the seam where another runtime
    or precision plugs in (docs/experiments/encoder-runtimes uses it to compare them)."""
    out = np.zeros((len(ids), DIM), dtype=np.float32)
    for batch, token_ids, mask in token_batches(ids, batch_size):
        out[batch] = mean_pool(forward(token_ids, mask), mask)
    return out

