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
from lxml.html import HtmlElement

from app.errors import APIError

# A pasted or read document that starts like a web page, or holds block-level markup.
_HTML_START = re.compile(r"\A\s*(<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>])", re.IGNORECASE)
# Elements in a page; more is refused (413). News pages have a few thousand; trafilatura's time grows
# faster than linearly with the count (on this machine: 3,000 paragraphs 1.2 s, 12,000 9 s, and
# 60,000 unclosed tags took 22 s before this limit).
MAX_ELEMENTS = 10_000
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

    ``html`` may be bytes (a fetched page): its declared encoding is used, or else detected.
    """
    if isinstance(html, str) and not _BODY.search(html):
        html = f"<html><body>{html}</body></html>"  # a pasted fragment: trafilatura finds no text outside a body
    tree = trafilatura.load_html(html)  # decodes bytes (declared or detected charset), drops an XML declaration
    if tree is None:  # nothing to parse, e.g. only a comment
        raise APIError(422, "no_article_text", "no article text was found in the page")
    elements = sum(1 for _ in tree.iter())
    if elements > MAX_ELEMENTS:
        raise APIError(413, "page_too_large", f"the page has {elements} HTML elements; the limit is {MAX_ELEMENTS}")
    # favor_precision and fast: no fall-back to the whole page's text when no main content is
    # found, which would make sentences of the navigation, cookie banner and footer. No metadata:
    # trafilatura's author, date and category search takes most of its time (a minute for some
    # hostile 1 MB pages); the title is read here instead.
    title = page_title(tree)
    document = trafilatura.bare_extraction(tree, with_metadata=False, include_comments=False, include_tables=False,
                                           include_images=False, include_links=False, fast=True, favor_precision=True)
    blocks = [line.strip() for line in (document.text or "").splitlines() if line.strip()] if document else []
    if blocks and title and blocks[0] == title:
        blocks = blocks[1:]  # the page's <h1> repeats the title: it is returned as the title, not a sentence
    if not any(re.search(r"\w{2,}", block) for block in blocks):
        raise APIError(422, "no_article_text", "no article text was found in the page")
    return ExtractedArticle(title, "\n\n".join(blocks))


def page_title(tree: HtmlElement) -> str | None:
    """The article's title: its first ``<h1>`` where the ``<title>`` (often "Headline | Site") holds it,
    else ``og:title``, else the ``<title>``, else the ``<h1>``."""

    def first(xpath: str) -> str | None:
        found = tree.xpath(xpath)  # a string for string(...), else a list
        text = found if isinstance(found, str) else str(found[0]) if found else ""
        return " ".join(text.split()) or None

    h1 = first("string(//h1[1])")
    head = first("string(//title[1])")
    og = first("//meta[@property='og:title']/@content")
    if h1 and head and h1 in head:
        return h1
    return og or head or h1
