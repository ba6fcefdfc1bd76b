"""Score article sentences against the summary's sentences ("quotes"): the training labels.

Every labeler maps ``(sentences, quotes)`` to one label in [0, 1] per sentence. Tokens are those
of the ``rouge-score`` package (lower-cased alphanumerics, Porter-stemmed), so that labels and the
evaluation's ROUGE count words the same way.
"""

from __future__ import annotations

from collections import Counter
from functools import lru_cache
from itertools import combinations
from typing import Callable, Sequence

import numpy as np
from nltk.stem import porter
from rouge_score import tokenize

_STEMMER = porter.PorterStemmer()


@lru_cache(maxsize=200_000)
def rouge_tokens(text: str) -> tuple[str, ...]:
    """ROUGE tokens of ``text``: lower-cased, alphanumeric, Porter-stemmed (as rouge-score)."""
    return tuple(tokenize.tokenize(text, _STEMMER))


def ngrams(tokens: Sequence[str], n: int) -> Counter:
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def f_measure(overlap: int, candidate: int, reference: int) -> float:
    """F1 from an overlap count and the two sides' counts; 0 when either side is empty."""
    if overlap == 0 or candidate == 0 or reference == 0:
        return 0.0
    precision, recall = overlap / candidate, overlap / reference
    return 2 * precision * recall / (precision + recall)


def rouge_n(candidate: Counter, reference: Counter) -> float:
    """ROUGE-N F1 between two n-gram counters."""
    overlap = sum((candidate & reference).values())
    return f_measure(overlap, sum(candidate.values()), sum(reference.values()))


def jaccard_labels(sentences: Sequence[str], quotes: Sequence[str]) -> np.ndarray:
    """1 - Jaccard distance of each sentence's token set to its nearest quote (the 2016 design)."""
    quote_sets = [set(rouge_tokens(q)) for q in quotes]
    labels = np.zeros(len(sentences), dtype=np.float32)
    for i, sentence in enumerate(sentences):
        words = set(rouge_tokens(sentence))
        for quote in quote_sets:
            union = words | quote
            if union:
                labels[i] = max(labels[i], len(words & quote) / len(union))
    return labels


def rouge_labels(sentences: Sequence[str], quotes: Sequence[str]) -> np.ndarray:
    """Mean of ROUGE-1 and ROUGE-2 F1 of each sentence against its nearest quote."""
    quote_grams = [(ngrams(rouge_tokens(q), 1), ngrams(rouge_tokens(q), 2)) for q in quotes]
    labels = np.zeros(len(sentences), dtype=np.float32)
    for i, sentence in enumerate(sentences):
        tokens = rouge_tokens(sentence)
        uni, bi = ngrams(tokens, 1), ngrams(tokens, 2)
        for q_uni, q_bi in quote_grams:
            labels[i] = max(labels[i], (rouge_n(uni, q_uni) + rouge_n(bi, q_bi)) / 2)
    return labels


def whole_summary_grams(sentences: Sequence[str], summary: Sequence[str]) -> tuple[Counter, Counter, list, list]:
    """The whole summary's unigrams and bigrams, and each sentence's: what the oracles score against."""
    ref_tokens = [t for q in summary for t in rouge_tokens(q)]
    return (ngrams(ref_tokens, 1), ngrams(ref_tokens, 2), [ngrams(rouge_tokens(s), 1) for s in sentences],
            [ngrams(rouge_tokens(s), 2) for s in sentences])


