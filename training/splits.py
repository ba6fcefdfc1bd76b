"""A run's data: the articles of its train, validation and test sets, then their examples.

``training.train`` and ``training.distributed`` prepare them alike. Validation and test sets are
kept set by set, since each is scored on its own; an article too short to pick from is skipped and
counted (two sentences to fit or validate on, one to test on).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from app.core.encoder import SentenceEncoder
from app.core.sentences import SentenceSplitter
from training.data import Article, LoadReport, load_sets
from training.examples import Example, prepare_examples
from training.recipe import TrainConfig
from training.vector_cache import VectorCache

log = logging.getLogger("training")


@dataclass
class Articles:
    train: list[Article]
    validation: dict[str, list[Article]]  # by set, as named in TrainConfig.validation
    test: dict[str, list[Article]]
    report: LoadReport  # what loading and preparing train and validation skipped (test sets keep every article)


@dataclass
class Splits:
    train: list[Example]
    validation: dict[str, list[Example]]
    test: dict[str, list[Example]]
    report: LoadReport

    @property
    def validation_examples(self) -> list[Example]:
        """Every validation set's examples in one list: what early stopping measures."""
        return [e for examples in self.validation.values() for e in examples]


def load_articles(config: TrainConfig, test: bool = True) -> Articles:
    """The articles of ``config``'s sets (no test sets with ``test=False``)."""
    report = LoadReport()
    train = load_sets(config.train, config.data_root, report)
    validation = {spec: load_sets([spec], config.data_root, report) for spec in config.validation}
    tests = {spec: load_sets([spec], config.data_root, LoadReport(), dedupe=False) for spec in config.test} if test else {}
    log.info("articles: train %d, validation %s, test %s", len(train),
             {k: len(v) for k, v in validation.items()}, {k: len(v) for k, v in tests.items()})
    return Articles(train, validation, tests, report)


def prepare_splits(config: TrainConfig, articles: Articles, splitter: SentenceSplitter, encoder: SentenceEncoder) -> Splits:
    """Split, label, encode (through the vector cache ``config.cache``) and featurize every set."""
    cache = VectorCache(config.cache, encoder.signature)

    def prepare(some: list[Article], report: LoadReport, min_sentences: int = 2) -> list[Example]:
        return prepare_examples(some, splitter, config.labeler, cache, encoder, report, min_sentences, jobs=config.jobs)

    validation = {spec: prepare(a, articles.report) for spec, a in articles.validation.items()}
    test = {spec: prepare(a, LoadReport(), min_sentences=1) for spec, a in articles.test.items()}
    splits = Splits(prepare(articles.train, articles.report), validation, test, articles.report)
    log.info("examples: train %d, validation %d; skipped %s", len(splits.train), len(splits.validation_examples),
             dict(articles.report.skipped))
    return splits
