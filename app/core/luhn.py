"""Luhn's 1958 method, as in Fast Forward Labs' Brief demo: stop words out, the most frequent
content words are "significant", and a sentence scores by its densest cluster of them."""

from __future__ import annotations

from collections import Counter
from typing import Sequence

import numpy as np

from app.core.words import content_words, words

TOP_WORDS_SHARE = 0.1  # the top 10% of distinct content words count as significant...
MIN_TOP_WORDS = 5  # ...but never fewer than 5, or short texts have one significant word
MAX_GAP = 4  # significant words further apart than this start a new cluster


def score_luhn(sentences: Sequence[str]) -> np.ndarray:
    """Scores ``(n_sentences,)`` in [0, 1]: each sentence's best cluster, relative to the article's best."""
    freq = Counter(w for s in sentences for w in content_words(s))
    if not freq:
        return np.zeros(len(sentences), dtype=np.float32)
    n_top = max(MIN_TOP_WORDS, round(len(freq) * TOP_WORDS_SHARE))
    significant = {w for w, _ in freq.most_common(n_top)}
    scores = np.array([_best_cluster(words(s), significant) for s in sentences], dtype=np.float32)
    top = scores.max()
    return scores / top if top > 0 else scores


def _best_cluster(tokens: list[str], significant: set[str]) -> float:
    """Luhn's significance factor: (significant words in a cluster)^2 / cluster length."""
    hits = [i for i, t in enumerate(tokens) if t in significant]
    best, start = 0.0, 0
    for k in range(1, len(hits) + 1):
        if k == len(hits) or hits[k] - hits[k - 1] > MAX_GAP:
            count, span = k - start, hits[k - 1] - hits[start] + 1
            best = max(best, count * count / span)
            start = k
    return best