def greedy_oracle(sentences: Sequence[str], summary: Sequence[str], limit: int | None = None) -> list[int]:
    """Indices picked greedily to maximise ROUGE-1 + ROUGE-2 F1 against the whole summary.

    Picks go on while they raise the score (and up to ``limit`` picks); the order of the list
    is the order of picking, most valuable first.
    """
    ref_uni, ref_bi, sent_uni, sent_bi = whole_summary_grams(sentences, summary)
    picked: list[int] = []
    uni, bi = Counter(), Counter()
    best = 0.0
    while limit is None or len(picked) < limit:
        gains = [
            (rouge_n(uni + sent_uni[i], ref_uni) + rouge_n(bi + sent_bi[i], ref_bi), i)
            for i in range(len(sentences))
            if i not in picked
        ]
        if not gains:
            break
        score, choice = max(gains, key=lambda g: (g[0], -g[1]))
        if score <= best:
            break
        best = score
        picked.append(choice)
        uni, bi = uni + sent_uni[choice], bi + sent_bi[choice]
    return picked


def oracle_labels(sentences: Sequence[str], quotes: Sequence[str]) -> np.ndarray:
    """Soft greedy-oracle labels: 1 for the oracle's first pick down to 0.5 for its last, else 0.

    The graded part keeps the oracle's order of value, so the model learns which summary
    sentences matter most, not only which belong.
    """
    picked = greedy_oracle(sentences, quotes)
    labels = np.zeros(len(sentences), dtype=np.float32)
    for rank, index in enumerate(picked):
        labels[index] = 1.0 - 0.5 * rank / max(1, len(picked) - 1)
    return labels


def binary_oracle_labels(sentences: Sequence[str], quotes: Sequence[str]) -> np.ndarray:
    """Hard greedy-oracle labels: 1 for every sentence the oracle picks, else 0."""
    labels = np.zeros(len(sentences), dtype=np.float32)
    labels[greedy_oracle(sentences, quotes)] = 1.0
    return labels


def best_summaries_labels(sentences: Sequence[str], quotes: Sequence[str], k: int = 3, pool: int = 6,
                          keep: int = 5) -> np.ndarray:
    """How much of the best k-sentence summaries each sentence is in (after REFRESH, Narayan et al. 2018).

    The ``pool`` sentences with the best ROUGE on their own are combined ``k`` at a time; each of
    the ``keep`` best combinations (mean of ROUGE-1 and ROUGE-2 F1 against the whole summary, as
    the greedy oracle) votes for its sentences with its score. A sentence's label is its share of
    the votes: 1 when it is in every good summary, 0 when in none. Unlike the greedy oracle's one
    answer, a sentence almost as good as a pick (often a lead sentence) gets partial credit.
    """
    ref_uni, ref_bi, sent_uni, sent_bi = whole_summary_grams(sentences, quotes)

    def score(indices: Sequence[int]) -> float:
        uni = sum((sent_uni[i] for i in indices), Counter())
        bi = sum((sent_bi[i] for i in indices), Counter())
        return (rouge_n(uni, ref_uni) + rouge_n(bi, ref_bi)) / 2

    alone = sorted(range(len(sentences)), key=lambda i: (-score([i]), i))[:pool]
    summaries = sorted(((score(c), c) for c in combinations(sorted(alone), min(k, len(alone)))),
                       key=lambda sc: (-sc[0], sc[1]))[:keep]
    labels = np.zeros(len(sentences), dtype=np.float32)
    total = sum(s for s, _ in summaries)
    if total > 0:
        for s, indices in summaries:
            labels[list(indices)] += s / total
    return np.minimum(labels, 1.0)


LABELERS: dict[str, Callable[[Sequence[str], Sequence[str]], np.ndarray]] = {
    "jaccard": jaccard_labels,
    "rouge": rouge_labels,
    "oracle": oracle_labels,
    "oracle_binary": binary_oracle_labels,
    "best_summaries": best_summaries_labels,
}


def label_sentences(name: str, sentences: Sequence[str], quotes: Sequence[str]) -> np.ndarray:
    """Labels ``(n_sentences,)`` in [0, 1] from the labeler called ``name``."""
    try:
        labeler = LABELERS[name]
    except KeyError:
        raise ValueError(f"unknown labeler {name!r}; choose from {sorted(LABELERS)}") from None
    return labeler(sentences, quotes)
