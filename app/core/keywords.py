"""Key phrases of an article: phrases of 1-3 words that occur in it, best first, near-duplicates removed.

A candidate is a run of one to three words of one sentence with no stop word, number or punctuation
inside it or at its ends. Each is scored by the sentences it occurs in: the sum, over its
occurrences, of that sentence's weight. Brief weighs a sentence by the model's score (how likely the
sentence belongs in a summary), so a phrase counts for more in the sentences a summary would keep;
that beat YAKE, TF-IDF and a KeyBERT-style ranking with MiniLM on validation (docs/budgets.md,
``training/keyphrase_evaluation.py``). Phrases that share a word stem with a better one are dropped
("bridge" after "bridges", "Obama" after "Barack Obama"). ``score`` is the phrase's share of the best
phrase's, in (0, 1]; ``count`` how often it occurs.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Sequence

import numpy as np
from nltk.stem.porter import PorterStemmer

from app.core.words import stop_words

MAX_WORDS = 3  # the longest phrase
_TOKEN = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)*")
_JOINS = re.compile(r"\s*(?:-\s*)?")  # what may stand between two words of a phrase: spaces, a hyphen
_POSSESSIVE = re.compile(r"['\u2019]s$", re.IGNORECASE)


@dataclass(frozen=True)
class KeyPhrase:
    phrase: str  # as it is written in the article (its most frequent spelling)
    score: float  # share of the best phrase's score, in (0, 1]
    count: int  # occurrences in the article


@dataclass
class Candidate:
    spellings: Counter = field(default_factory=Counter)
    sentences: list[int] = field(default_factory=list)  # one entry per occurrence


def find_candidates(sentences: Sequence[str]) -> dict[str, Candidate]:
    """Every phrase of 1-3 words with no stop word, number or punctuation in it, by its lower-cased words."""
    stop = stop_words()
    found: dict[str, Candidate] = {}
    for index, sentence in enumerate(sentences):
        for chunk in _chunks(sentence, stop):
            for n in range(1, MAX_WORDS + 1):
                for first in range(len(chunk) - n + 1):
                    words = chunk[first : first + n]
                    key = " ".join(sentence[start:end] for start, end in words).lower()
                    spelling = " ".join(sentence[words[0][0] : words[-1][1]].split())  # as written ("high-speed")
                    candidate = found.setdefault(key, Candidate())
                    candidate.spellings[spelling] += 1
                    candidate.sentences.append(index)
    return found


def _chunks(sentence: str, stop: frozenset[str]) -> list[list[tuple[int, int]]]:
    """Runs of content words of a sentence, as (start, end) offsets: a stop word, a number or punctuation
    ends a run."""
    chunks: list[list[tuple[int, int]]] = [[]]
    end = 0
    for match in _TOKEN.finditer(sentence):
        if not _JOINS.fullmatch(sentence[end : match.start()]):
            chunks.append([])
        end = match.end()
        word = match.group()
        possessive = _POSSESSIVE.search(word)
        if possessive:
            word = word[: possessive.start()]
        if word.lower() in stop or len(word) < 2 or any(c.isdigit() for c in word):
            chunks.append([])
            continue
        chunks[-1].append((match.start(), match.start() + len(word)))
        if possessive:  # "Obama's plan": "Obama", not "Obama's plan"
            chunks.append([])
    return [c for c in chunks if c]


@lru_cache(maxsize=1)
def _stemmer() -> PorterStemmer:
    return PorterStemmer()


def stems(phrase: str) -> set[str]:
    """The Porter stems of a phrase's words (lower-cased)."""
    stem = _stemmer().stem
    return {stem(w) for w in _TOKEN.findall(phrase.lower())}


def rank_phrases(candidates: dict[str, Candidate], scores: dict[str, float], n: int) -> list[KeyPhrase]:
    """The ``n`` best candidates by ``scores``, skipping any that shares a stem with a better one."""
    order = sorted(scores, key=lambda key: (-scores[key], key))
    chosen: list[KeyPhrase] = []
    taken: set[str] = set()
    best = scores[order[0]] if order else 0.0
    for key in order:
        if len(chosen) == n:
            break
        phrase_stems = stems(key)
        if phrase_stems & taken:
            continue
        taken |= phrase_stems
        candidate = candidates[key]
        spelling = max(candidate.spellings, key=lambda s: (candidate.spellings[s], s))
        score = round(scores[key] / best, 4) if best > 0 else 0.0
        chosen.append(KeyPhrase(spelling, score, len(candidate.sentences)))
    return chosen


def key_phrases(sentences: Sequence[str], sentence_scores: np.ndarray, n: int) -> list[KeyPhrase]:
    """The article's ``n`` best key phrases, each scored by the model's scores ``(n_sentences,)`` of the
    sentences it occurs in."""
    if n <= 0:
        return []
    candidates = find_candidates(sentences)
    weights = np.asarray(sentence_scores, dtype=np.float64)
    scores = {key: float(weights[c.sentences].sum()) for key, c in candidates.items()}
    return rank_phrases(candidates, scores, n)
