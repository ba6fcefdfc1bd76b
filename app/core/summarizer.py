"""The pipeline: text -> sentences -> vectors -> rows -> the LSTM's score per sentence -> highlights.

``Summarizer`` holds the loaded parts (splitter, encoder, LSTM and its card) and times each stage;
``Summarizer.highlight`` is the one call from split articles to highlights that every interface makes
(the HTTP service, the ``brief`` command, ``app.highlight``). The pick rule itself is ``app.core.ranking``'s.
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
from app.core.filters import avoided
from app.core.keywords import KeyPhrase, key_phrases
from app.core.luhn import score_luhn
from app.core.model_file import load_scoring_model
from app.core.options import MODELS, Budget, Options
from app.core.probes import prove_encoder
from app.core.ranking import pick
from app.core.scorer import predict_rows
from app.core.sentences import Sentence, SentenceSplitter

STAGES = ("split", "encode", "featurize", "lstm", "keywords")  # what ``on_stage`` hears of (keywords: where asked)
SCORING_STAGES = ("encode", "featurize", "lstm")  # timed once per ``score_sentences`` call


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
    """An article's sentences with one score each, and where the time went (seconds); after
    ``Summarizer.highlight``, also its highlights and what scored it."""

    sentences: list[Sentence]
    scores: np.ndarray
    timings: dict[str, float] = field(default_factory=dict)
    highlights: list[int] = field(default_factory=list)  # sentence indices, in document order
    model: str = ""  # the model card's id for the LSTM, else the other model's name ("luhn")
    budget: Budget | None = None  # the budget the highlights were picked within, where one other than top was asked
    keywords: list[KeyPhrase] | None = None  # the key phrases, where asked for


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
        prove_encoder(self.encoder, self.card.encoder)  # may fall back to float32, or refuse (EncoderError)
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

    def highlight(self, articles: Sequence[list[Sentence]], options: Options) -> list[ScoredArticle]:
        """Score articles already split by ``split`` (encoded together) and pick each one's highlights
        within the options' budget, never a sentence their filters avoid.

        The LSTM's highlights follow the pick rule and length weighting chosen with it on validation
        (its card); Luhn's baseline takes its best as they are.
        """
        scored = self.score_sentences(articles, options.model)
        lstm = options.model == "lstm"
        rule, length_exponent = (self.pick_rule, self.length_exponent) if lstm else ("top", 0.0)
        for article in scored:
            texts = [s.text for s in article.sentences]
            article.model = self.model_id if lstm else options.model
            article.highlights = pick(article.scores, texts, options.budget, rule, length_exponent,
                                      skip=avoided(texts, options.avoid))
            if options.budget.unit != "top":
                article.budget = options.budget
            if options.keywords:
                started = time.perf_counter()
                article.keywords = key_phrases(texts, article.scores, options.keywords)
                article.timings["keywords"] = time.perf_counter() - started
                if self.on_stage:
                    self.on_stage("keywords", article.timings["keywords"])
        return scored

    def highlight_texts(self, texts: Sequence[str], options: Options) -> list[ScoredArticle]:
        """``highlight`` for texts: split each first."""
        return self.highlight([self.split(t) for t in texts], options)

    def score_texts(self, texts: Sequence[str], model: str = "lstm") -> list[ScoredArticle]:
        """Split, encode (all articles' sentences together) and score each article."""
        t0 = time.perf_counter()
        articles = [self.split(t) for t in texts]
        split_seconds = time.perf_counter() - t0
        scored = self.score_sentences(articles, model)
        for article in scored:
            article.timings["split"] = split_seconds
        return scored

    def score_sentences(self, articles: Sequence[list[Sentence]], model: str = "lstm") -> list[ScoredArticle]:
        """``score_texts`` for articles already split by ``split``: encode (all articles' sentences together) and score."""
        if model not in MODELS:
            raise ValueError(f"unknown model {model!r}; choose from {MODELS}")
        t1 = time.perf_counter()
        if model == "luhn":
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
            article.timings = {"encode": t2 - t1, "featurize": t_features - t2, "lstm": t3 - t_features}
        if self.on_stage and scored:  # one figure per call, for all its articles
            for stage in SCORING_STAGES:
                self.on_stage(stage, scored[0].timings[stage])
        return scored
