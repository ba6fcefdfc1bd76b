"""What a reader asks of the highlights: the options every interface takes (the API's fields of the same names)."""

from __future__ import annotations

import math
from dataclasses import dataclass

MODELS = ("lstm", "luhn")  # what scores the sentences: the trained LSTM, or Luhn's method (the baseline)
BUDGETS = ("top", "words", "chars", "ratio")  # how many highlights: sentences, words, characters, share of sentences
AVOID = ("quotes", "questions", "exclamations")  # kinds of sentence a reader may keep out of the highlights
MAX_KEYWORDS = 30  # key phrases a request may ask for


@dataclass(frozen=True)
class Budget:
    """How much the highlights may hold: ``top`` sentences, ``words`` or ``chars`` in all, or a ``ratio`` of
    the article's sentences (rounded up)."""

    unit: str  # one of BUDGETS
    limit: float

    def count(self, n_sentences: int) -> int | None:
        """The most highlights of an article of ``n_sentences``; None for a budget of length (words, chars)."""
        if self.unit == "top":
            return int(self.limit)
        if self.unit == "ratio":
            # 0.3 x 10 is 3, not 3.0000000000000004; and at least one, however small the share
            return max(1, math.ceil(round(self.limit * n_sentences, 9)))
        return None

    def size(self, sentence: str) -> int:
        """What a sentence spends of a length budget: its whitespace-separated words, or its characters."""
        return len(sentence.split()) if self.unit == "words" else len(sentence)


@dataclass(frozen=True)
class Options:
    top: int  # how many highlights, unless another budget is set
    model: str = "lstm"  # one of MODELS
    words: int | None = None  # the highlights' words together fit in this
    chars: int | None = None  # ... their characters
    ratio: float | None = None  # ceil(ratio x sentences) highlights, 0 < ratio <= 1
    avoid: tuple[str, ...] = ()  # of AVOID: such sentences are scored but never picked
    keywords: int = 0  # key phrases to add to the answer (0: none)

    @property
    def budget(self) -> Budget:
        """The one budget in force: words, chars or ratio where set (a request sets at most one), else top."""
        for unit in BUDGETS[1:]:
            if getattr(self, unit) is not None:
                return Budget(unit, getattr(self, unit))
        return Budget("top", self.top)
