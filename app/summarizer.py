"""Load the saved ``.h5`` model and its card, score an article's sentences, pick the highlights."""

from __future__ import annotations

import json
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from app.encoder import DIM, SentenceEncoder, file_sha256
from app.features import N_FEATURES, featurize
from app.luhn import score_luhn
from app.sentences import Sentence, SentenceSplitter

# Articles of the same bucket are scored together (training also pads its batches to these lengths).
LENGTH_BUCKETS = (16, 32, 64, 128, 256, 512, 1024)
METHODS = ("lstm", "luhn")


class ModelFileError(RuntimeError):
    """The model file is missing, unreadable, or not the one its card describes."""


def bucket_length(n: int) -> int:
    for bucket in LENGTH_BUCKETS:
        if n <= bucket:
            return bucket
    return n


def pad_rows(rows: Sequence[np.ndarray], length: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Stack articles' rows into ``(batch, length, dim)`` with zero padding and a ``(batch, length)`` mask."""
    length = length or max(len(r) for r in rows)
    dim = rows[0].shape[1]
    x = np.zeros((len(rows), length, dim), dtype=np.float32)
    mask = np.zeros((len(rows), length), dtype=bool)
    for i, r in enumerate(rows):
        x[i, : len(r)] = r[:length]
        mask[i, : len(r)] = True
    return x, mask


def compile_scorer(model) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """The model's forward pass ``(x, mask) -> (batch, length, 1)``, traced once for every shape.

    Under TensorFlow this is one ``tf.function`` whose signature leaves batch and length open: no
    retracing when an article of a new length comes, no padding beyond the longest article, and none
    of ``predict_on_batch``'s per-call overheads (a few ms, more than a short article's LSTM time).
    """
    import keras

    if keras.backend.backend() != "tensorflow":
        return lambda x, mask: np.asarray(model.predict_on_batch([x, mask]))
    import tensorflow as tf

    dim = int(model.input_shape[0][-1])
    ref = weakref.ref(model)  # the cache below must not keep a discarded model alive
    forward = tf.function(
        lambda x, mask: ref()([x, mask], training=False),
        input_signature=[tf.TensorSpec((None, None, dim), tf.float32), tf.TensorSpec((None, None), tf.bool)],
    )
    return lambda x, mask: forward(x, mask).numpy()


_scorers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def predict_rows(model, rows: Sequence[np.ndarray], batch_size: int = 32) -> list[np.ndarray]:
    """Scores ``(n_sentences,)`` for each article's rows, batched with articles of similar length."""
    scorer = _scorers.get(model)
    if scorer is None:
        scorer = _scorers[model] = compile_scorer(model)
    scores: list[np.ndarray | None] = [None] * len(rows)
    by_bucket: dict[int, list[int]] = {}
    for i, r in enumerate(rows):
        by_bucket.setdefault(bucket_length(len(r)), []).append(i)
    for members in by_bucket.values():
        for start in range(0, len(members), batch_size):
            chunk = members[start : start + batch_size]
            x, mask = pad_rows([rows[i] for i in chunk])  # to the chunk's longest: masked steps cost as much as real ones
            out = scorer(x, mask)[..., 0]  # (batch, length)
            for row, i in enumerate(chunk):
                scores[i] = out[row, : len(rows[i])].astype(np.float32)
    return scores  # type: ignore[return-value]


def top_sentences(scores: np.ndarray, k: int) -> list[int]:
    """Indices of the ``k`` best-scored sentences, in document order (ties go to the earlier one)."""
    order = sorted(range(len(scores)), key=lambda i: (-float(scores[i]), i))
    return sorted(order[:k])


@dataclass
class ScoredArticle:
    """An article's sentences with one score each, and where the time went (seconds)."""

    sentences: list[Sentence]
    scores: np.ndarray
    timings: dict[str, float] = field(default_factory=dict)


def load_card(card_path: str | Path) -> dict:
    try:
        return json.loads(Path(card_path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ModelFileError(f"cannot read model card {card_path}: {e}") from e


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


class Summarizer:
    """Everything needed to score an article: splitter, encoder, LSTM and its card."""

    def __init__(self, model_path: str | Path, card_path: str | Path, nltk_data: str | Path,
                 encoder: SentenceEncoder | None = None):
        self.card = load_card(card_path)
        self.model = load_keras_model(model_path, self.card.get("model_sha256"))
        self.splitter = SentenceSplitter(nltk_data)
        self.encoder = encoder or SentenceEncoder()
        self.input_dim = int(self.model.input_shape[0][-1])
        if self.input_dim != DIM + N_FEATURES:
            raise ModelFileError(
                f"model {model_path} takes {self.input_dim} features per sentence, but this featurizer "
                f"makes {DIM + N_FEATURES}: retrain it with this version of Brief"
            )

    @property
    def model_id(self) -> str:
        return self.card.get("id", "brief")

    def split(self, text: str) -> list[Sentence]:
        return self.splitter.split(text)

    def score(self, texts: Sequence[str], method: str = "lstm") -> list[ScoredArticle]:
        """Split, encode (all articles' sentences together) and score each article."""
        t0 = time.perf_counter()
        articles = [self.split(t) for t in texts]
        split_seconds = time.perf_counter() - t0
        scored = self.score_sentences(articles, method)
        for article in scored:
            article.timings["split"] = split_seconds
        return scored

    def score_sentences(self, articles: Sequence[list[Sentence]], method: str = "lstm") -> list[ScoredArticle]:
        """Encode (all articles' sentences together) and score articles already split by ``split``."""
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r}; choose from {METHODS}")
        t1 = time.perf_counter()
        if method == "luhn":
            scored = [ScoredArticle(s, score_luhn([x.text for x in s])) for s in articles]
            t2 = t_features = t3 = time.perf_counter()
        else:
            flat = [s.text for sentences in articles for s in sentences]
            vectors = self.encoder.encode(flat)
            t2 = time.perf_counter()
            rows, offset = [], 0
            for sentences in articles:
                rows.append(featurize([s.text for s in sentences], vectors[offset : offset + len(sentences)]))
                offset += len(sentences)
            t_features = time.perf_counter()
            nonempty = [i for i, r in enumerate(rows) if len(r)]
            predicted = predict_rows(self.model, [rows[i] for i in nonempty]) if nonempty else []
            scores = [np.zeros(0, dtype=np.float32) for _ in rows]
            for i, p in zip(nonempty, predicted):
                scores[i] = p
            scored = [ScoredArticle(s, sc) for s, sc in zip(articles, scores)]
            t3 = time.perf_counter()
        for article in scored:
            # "score" is featurize + LSTM (kept as one figure for existing readers)
            article.timings = {"encode": t2 - t1, "score": t3 - t2, "featurize": t_features - t2, "lstm": t3 - t_features}
        return scored
