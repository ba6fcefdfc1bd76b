"""The pipeline: text -> sentences -> vectors -> rows -> the LSTM's score per sentence.

``Summarizer`` holds the loaded parts (splitter, encoder, LSTM and its card) and times each stage.
Picking the highlights from the scores is ``app.core.ranking``'s.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from app.core.card import EncoderCard, load_model_with_card
from app.core.encoder import SentenceEncoder
from app.core.features import FEATURES, featurize
from app.core.luhn import score_luhn
from app.core.model_file import load_scoring_model
from app.core.scorer import predict_rows
from app.core.sentences import Sentence, SentenceSplitter

METHODS = ("lstm", "luhn")
STAGES = ("split", "encode", "featurize", "lstm")  # what ``on_stage`` hears of


def featurize_articles(articles: Sequence[list[Sentence]], vectors: np.ndarray) -> list[np.ndarray]:
    """The LSTM's input rows ``(n_sentences, dim + N_FEATURES)`` per article, from the vectors of all
    articles' sentences in order ``(total_sentences, dim)``."""
    rows, offset = [], 0
    for sentences in articles:
        rows.append(featurize([s.text for s in sentences], vectors[offset : offset + len(sentences)]))
        offset += len(sentences)
    return rows


@dataclass
class ScoredArticle:
    """An article's sentences with one score each, and where the time went (seconds)."""

    sentences: list[Sentence]
    scores: np.ndarray
    timings: dict[str, float] = field(default_factory=dict)


class Summarizer:
    """Everything needed to score an article: splitter, encoder, LSTM and its card."""

    def __init__(self, model_path: str | Path, card_path: str | Path, nltk_data: str | Path,
                 encoder: SentenceEncoder | None = None,
                 on_stage: Callable[[str, float], None] | None = None):
        """``on_stage(stage, seconds)``: told the time of every stage (``STAGES``) as it ends (the
        benchmark's ``Server-Timing`` header)."""
        self.splitter = SentenceSplitter(nltk_data)
        self.encoder = encoder or SentenceEncoder()
        self.card, self.model = load_model_with_card(model_path, card_path, FEATURES,
                                                     EncoderCard.describe(self.encoder.precision), load_scoring_model)
        self.input_dim = int(self.model.input_shape[0][-1])
        self.on_stage = on_stage

    @property
    def model_id(self) -> str:
        return self.card.id

    @property
    def pick_rule(self) -> str:
        """How highlights are picked from this model's scores (``app.core.ranking``), chosen with it on validation."""
        return self.card.pick_rule

    @property
    def length_exponent(self) -> float:
        """Picks rank by ``score / words ** length_exponent`` (``app.core.ranking``), chosen with the rule."""
        return self.card.length_exponent

    def split(self, text: str) -> list[Sentence]:
        started = time.perf_counter()
        sentences = self.splitter.split(text)
        if self.on_stage:
            self.on_stage("split", time.perf_counter() - started)
        return sentences

    def score_texts(self, texts: Sequence[str], method: str = "lstm") -> list[ScoredArticle]:
        """Split, encode (all articles' sentences together) and score each article."""
        t0 = time.perf_counter()
        articles = [self.split(t) for t in texts]
        split_seconds = time.perf_counter() - t0
        scored = self.score_sentences(articles, method)
        for article in scored:
            article.timings["split"] = split_seconds
        return scored

    def score_sentences(self, articles: Sequence[list[Sentence]], method: str = "lstm") -> list[ScoredArticle]:
        """``score_texts`` for articles already split by ``split``: encode (all articles' sentences together) and score."""
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r}; choose from {METHODS}")
        t1 = time.perf_counter()
        if method == "luhn":
            scored = [ScoredArticle(s, score_luhn([x.text for x in s])) for s in articles]
            t2 = t_features = t3 = time.perf_counter()
        else:
            vectors = self.encoder.encode([s.text for sentences in articles for s in sentences])
            t2 = time.perf_counter()
            rows = featurize_articles(articles, vectors)
            t_features = time.perf_counter()
            nonempty = [i for i, r in enumerate(rows) if len(r)]
            predicted = predict_rows(self.model, [rows[i] for i in nonempty]) if nonempty else []
            scores = [np.zeros(0, dtype=np.float32) for _ in rows]
            for i, p in zip(nonempty, predicted):
                scores[i] = p
            scored = [ScoredArticle(s, sc) for s, sc in zip(articles, scores)]
            t3 = time.perf_counter()
        for article in scored:
            # "score" is featurize + LSTM (kept as one figure for existing readers)
            article.timings = {"encode": t2 - t1, "score": t3 - t2, "featurize": t_features - t2, "lstm": t3 - t_features}
        if self.on_stage and scored:  # one figure per call, for all its articles
            for stage in STAGES[1:]:
                self.on_stage(stage, scored[0].timings[stage])
        return scored
