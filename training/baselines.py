"""The methods Brief is compared with: Lead-K, Luhn, sumy's LexRank and TextRank, and the greedy oracle.

Each is a picker ``(sentences, quotes, k) -> indices`` in document order; only the oracle reads the
summary's ``quotes``. ``training.evaluate`` scores their picks with ROUGE; ``bench.baselines``
times them.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Callable, Sequence

import nltk
import numpy as np

from app.core.luhn import score_luhn
from app.core.options import Budget
from app.core.ranking import pick
from training.labels import greedy_oracle

BASELINES = ("lead", "luhn", "lexrank", "textrank", "oracle")
SUMY = ("lexrank", "textrank")
BUDGET_BASELINES = ("lead", "luhn", "textrank")  # those with a form under a word or character budget


@functools.cache
def _sumy(name: str):
    """sumy's summarizer ``name`` (English stemmer and stop words) and its word tokenizer, made once
    (a Tokenizer loads Punkt's parameters)."""
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
    return summarizer, Tokenizer("english")


def _sumy_document(sentences: Sequence[str], tokenizer):
    from sumy.models.dom import ObjectDocumentModel, Paragraph, Sentence

    objects = [Sentence(s, tokenizer) for s in sentences]
    return ObjectDocumentModel([Paragraph(objects)]), objects


def sumy_picker(name: str) -> Callable[[Sequence[str], int], list[int]]:
    """``(sentences, k) -> indices`` of sumy's summarizer ``name``."""
    summarizer, tokenizer = _sumy(name)

    def pick_sumy(sentences: Sequence[str], k: int) -> list[int]:
        document, objects = _sumy_document(sentences, tokenizer)
        chosen = summarizer(document, k)
        ids = {id(o): i for i, o in enumerate(objects)}
        return sorted(ids[id(s)] for s in chosen)

    return pick_sumy


def textrank_scores(sentences: Sequence[str]) -> np.ndarray:
    """sumy's TextRank rating of each sentence (what its top-K takes the best of)."""
    summarizer, tokenizer = _sumy("textrank")
    document, objects = _sumy_document(sentences, tokenizer)
    ratings = summarizer.rate_sentences(document)
    return np.array([ratings[o] for o in objects], dtype=np.float64)


def lead_within(sentences: Sequence[str], budget: Budget) -> list[int]:
    """The first sentences that fit in the budget, in order (one that does not fit is skipped; at least one),
    as the acceptance check ``budget_eval.py`` takes them."""
    picked, used = [], 0
    for i, sentence in enumerate(sentences):
        size = budget.size(sentence)
        if used + size <= budget.limit or not picked:
            picked.append(i)
            used += size
        if used >= budget.limit:
            break
    return picked


def budget_baseline_picker(name: str) -> Callable[[Sequence[str], Budget], list[int]]:
    """``(sentences, budget) -> indices`` of a baseline under a word or character budget: the lead sentences
    that fit, or Luhn's and TextRank's best that fit (their scores through the API's ``pick``)."""
    if name == "lead":
        return lead_within
    rate = {"luhn": score_luhn, "textrank": textrank_scores}.get(name)
    if rate is None:
        raise ValueError(f"{name} has no budgeted form; choose from {BUDGET_BASELINES}")
    return lambda sentences, budget: pick(rate(sentences), sentences, budget)


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
