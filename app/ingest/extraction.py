"""A web page's HTML -> its article's title and main text, with trafilatura.

trafilatura drops navigation, cookie banners, comments, related links, scripts and styles, and
keeps the article's paragraphs and headings. Each block it keeps is separated from the next by a
blank line here, so the sentence splitter ends a sentence at every heading and paragraph end.
Nothing is fetched: links and images in the page are never followed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import trafilatura

from app.errors import APIError

# A pasted or read document that starts like a web page, or holds block-level markup.
_HTML_START = re.compile(r"\A\s*(<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>])", re.IGNORECASE)
_BODY = re.compile(r"<body[\s>]", re.IGNORECASE)
_HTML_BLOCKS = re.compile(r"</(p|div|article|section|h[1-6]|li|main|body)\s*>", re.IGNORECASE)


@dataclass(frozen=True)
class ExtractedArticle:
    title: str | None
    text: str


def looks_like_html(document: str) -> bool:
    """Whether a document is a web page rather than text (a doctype or ``<html>`` start, or closed block tags)."""
    return bool(_HTML_START.match(document) or _HTML_BLOCKS.search(document))


def extract_article(html: str | bytes) -> ExtractedArticle:
    """The article's title and text; 422 ``no_article_text`` where the page holds no article.

    ``html`` may be bytes (a fetched page): trafilatura then detects its encoding.
    """
    if isinstance(html, str) and not _BODY.search(html):
        html = f"<html><body>{html}</body></html>"  # a pasted fragment: trafilatura finds no text outside a body
    # favor_precision and fast: no fall-back to the whole page's text when no main content is
    # found, which would make sentences of the navigation, cookie banner and footer.
    document = trafilatura.bare_extraction(html, with_metadata=True, include_comments=False, include_tables=False,
                                           include_images=False, include_links=False, fast=True, favor_precision=True)
    blocks = [line.strip() for line in (document.text or "").splitlines() if line.strip()] if document else []
    title = (document.title or "").strip() or None if document else None
    if blocks and title and blocks[0] == title:
        blocks = blocks[1:]  # the page's <h1> repeats the title: it is returned as the title, not a sentence
    if not any(re.search(r"\w{2,}", block) for block in blocks):
        raise APIError(422, "no_article_text", "no article text was found in the page")
    return ExtractedArticle(title, "\n\n".join(blocks))
