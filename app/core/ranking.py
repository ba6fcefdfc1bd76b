"""Scores -> highlights: the one ranking rule used by the API, the evaluation and the benchmarks.

Sentences are ranked best first (ties go to the earlier sentence); the top K come back in
document order, as sumy's ``_get_best_sentences`` does. A model's card names its pick rule:
``top`` takes the K best as they are; ``trigram_blocking`` (as in BertSumExt) skips a sentence
that shares a word trigram with one already picked, so that near-repeats (a caption that restates
the lead, a quote given twice) do not take two of the K places.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from app.core.words import words

PICK_RULES = ("top", "trigram_blocking")


def rank(scores: np.ndarray) -> list[int]:
    """Sentence indices, best score first; ties in document order."""
    return sorted(range(len(scores)), key=lambda i: (-float(scores[i]), i))


def pick(scores: np.ndarray, sentences: Sequence[str], k: int, rule: str = "top") -> list[int]:
    """Indices of the ``k`` sentences to highlight under ``rule``, in document order."""
    if rule not in PICK_RULES:
        raise ValueError(f"unknown pick rule {rule!r}; choose from {PICK_RULES}")
    order = rank(scores)
    if rule == "top":
        return sorted(order[:k])
    picked: list[int] = []
    seen: set[tuple[str, ...]] = set()
    for i in order:
        if len(picked) == k:
            break
        grams = _trigrams(sentences[i])
        if grams & seen:
            continue
        picked.append(i)
        seen |= grams
    return sorted(picked)


def _trigrams(sentence: str) -> set[tuple[str, ...]]:
    tokens = words(sentence)
    return {tuple(tokens[i : i + 3]) for i in range(len(tokens) - 2)}
