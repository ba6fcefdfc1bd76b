"""Sentence vectors + a few document-level features -> the LSTM's input rows.

One featurizer for training and serving. MiniLM vectors are L2-normalised and so say nothing of
a sentence's length or of where it sits in the article; these features say it.
"""

from __future__ import annotations

from collections import Counter
from functools import lru_cache
from typing import Sequence

import numpy as np
from nltk.stem.porter import PorterStemmer

from app.core.luhn import score_luhn
from app.core.words import content_words

_stem = lru_cache(maxsize=100_000)(PorterStemmer().stem)

FEATURES = (
    "position",  # index / (n - 1): 0 for the lead sentence, 1 for the last
    "is_first",  # 1 for the lead sentence
    "log_words",  # log(1 + words) / 4: ROUGE-F of a fixed number of picks rewards long sentences
    "log_sentences",  # log(1 + n) / 4: how long the article is
    "centroid",  # cosine to the article's mean vector: how central in meaning
    "centrality",  # PageRank over shared content words (TextRank's graph), times n
    "word_weight",  # mean document frequency of the sentence's content words, over the top one
    "textrank",  # TextRank (as sumy rates it: stemmed words, self-loops, log-length norm), times n
    "luhn",  # Luhn's significance factor (app/core/luhn.py), over the article's best
    # Where the sentence ranks within its article (1 = top, 0 = bottom) by length, TextRank and
    # meaning-centroid: a top-K pick is about rank, and ranks read the same in short and long articles.
    "rank_words",
    "rank_textrank",
    "rank_centroid",
)
N_FEATURES = len(FEATURES)


def featurize(sentences: Sequence[str], vectors: np.ndarray) -> np.ndarray:
    """Input rows ``(n_sentences, dim + N_FEATURES)`` for one article's sentences and vectors."""
    n = len(sentences)
    extra = np.zeros((n, N_FEATURES), dtype=np.float32)
    if n == 0:
        return np.zeros((0, vectors.shape[1] + N_FEATURES), dtype=np.float32)
    tokens = [content_words(s) for s in sentences]
    word_counts = [len(s.split()) for s in sentences]
    extra[:, 0] = np.arange(n) / max(1, n - 1)
    extra[0, 1] = 1.0
    extra[:, 2] = np.log1p(word_counts) / 4
    extra[:, 3] = np.log1p(n) / 4
    centroid = vectors.mean(axis=0)
    norm = np.linalg.norm(centroid)
    extra[:, 4] = vectors @ centroid / norm if norm > 0 else 0.0
    extra[:, 5] = _overlap_pagerank(tokens) * n
    extra[:, 6] = _word_weight(tokens)
    extra[:, 7] = _textrank([[_stem(w) for w in t] for t in tokens]) * n
    extra[:, 8] = score_luhn(sentences)
    for column, source in ((9, 2), (10, 7), (11, 4)):
        extra[:, column] = _rank(extra[:, source])
    return np.concatenate([vectors.astype(np.float32), extra], axis=1)


def _overlap_pagerank(tokens: list[list[str]], damping: float = 0.85, steps: int = 30) -> np.ndarray:
    """PageRank on a graph whose edge weights are the content words two sentences share."""
    n = len(tokens)
    present = (_word_matrix(tokens) > 0).astype(np.float64)
    weights = present @ present.T  # distinct words shared by each pair
    np.fill_diagonal(weights, 0.0)
    out = weights.sum(axis=1, keepdims=True)
    transition = np.divide(weights, out, out=np.full_like(weights, 1.0 / n), where=out > 0)
    rank = np.full(n, 1.0 / n)
    for _ in range(steps):
        rank = (1 - damping) / n + damping * transition.T @ rank
    return rank.astype(np.float32)


def _word_matrix(tokens: list[list[str]]) -> np.ndarray:
    """``(n_sentences, vocabulary)`` counts of each word in each sentence (float64)."""
    vocabulary: dict[str, int] = {}
    ids = [[vocabulary.setdefault(w, len(vocabulary)) for w in t] for t in tokens]
    counts = np.zeros((len(tokens), max(1, len(vocabulary))))
    for row, t in enumerate(ids):
        np.add.at(counts[row], t, 1.0)
    return counts


def _word_weight(tokens: list[list[str]]) -> np.ndarray:
    freq = Counter(w for t in tokens for w in t)
    if not freq:
        return np.zeros(len(tokens), dtype=np.float32)
    top = max(freq.values())
    return np.array([np.mean([freq[w] for w in t]) / top if t else 0.0 for t in tokens], dtype=np.float32)


def _textrank(stems: list[list[str]], damping: float = 0.85, steps: int = 50) -> np.ndarray:
    """TextRank as sumy computes it: edge = shared words (with repeats) / (log|a| + log|b|), self-loops kept."""
    n = len(stems)
    counts = _word_matrix(stems)
    shared = counts @ counts.T  # sum over a's words (repeats counted) of their count in b
    log_length = np.log(np.maximum([len(t) for t in stems], 1))
    norm = log_length[:, None] + log_length[None, :]
    weights = np.where(shared > 0, shared / np.where(norm > 0, norm, 1.0), 0.0)
    weights /= weights.sum(axis=1, keepdims=True) + 1e-7
    transition = (1 - damping) / n + damping * weights
    rank = np.full(n, 1.0 / n)
    for _ in range(steps):
        rank = transition.T @ rank
    return rank.astype(np.float32)


def _rank(values: np.ndarray) -> np.ndarray:
    """Rank within the article scaled to [0, 1], the largest value 1; ties share their mean rank."""
    n = len(values)
    if n == 1:
        return np.ones(1, dtype=np.float32)
    order = values.argsort(kind="stable")
    ranks = np.empty(n, dtype=np.float64)
    ranks[order] = np.arange(n)
    _, tie_group = np.unique(values, return_inverse=True)  # ties: their mean rank
    ranks = (np.bincount(tie_group, weights=ranks) / np.bincount(tie_group))[tie_group]
    return (ranks / (n - 1)).astype(np.float32)
