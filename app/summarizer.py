"""Load the saved ``.h5`` model and its card, score an article's sentences, pick the highlights."""

from __future__ import annotations

import json
import logging
import threading
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from app.encoder import DIM, SentenceEncoder, file_sha256
from app.features import N_FEATURES, featurize
from app.luhn import score_luhn
from app.sentences import Sentence, SentenceSplitter

# Articles of the same bucket are scored together (training also pads its batches to these lengths).
LENGTH_BUCKETS = (16, 32, 64, 128, 256, 512, 1024)
# One article at a time is scored by XLA-compiled graphs padded to these lengths (ModelScorer).
XLA_LENGTHS = (16, 32, 64, 96, 160, 256)
METHODS = ("lstm", "luhn")

log = logging.getLogger(__name__)


class ModelFileError(RuntimeError):
    """The model file is missing, unreadable, or not the one its card describes."""


def bucket_length(n: int) -> int:
    for bucket in LENGTH_BUCKETS:
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


class ModelScorer:
    """The model's forward pass ``(x, mask) -> (batch, length, 1)``, without Keras predict overheads.

    Under TensorFlow: one graph whose signature leaves batch and length open (traced once, so a new
    article length never retraces it), and for one article at a time, XLA-compiled graphs at the
    ``XLA_LENGTHS`` once ``compile`` has built them. At batch 1 the LSTM's time is op dispatch per
    step, which XLA fuses away (3x faster); a compile takes seconds, so requests use the plain graph
    until it is done and never wait for one.
    """

    def __init__(self, model):
        import keras

        self._model = weakref.ref(model)  # the scorer cache must not keep a discarded model alive
        self.dim = int(model.input_shape[0][-1])
        self.compiled = threading.Event()  # set when every XLA length is compiled
        self._xla_ready: set[int] = set()
        self._tensorflow = keras.backend.backend() == "tensorflow"
        if self._tensorflow:
            import tensorflow as tf

            def forward(x, mask):
                return self._model()([x, mask], training=False)

            spec = [tf.TensorSpec((None, None, self.dim), tf.float32), tf.TensorSpec((None, None), tf.float32)]
            self._graph = tf.function(forward, input_signature=spec)
            self._xla = {n: tf.function(forward, jit_compile=True) for n in XLA_LENGTHS}

    def __call__(self, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
        if not self._tensorflow:  # e.g. training under JAX
            return np.asarray(self._model().predict_on_batch([x, mask]))
        length = next((n for n in XLA_LENGTHS if n >= x.shape[1]), None)
        if len(x) > 1 or length not in self._xla_ready:
            return self._graph(x, mask).numpy()
        padded, padded_mask = np.zeros((1, length, self.dim), np.float32), np.zeros((1, length), np.float32)
        padded[:, : x.shape[1]], padded_mask[:, : x.shape[1]] = x, mask
        return self._xla[length](padded, padded_mask).numpy()[:, : x.shape[1]]

    def compile(self) -> None:
        """XLA-compile the one-article graphs, shortest first (each is used as soon as it is built)."""
        if self._tensorflow:
            started = time.perf_counter()
            for length in XLA_LENGTHS:
                mask = np.zeros((1, length), np.float32)
                mask[0, 0] = 1.0
                self._xla[length](np.zeros((1, length, self.dim), np.float32), mask)
                self._xla_ready.add(length)
            log.info("LSTM compiled with XLA for one article of up to %d sentences in %.1f s",
                     XLA_LENGTHS[-1], time.perf_counter() - started)
        self.compiled.set()


_scorers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def scorer_for(model) -> ModelScorer:
    """The model's ``ModelScorer``, made on first use."""
    scorer = _scorers.get(model)
    if scorer is None:
        scorer = _scorers[model] = ModelScorer(model)
    return scorer


def predict_rows(model, rows: Sequence[np.ndarray], batch_size: int = 32) -> list[np.ndarray]:
    """Scores ``(n_sentences,)`` for each article's rows, batched with articles of similar length."""
    scorer = scorer_for(model)
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


def featurize_articles(articles: Sequence[list[Sentence]], vectors: np.ndarray) -> list[np.ndarray]:
    """The LSTM's input rows ``(n_sentences, dim + N_FEATURES)`` per article, from the vectors of all
    articles' sentences in order ``(total_sentences, dim)``."""
    rows, offset = [], 0
    for sentences in articles:
        rows.append(featurize([s.text for s in sentences], vectors[offset : offset + len(sentences)]))
        offset += len(sentences)
    return rows


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
                 encoder: SentenceEncoder | None = None, xla: bool = False):
        """``xla``: after the first prediction, XLA-compile the one-article LSTM graphs in a background
        thread (for a long-lived server; a short script would exit, and abort, mid-compile)."""
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
        self.scorer = scorer_for(self.model)
        self._compile_started = threading.Event()
        if not xla:
            self._compile_started.set()

    @property
    def model_id(self) -> str:
        return self.card.get("id", "brief")

    @property
    def pick_rule(self) -> str:
        """How highlights are picked from this model's scores (``app.ranking``), chosen with it on validation."""
        return self.card.get("pick_rule", "top")

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
            vectors = self.encoder.encode([s.text for sentences in articles for s in sentences])
            t2 = time.perf_counter()
            rows = featurize_articles(articles, vectors)
            t_features = time.perf_counter()
            nonempty = [i for i, r in enumerate(rows) if len(r)]
            predicted = predict_rows(self.model, [rows[i] for i in nonempty]) if nonempty else []
            scores = [np.zeros(0, dtype=np.float32) for _ in rows]
            for i, p in zip(nonempty, predicted):
                scores[i] = p
            scored = [ScoredArticle(s, sc) for s, sc in zip(articles, scores)]
            t3 = time.perf_counter()
            if not self._compile_started.is_set():
                # After the first (warm-up) prediction, so the compile does not delay readiness.
                self._compile_started.set()
                threading.Thread(target=self.scorer.compile, name="brief-xla", daemon=True).start()
        for article in scored:
            # "score" is featurize + LSTM (kept as one figure for existing readers)
            article.timings = {"encode": t2 - t1, "score": t3 - t2, "featurize": t_features - t2, "lstm": t3 - t_features}
        return scored
