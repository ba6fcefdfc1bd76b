"""Scores -> highlights: the one ranking rule used by the API, the evaluation and the benchmarks.

Sentences are ranked best first (ties go to the earlier sentence); the top K come back in
document order, as sumy's ``_get_best_sentences`` does. A model's card names its pick rule:
``top`` takes the K best as they are; ``trigram_blocking`` (as in BertSumExt) skips a sentence
that shares any word trigram with one already picked; ``near_duplicate_blocking`` skips only a
sentence at least half of whose word trigrams are already among the picks, so that near-repeats (a
caption that restates the lead, a quote given twice) do not take two of the K places, while
sentences that merely share a name or a phrase ("the company said") still can.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from app.core.words import words

PICK_RULES = ("top", "trigram_blocking", "near_duplicate_blocking")
NEAR_DUPLICATE = 0.5  # share of a sentence's trigrams already picked that makes it a near-repeat


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
        repeated = len(grams & seen)
        if repeated and (rule == "trigram_blocking" or repeated >= NEAR_DUPLICATE * len(grams)):
            continue
        picked.append(i)
        seen |= grams
    return sorted(picked)


def _trigrams(sentence: str) -> set[tuple[str, ...]]:
    tokens = words(sentence)
    return {tuple(tokens[i : i + 3]) for i in range(len(tokens) - 2)}
