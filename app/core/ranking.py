"""Scores -> highlights: the one ranking rule used by the API, the evaluation and the benchmarks.

Sentences are ranked best first (ties go to the earlier sentence); the top K come back in
document order, as sumy's ``_get_best_sentences`` does. A model's card names its pick rule:
``top`` takes the K best as they are; ``trigram_blocking`` (as in BertSumExt) skips a sentence
that shares any word trigram with one already picked; ``near_duplicate_blocking`` skips only a
sentence at least half of whose word trigrams are already among the picks, so that near-repeats (a
caption that restates the lead, a quote given twice) do not take two of the K places, while
sentences that merely share a name or a phrase ("the company said") still can.

Any rule can first weigh the scores by length: with ``length_exponent`` e > 0 sentences are ranked
by ``score / words ** e``, so that of two sentences scored alike the shorter goes first. ROUGE-F of
a fixed number of picks against a short human summary (news highlights are 30-50 words) rewards
the sentence that says the point in fewer words; a model card records the e chosen with its rule
on validation (``training.fit.select`` tries ``LENGTH_EXPONENTS``). The scores the API returns are
the model's own; only the order the picks are taken in changes.

A budget (``app.core.options.Budget``) other than a count of sentences takes the best-ranked
sentences, by the same rule, whose words (or characters) together fit: a sentence that does not fit
is skipped and the next one tried, and where none fits the best-ranked one is the one highlight.
Sentences in ``skip`` (a reader's filters, ``app.core.filters``) are never picked.
"""

from __future__ import annotations

from typing import Collection, Sequence

import numpy as np

from app.core.options import Budget
from app.core.words import words

PICK_RULES = ("top", "trigram_blocking", "near_duplicate_blocking")
NEAR_DUPLICATE = 0.5  # share of a sentence's trigrams already picked that makes it a near-repeat
LENGTH_EXPONENTS = (0.0, 0.1, 0.2, 0.3, 0.5)  # what a run tries (fixed before the 2026-12-07 run)


def rank(scores: np.ndarray) -> list[int]:
    """Sentence indices, best score first; ties in document order."""
    return sorted(range(len(scores)), key=lambda i: (-float(scores[i]), i))


def pick(scores: np.ndarray, sentences: Sequence[str], budget: int | Budget, rule: str = "top",
         length_exponent: float = 0.0, skip: Collection[int] = ()) -> list[int]:
    """Indices of the sentences to highlight under ``rule`` within ``budget`` (an int: that many), in
    document order; never one in ``skip``."""
    if rule not in PICK_RULES:
        raise ValueError(f"unknown pick rule {rule!r}; choose from {PICK_RULES}")
    if not 0.0 <= length_exponent <= 1.0:
        raise ValueError(f"length_exponent must be in [0, 1], not {length_exponent!r}")
    if isinstance(budget, int):
        budget = Budget("top", budget)
    order = rank(length_weighted(scores, sentences, length_exponent) if length_exponent else scores)
    count = budget.count(len(sentences))  # None: a budget of words or characters
    picked: list[int] = []
    seen: set[tuple[str, ...]] = set()
    used, over = 0, None  # what the picks spend of a length budget; the best sentence too long for it
    for i in order:
        if len(picked) == count:
            break
        if i in skip:
            continue
        grams = _trigrams(sentences[i]) if rule != "top" else set()
        repeated = len(grams & seen)
        if repeated and (rule == "trigram_blocking" or repeated >= NEAR_DUPLICATE * len(grams)):
            continue
        if count is None:
            size = budget.size(sentences[i])
            if used + size > budget.limit:
                over = i if over is None else over
                continue
            used += size
        picked.append(i)
        seen |= grams
    if not picked and over is not None:  # at least one highlight, even one over the budget
        picked = [over]
    return sorted(picked)


def length_weighted(scores: np.ndarray, sentences: Sequence[str], exponent: float) -> np.ndarray:
    """``score / words ** exponent`` for each sentence (a sentence of no word counts as one word)."""
    lengths = np.array([max(1, len(words(s))) for s in sentences], dtype=np.float64)
    return np.asarray(scores, dtype=np.float64) / lengths**exponent


def _trigrams(sentence: str) -> set[tuple[str, ...]]:
    tokens = words(sentence)
    return {tuple(tokens[i : i + 3]) for i in range(len(tokens) - 2)}
