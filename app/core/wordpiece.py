"""Sentence -> WordPiece ids of the encoder's vocabulary, in plain Python (no TensorFlow, no Keras).

The same ids as keras-hub's ``BertTokenizer.from_preset`` on the weights' folder (its Python path,
``keras_hub/src/tokenizers/word_piece_tokenizer.py``), which the shipped models were trained with:
split on whitespace, control characters and punctuation (kept as words), CJK characters apart, then
each word case-folded (Unicode NFKC_Casefold) and cut greedily into the longest pieces of the
vocabulary. Accents are kept (``strip_accents=False``): the vocabulary lacks "café", so it is
``[UNK]``, as keras-hub has it. Hugging Face's tokenizer of the same ``tokenizer.json`` strips them,
so it differs on such words (tests/test_encoder.py checks every BBC test sentence against keras-hub).
"""

from __future__ import annotations

import functools
import json
import unicodedata
from pathlib import Path
from typing import Sequence

import regex

UNKNOWN = "[UNK]"
SUFFIX = "##"
MAX_BYTES_PER_WORD = 100  # longer words are [UNK] (tf_text.FastWordpieceTokenizer's limit, kept by keras-hub)

# keras-hub's patterns; RE2's \s, which keras-hub matched first, is ASCII whitespace only.
_WHITESPACE = r"[ \t\n\r\f]|\p{Cc}|\p{Cf}"
_PUNCTUATION = r"[!-/]|[:-@]|[\[-`]|[{-~]|[\p{P}]"
_CJK = (r"[\u4E00-\u9FFF]|[\u3400-\u4DBF]|[\U00020000-\U0002A6DF]|[\U0002A700-\U0002B73F]|"
        r"[\U0002B740-\U0002B81F]|[\U0002B820-\U0002CEAF]|[\uF900-\uFAFF]|[\U0002F800-\U0002FA1F]")
_DELIMITER = regex.compile("|".join((_WHITESPACE, _PUNCTUATION, _CJK)))
_KEPT = regex.compile("|".join((_PUNCTUATION, _CJK)))
# Unicode's default ignorable code points: NFKC_Casefold drops them.
_IGNORABLE = regex.compile("[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
                           "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8\U0001bca0-\U0001bca3"
                           "\U0001d173-\U0001d17a\U000e0000-\U000e0fff]")


def split_words(text: str) -> list[str]:
    """The words of ``text``: runs between delimiters, and each punctuation or CJK character on its own."""
    words, position = [], 0
    for match in _DELIMITER.finditer(text):
        if match.start() > position:
            words.append(text[position : match.start()])
        if _KEPT.fullmatch(match.group()):
            words.append(match.group())
        position = match.end()
    if position < len(text):
        words.append(text[position:])
    return words


def casefold(word: str) -> str:
    """Unicode NFKC_Casefold, as ``tf_text.case_fold_utf8`` (and keras-hub's Python equivalent) applies it."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", word).casefold())
    return _IGNORABLE.sub("", folded)


class WordPieceTokenizer:
    """The encoder's tokenizer: ``vocab.txt`` of the weights' folder, one token a line, id = line number."""

    def __init__(self, vocab_file: str | Path):
        tokens = Path(vocab_file).read_text(encoding="utf-8").splitlines()
        self.ids = {token: i for i, token in enumerate(tokens)}
        self.unknown_id = self.ids[UNKNOWN]
        # Words repeat (a news article's vocabulary is small): each is cut once per process.
        self.word_ids = functools.lru_cache(maxsize=200_000)(self._word_ids)

    @classmethod
    def from_preset(cls, preset_dir: str | Path) -> "WordPieceTokenizer":
        """The tokenizer of a Hugging Face BERT folder; only the lowercasing ones are supported (MiniLM's is)."""
        preset_dir = Path(preset_dir)
        config = json.loads((preset_dir / "tokenizer_config.json").read_text(encoding="utf-8"))
        if not config.get("do_lower_case", False):
            raise ValueError(f"{preset_dir}: only lowercasing WordPiece vocabularies are supported")
        return cls(preset_dir / "vocab.txt")

    def __call__(self, sentences: Sequence[str]) -> list[list[int]]:
        """Each sentence's piece ids, without [CLS] and [SEP]."""
        return [[i for word in split_words(s) for i in self.word_ids(casefold(word))] for s in sentences]

    def _word_ids(self, word: str) -> tuple[int, ...]:
        """Greedy longest-match-first pieces of one word; a word that does not cut into pieces is [UNK]."""
        if not word:
            return ()
        if len(word.encode("utf-8")) > MAX_BYTES_PER_WORD:
            return (self.unknown_id,)
        pieces, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start:
                piece = word[start:end] if start == 0 else SUFFIX + word[start:end]
                if piece in self.ids:
                    pieces.append(self.ids[piece])
                    break
                end -= 1
            else:
                return (self.unknown_id,)
            start = end
        return tuple(pieces)
