"""Scored sentences -> the JSON Brief's front end reads (``app.server.schema.Result``)."""

from __future__ import annotations

from app.ingest.document import Document
from app.core.ranking import pick, rank
from app.server.schema import Result, ScoredSentence
from app.core.summarizer import ScoredArticle


def scroll_percent(start: int, text_length: int) -> float:
    """Where a sentence starts, as a percentage of the article's length (0 = top), to one decimal."""
    return round(100 * start / text_length, 1) if text_length else 0.0


def build_result(document: Document, article: ScoredArticle, top: int, model: str, pick_rule: str = "top",
                 length_exponent: float = 0.0) -> Result:
    """Sentences sorted by score (best first; ties in document order) and the ``top`` highlights
    (picked by ``pick_rule`` after weighing by ``length_exponent``, ``app.core.ranking``) in document order.

    ``start``/``end`` index the document's text as a Python string (Unicode code points):
    ``text[start:end] == sent``. The text is part of the answer where it was extracted from HTML.
    """
    scores, text = article.scores, document.text
    ranked = rank(scores)
    extras = {"text": text} if document.extracted else {}
    if document.url:
        extras["url"] = document.url
    return Result(
        model=model,
        title=document.title,
        scored_article_sentences=[
            ScoredSentence(
                index=i,
                sent=article.sentences[i].text,
                score=round(float(scores[i]), 6),
                start=article.sentences[i].start,
                end=article.sentences[i].end,
                scroll=scroll_percent(article.sentences[i].start, len(text)),
            )
            for i in ranked
        ],
        highlights=pick(scores, [s.text for s in article.sentences], top, pick_rule, length_exponent),
        **extras,
    )
