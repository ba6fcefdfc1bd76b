"""What a reader asks of the highlights: the options every interface takes (the API's fields of the same names)."""

from __future__ import annotations

from dataclasses import dataclass

MODELS = ("lstm", "luhn")  # what scores the sentences: the trained LSTM, or Luhn's method (the baseline)


@dataclass(frozen=True)
class Options:
    top: int  # how many highlights
    model: str = "lstm"  # one of MODELS
