"""The kinds of sentence a reader may keep out of the highlights (``avoid``): quotations, questions, exclamations.

Such sentences are still scored (their scores are in the answer); ``app.core.ranking.pick`` only
never picks them.
"""

from __future__ import annotations

from typing import Sequence

OPENING = "\u201c\u00ab"  # “ «
CLOSING = "\u201d\u00bb"  # ” »
STRAIGHT = '"'
TRAILING = "\"'\u201d\u2019\u00bb)]"  # what may follow a sentence's own ? or ! ('"Why?" ' ends with ?)


def avoided(sentences: Sequence[str], avoid: Sequence[str]) -> set[int]:
    """Indices of the sentences that are of a kind in ``avoid`` (``app.core.options.AVOID``)."""
    tests = [KINDS[kind] for kind in avoid]
    return {i for i, s in enumerate(sentences) if any(test(s) for test in tests)}


def is_question(sentence: str) -> bool:
    return sentence.rstrip().rstrip(TRAILING).endswith("?")


def is_exclamation(sentence: str) -> bool:
    return sentence.rstrip().rstrip(TRAILING).endswith("!")


def is_quote(sentence: str) -> bool:
    """Mostly inside quotation marks: more than half its letters and digits are quoted."""
    inside = quoted(sentence)
    letters = [c.isalnum() for c in sentence]
    total = sum(letters)
    return total > 0 and sum(q and a for q, a in zip(inside, letters)) > total / 2


def quoted(sentence: str) -> list[bool]:
    """For each character, whether it is inside quotation marks (straight or curly).

    A straight ``"`` opens where it starts the sentence or follows a space or bracket, and closes
    elsewhere. A quotation can run over several sentences: a closing mark with no opening one
    before it closes a quotation that began earlier (all before it is quoted), and an opening mark
    with no closing one quotes all after it.
    """
    marks = []  # (position, opens)
    for i, c in enumerate(sentence):
        if c in OPENING or c in CLOSING:
            marks.append((i, c in OPENING))
        elif c == STRAIGHT:
            before = sentence[i - 1] if i else " "
            marks.append((i, before.isspace() or before in "([{-\u2014"))
    inside = [False] * len(sentence)
    start = 0 if marks and not marks[0][1] else None  # a quotation from an earlier sentence
    for i, opens in marks:
        if opens and start is None:
            start = i
        elif not opens and start is not None:
            inside[start : i + 1] = [True] * (i + 1 - start)
            start = None
    if start is not None:
        inside[start:] = [True] * (len(sentence) - start)
    return inside


KINDS = {"quotes": is_quote, "questions": is_question, "exclamations": is_exclamation}  # one per AVOID
