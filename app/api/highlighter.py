"""Articles as the API takes them (text, HTML or a URL) -> the API's answers, in this process.

``Highlighter.highlight`` is what ``POST /api/evaluate`` (``app.server.service``), ``brief highlight``
and ``app.highlight`` all answer with: read every article (HTML extracted, URLs fetched), check the
request's size, then ``Summarizer.highlight`` (score, encoded together; pick) and the answer's shape.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from app.api.answer import build_result
from app.api.schema import Article, EvaluateRequest, Result
from app.core.summarizer import Summarizer
from app.errors import APIError
from app.ingest.document import Document, read_document
from app.ingest.fetch import FetchedPage


class Highlighter:
    """A loaded ``Summarizer`` behind the API's request and answer shapes and its limits."""

    def __init__(self, summarizer: Summarizer, max_sentences: int,
                 fetch: Callable[[str], FetchedPage] | None = None,
                 observe: Callable[[str, np.ndarray], None] | None = None):
        """``fetch``: gets a URL's page (None: this highlighter does not fetch); ``observe(model, scores)``:
        told every scored article's scores (the service's metrics)."""
        self.summarizer = summarizer
        self.max_sentences = max_sentences
        self.fetch = fetch
        self.observe = observe

    def highlight(self, request: EvaluateRequest, admit: Callable[[int], None] = lambda count: None) -> list[Result]:
        """Read, score and pick every article of the request; an ``APIError`` for what cannot be answered.

        ``admit`` gets the request's sentence count before the expensive part; it may refuse by raising.
        """
        documents = [self.read(article, f"article {i}" if request.batch else None)
                     for i, article in enumerate(request.articles)]
        # Split first (cheap) so an oversized request is refused before the expensive encoding.
        articles = [self.summarizer.split(d.text) for d in documents]
        counts = [len(a) for a in articles]
        if sum(counts) > self.max_sentences:
            raise APIError(413, "too_many_sentences",
                           f"{sum(counts)} sentences in this request; the limit is {self.max_sentences}")
        if 0 in counts:
            where = f"article {counts.index(0)}" if request.batch else "the article"
            raise APIError(422, "no_sentences", f"{where} has no sentence with a word in it")
        admit(sum(counts))
        highlighted = self.summarizer.highlight(articles, request.options)
        if self.observe:
            for article in highlighted:
                self.observe(request.options.model, article.scores)
        return [build_result(document, article) for document, article in zip(documents, highlighted)]

    def read(self, article: Article, where: str | None) -> Document:
        """The article's text and title; an error names the article of a batch it is about."""
        try:
            return read_document(article, self.fetch)
        except APIError as e:
            if where:
                e.message = f"{where}: {e.message}"
            raise
