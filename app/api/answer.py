"""A highlighted article -> the answer every interface gives (``app.api.schema.Result``)."""

from __future__ import annotations

from app.api.schema import AppliedBudget, KeyPhrase, Result, ScoredSentence
from app.core.ranking import rank
from app.core.summarizer import ScoredArticle
from app.ingest.document import Document


def scroll_percent(start: int, text_length: int) -> float:
    """Where a sentence starts, as a percentage of the article's length (0 = top), to one decimal."""
    return round(100 * start / text_length, 1) if text_length else 0.0


def build_result(document: Document, article: ScoredArticle) -> Result:
    """Sentences sorted by score (best first; ties in document order) and the article's highlights
    (``Summarizer.highlight`` picked them) in document order; the budget applied and the key phrases
    where the request asked for them.

    ``start``/``end`` index the document's text as a Python string (Unicode code points):
    ``text[start:end] == sent``. The text is part of the answer where it was extracted from HTML.
    """
    scores, text = article.scores, document.text
    extras = {"text": text} if document.extracted else {}
    if document.url:
        extras["url"] = document.url
    if article.budget is not None:  # only where asked: a request without the new options answers as before
        extras["budget"] = AppliedBudget(**{article.budget.unit: article.budget.limit})
    if article.keywords is not None:
        extras["keywords"] = [KeyPhrase(phrase=k.phrase, score=k.score, count=k.count) for k in article.keywords]
    return Result(
        model=article.model,
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
            for i in rank(scores)
        ],
        highlights=article.highlights,
        **extras,
    )
