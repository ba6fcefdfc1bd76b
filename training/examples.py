"""Articles -> training examples: sentences, labels and the LSTM's input rows for each article."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from app.core.features import featurize
from app.core.sentences import Sentence, SentenceSplitter
from training.data import Article, LoadReport
from training.labels import label_sentences
from training.vector_cache import VectorCache

log = logging.getLogger(__name__)


@dataclass
class Example:
    article: Article
    sentences: list[Sentence]
    rows: np.ndarray  # (n_sentences, dim + N_FEATURES)
    labels: np.ndarray  # (n_sentences,)
    weight: float = 1.0  # how much the article counts in the training loss (its set's "^W")


PARALLEL_FROM = 200  # fewer articles than this are prepared in-process (starting workers costs seconds)


def prepare_examples(
    articles: list[Article],
    splitter: SentenceSplitter,
    labeler: str,
    cache: VectorCache,
    encoder,
    report: LoadReport | None = None,
    min_sentences: int = 2,
    jobs: int = 1,
) -> list[Example]:
    """Split, label, encode and featurize; articles with fewer than ``min_sentences`` are skipped.

    With ``jobs`` > 1, labelling and featurizing (pure Python and numpy, most of this stage once the
    vectors are cached) run in that many processes; the examples are the same, in the same order.
    """
    report = report if report is not None else LoadReport()
    split = []
    for article in articles:
        sentences = splitter.split(article.text)
        if len(sentences) < min_sentences:
            report.skip(f"fewer than {min_sentences} sentences", article.id)
            continue
        split.append((article, sentences))
    # Encode every missing sentence in one go: far faster than article by article.
    all_texts = list(dict.fromkeys(s.text for _, sentences in split for s in sentences))
    log.info("vectors for %d distinct sentences (%d cached)", len(all_texts), len(cache))
    cache.fill(all_texts, encoder)
    work = [(labeler, [s.text for s in sentences], article.quotes, cache.vectors([s.text for s in sentences], None))
            for article, sentences in split]
    if jobs > 1 and len(work) >= PARALLEL_FROM:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # spawn, not fork: the parent may have the encoder's threads running
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
            done = list(pool.map(_label_and_featurize, work, chunksize=max(1, len(work) // (8 * jobs))))
    else:
        done = [_label_and_featurize(w) for w in work]
    return [Example(article, sentences, rows, labels, article.weight)
            for (article, sentences), (rows, labels) in zip(split, done)]


def _label_and_featurize(work: tuple) -> tuple[np.ndarray, np.ndarray]:
    labeler, texts, quotes, vectors = work
    return featurize(texts, vectors), label_sentences(labeler, texts, quotes)
