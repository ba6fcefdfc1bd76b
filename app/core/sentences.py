"""Text -> sentences: the one sentence splitter shared by training and serving.

Punkt parameters are trained on the training articles (``training/punkt.py``) and shipped
under ``models/nltk_data/tokenizers/punkt_tab/english/`` in nltk's text ``punkt_tab`` layout,
so ``nltk.sent_tokenize`` works offline once that folder is on ``nltk.data.path``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import nltk
from nltk.tokenize.punkt import PunktTokenizer

PUNKT_LANGUAGE = "english"
_PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n\s*")  # a blank line: a heading or paragraph ends there


@dataclass(frozen=True)
class Sentence:
    """One sentence and its character span in the original text: ``text == source[start:end]``."""

    text: str
    start: int
    end: int


def punkt_dir(nltk_data: str | Path) -> Path:
    """Where the Punkt parameter files live inside an nltk data folder."""
    return Path(nltk_data) / "tokenizers" / "punkt_tab" / PUNKT_LANGUAGE


def use_nltk_data(nltk_data: str | Path) -> None:
    """Put a data folder first on ``nltk.data.path`` (nltk only reads inside those folders)."""
    path = str(Path(nltk_data).resolve())
    if path in nltk.data.path:
        nltk.data.path.remove(path)
    nltk.data.path.insert(0, path)


class SentenceSplitter:
    """Splits text into sentences with offsets, with Punkt parameters from ``nltk_data``."""

    def __init__(self, nltk_data: str | Path):
        if not punkt_dir(nltk_data).is_dir():
            raise FileNotFoundError(f"no Punkt parameters under {punkt_dir(nltk_data)}")
        use_nltk_data(nltk_data)
        self._tokenizer = PunktTokenizer(PUNKT_LANGUAGE)

    def split(self, text: str) -> list[Sentence]:
        """Split ``text`` into sentences; a blank line always ends one; text with no word yields nothing."""
        sentences = []
        paragraph_start = 0
        for brk in [*_PARAGRAPH_BREAK.finditer(text), None]:
            paragraph_end = brk.start() if brk else len(text)
            paragraph = text[paragraph_start:paragraph_end]
            for start, end in self._tokenizer.span_tokenize(paragraph):
                chunk = paragraph[start:end]
                stripped = chunk.strip()
                if not stripped or not any(_is_wordlike(c) for c in stripped):
                    continue
                start += paragraph_start + len(chunk) - len(chunk.lstrip())
                sentences.append(Sentence(stripped, start, start + len(stripped)))
            if brk:
                paragraph_start = brk.end()
        return sentences


def _is_wordlike(char: str) -> bool:
    return unicodedata.category(char)[0] in "LN"
