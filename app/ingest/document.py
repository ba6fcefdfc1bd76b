"""An article as given (text, HTML or a URL) -> the ``Document`` that is scored: its text and title."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from app.errors import APIError
from app.ingest.extraction import extract_article
from app.ingest.fetch import FetchedPage

if TYPE_CHECKING:
    from app.api.schema import Article


@dataclass(frozen=True)
class Document:
    text: str  # what is split and scored; sentence offsets index it
    title: str | None
    extracted: bool = False  # the text came out of HTML, so the answer returns it
    url: str | None = None  # the page's address after redirects, for a fetched page


def read_document(article: "Article", fetch: Callable[[str], FetchedPage] | None) -> Document:
    """The article's text and title; HTML is extracted, and a URL fetched with ``fetch`` (None: fetching is off)."""
    if article.text is not None:
        return Document(article.text, article.title)
    if article.html is not None:
        extracted = extract_article(article.html)
        return Document(extracted.text, article.title or extracted.title, extracted=True)
    if fetch is None:
        raise APIError(422, "url_fetching_off", "this server does not fetch URLs (BRIEF_FETCH_URLS is off): "
                                                "send the page's HTML instead")
    page = fetch(article.url)
    extracted = extract_article(page.html())
    return Document(extracted.text, article.title or extracted.title, extracted=True, url=page.url)
