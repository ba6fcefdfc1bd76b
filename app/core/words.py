"""Content words of a sentence: the word-level view shared by the features and the Luhn scorer."""

from __future__ import annotations

import re
from functools import lru_cache

from sumy.utils import get_stop_words

_WORD = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*")


@lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    """English stop words (the list that ships inside the ``sumy`` package; no download)."""
    return frozenset(get_stop_words("english"))


def words(text: str) -> list[str]:
    """Lower-cased word tokens (letters and digits, inner apostrophes kept)."""
    return _WORD.findall(text.lower())


def content_words(text: str) -> list[str]:
    """Words that are not stop words and are not bare numbers."""
    stop = stop_words()
    return [w for w in words(text) if w not in stop and not w.isdigit()]
