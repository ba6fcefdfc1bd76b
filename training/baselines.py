"""The methods Brief is compared with: Lead-K, Luhn, sumy's LexRank and TextRank, and the greedy oracle.

Each is a picker ``(sentences, quotes, k) -> indices`` in document order; only the oracle reads the
summary's ``quotes``. ``training.evaluate`` scores their picks with ROUGE; ``bench.baselines``
times them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import nltk

from app.core.luhn import score_luhn
from app.core.ranking import pick
from training.labels import greedy_oracle

BASELINES = ("lead", "luhn", "lexrank", "textrank", "oracle")
SUMY = ("lexrank", "textrank")


def sumy_picker(name: str) -> Callable[[Sequence[str], int], list[int]]:
    """``(sentences, k) -> indices`` of sumy's summarizer ``name`` (English stemmer and stop words)."""
    from sumy.models.dom import ObjectDocumentModel, Paragraph, Sentence
    from sumy.nlp.stemmers import Stemmer
    from sumy.nlp.tokenizers import Tokenizer
    from sumy.summarizers.lex_rank import LexRankSummarizer
    from sumy.summarizers.text_rank import TextRankSummarizer
    from sumy.utils import get_stop_words

    from app.core.sentences import use_nltk_data
    from app.settings import NLTK_DATA, resolve

    if not any(Path(p, "tokenizers", "punkt_tab", "english").is_dir() for p in nltk.data.path):
        use_nltk_data(resolve(NLTK_DATA))  # sumy's word tokenizer needs Punkt parameters
    summarizer = {"lexrank": LexRankSummarizer, "textrank": TextRankSummarizer}[name](Stemmer("english"))
    summarizer.stop_words = get_stop_words("english")
    tokenizer = Tokenizer("english")

    def pick_sumy(sentences: Sequence[str], k: int) -> list[int]:
        objects = [Sentence(s, tokenizer) for s in sentences]
        chosen = summarizer(ObjectDocumentModel([Paragraph(objects)]), k)
        ids = {id(o): i for i, o in enumerate(objects)}
        return sorted(ids[id(s)] for s in chosen)

    return pick_sumy


def baseline_picker(name: str) -> Callable[[Sequence[str], Sequence[str], int], list[int]]:
    """A function ``(sentences, quotes, k) -> picked indices`` for a baseline."""
    if name == "lead":
        return lambda sentences, quotes, k: list(range(min(k, len(sentences))))
    if name == "luhn":
        return lambda sentences, quotes, k: pick(score_luhn(sentences), sentences, k)
    if name == "oracle":
        return lambda sentences, quotes, k: sorted(greedy_oracle(sentences, quotes, limit=k))
    if name in SUMY:
        pick_sumy = sumy_picker(name)
        return lambda sentences, quotes, k: pick_sumy(sentences, k)
    raise ValueError(f"unknown baseline {name!r}; choose from {BASELINES}")
