"""Scored sentences -> the JSON Brief's front end reads."""

from __future__ import annotations

from app.ranking import pick, rank
from app.summarizer import ScoredArticle


def scroll_percent(start: int, text_length: int) -> float:
    """Where a sentence starts, as a percentage of the article's length (0 = top), to one decimal."""
    return round(100 * start / text_length, 1) if text_length else 0.0


def build_result(text: str, title: str | None, article: ScoredArticle, top: int, model: str,
                 pick_rule: str = "top") -> dict:
    """Sentences sorted by score (best first; ties in document order) and the ``top`` highlights
    (picked by ``pick_rule``, ``app.ranking``) in document order.

    ``start``/``end`` index ``text`` as a Python string (Unicode code points): ``text[start:end] == sent``.
    """
    scores = article.scores
    ranked = rank(scores)
    return {
        "model": model,
        "title": title,
        "scored_article_sentences": [
            {
                "index": i,
                "sent": article.sentences[i].text,
                "score": round(float(scores[i]), 6),
                "start": article.sentences[i].start,
                "end": article.sentences[i].end,
                "scroll": scroll_percent(article.sentences[i].start, len(text)),
            }
            for i in ranked
        ],
        "highlights": pick(scores, [s.text for s in article.sentences], top, pick_rule),
    }
