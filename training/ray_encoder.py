"""The sentence encoder spread over Ray actors: ``python -m training.encode --ray`` fills the vector cache
with it, on this machine or on a cluster (``--address``), so that a cluster can encode the 1.2 million
training sentences.

``RayEncoder`` stands in for ``SentenceEncoder`` where the vector cache encodes (``encode_uncached``,
``signature``): the cache still appends each chunk as it is encoded, so a stopped run goes on where it
stopped. Each actor loads the same ``SentenceEncoder`` (weights checked against their sha256), and its
signature must be the cache's, so vectors of another encoder never mix.
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np

from app.core.encoder import DIM, encoder_signature

SENTENCES_PER_TASK = 256  # one actor call; the cache's chunks are split into these


class EncodeActor:
    """One loaded ``SentenceEncoder`` with ``threads`` TensorFlow threads."""

    def __init__(self, threads: int, signature: str):
        for name in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS"):
            os.environ[name] = str(threads)
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        from app.core.encoder import SentenceEncoder

        self.encoder = SentenceEncoder()
        if self.encoder.signature != signature:
            raise ValueError(f"this node's encoder is {self.encoder.signature}, not the cache's {signature}")

    def encode(self, sentences: list[str]) -> np.ndarray:
        return self.encoder.encode_uncached(sentences)


class RayEncoder:
    """``encode_uncached`` on a pool of ``EncodeActor``s; Ray restarts an actor that dies (a lost node)
    and runs its call again."""

    def __init__(self, actors: int, threads: int):
        import ray
        from ray.util import ActorPool

        from app.core.encoder_runtime import choose_precision
        from app.settings import Settings

        # this machine's choice (BRIEF_ENCODER_PRECISION on its CPU): every actor must encode the same way
        self.signature = encoder_signature(choose_precision(Settings.load().ENCODER_PRECISION))
        remote = ray.remote(EncodeActor).options(num_cpus=threads, max_restarts=-1, max_task_retries=-1)
        self.pool = ActorPool([remote.remote(threads, self.signature) for _ in range(actors)])

    def encode_uncached(self, sentences: Sequence[str]) -> np.ndarray:
        """Vectors ``(n_sentences, 384)``, in order."""
        tasks = [list(sentences[i : i + SENTENCES_PER_TASK]) for i in range(0, len(sentences), SENTENCES_PER_TASK)]
        vectors = list(self.pool.map(lambda actor, part: actor.encode.remote(part), tasks))
        return np.concatenate(vectors) if vectors else np.zeros((0, DIM), dtype=np.float32)
