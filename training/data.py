"""Load (article, summary) pairs in the formats users have them.

Two formats:
- the Kaggle "BBC News Summary" folder (``News Articles/<cat>/NNN.txt``, ``Summaries/<cat>/NNN.txt``,
  and a ``split.tsv`` of ``<cat>/NNN<TAB>split`` lines);
- CNN/DailyMail-style JSONL (plain or gzipped, ``.jsonl`` / ``.jsonl.gz``), one ``{"id",
  "article", "highlights"}`` object per line, highlights separated by newlines, with an optional
  ``source`` (``cnn``, ``dm``, ...) that evaluation reports by.

Rows that cannot give a label (empty article or summary, undecodable bytes) are skipped and
counted in the returned ``LoadReport``; nothing is silently relabelled.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import logging
import random
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from app.settings import DATA_ROOT

log = logging.getLogger(__name__)

BBC_SPLITS = ("train", "validation", "test")


@dataclass(frozen=True)
class Article:
    """One article with its reference summary, split into summary sentences ("quotes")."""

    id: str
    text: str
    quotes: tuple[str, ...]
    title: str = ""
    source: str = ""  # where it comes from (bbc, cnn, dm, inshorts...): evaluation reports by it
    weight: float = 1.0  # how much the article counts in the training loss ("<set>^W")


@dataclass
class LoadReport:
    """What a loader kept and what it skipped, by reason."""

    kept: int = 0
    skipped: Counter = field(default_factory=Counter)

    def skip(self, reason: str, row_id: str, level: int = logging.WARNING) -> None:
        self.skipped[reason] += 1
        log.log(level, "skipping %s: %s", row_id, reason)


# A BBC summary runs its sentences together: "...$10.9bn.For the full-year...". A sentence end
# is a stop (optionally closed by a quote) directly followed by a capital or an opening quote.
_SLICE = re.compile(r"(.+)\[(-?\d*):(-?\d*)\]")
_SAMPLE = re.compile(r"(.+)~(\d+)")
SAMPLE_SEED = 0  # "set~N" is the first N of one fixed shuffle, so a smaller sample is part of a larger one
_RUN_TOGETHER = re.compile(r"""(?<=[.!?])(["'\u201d\u2019]?)(?=["\u201c\u2018]?[A-Z])""")


def split_run_together(summary: str, article: str = "") -> list[str]:
    """Split a summary whose sentences have no space after the full stop.

    A quote mark between two sentences (``...months."The...``) may close the first or open the
    second; when the article is given, it goes wherever the sentence is found verbatim.
    """
    spaced = _RUN_TOGETHER.sub(lambda m: m.group(1) + "\n", summary)
    quotes = [line.strip() for line in spaced.splitlines() if line.strip()]
    for i in range(len(quotes) - 1):
        quote = quotes[i]
        if article and quote[-1] in "\"'\u201d\u2019" and quote not in article and quote[:-1] in article:
            quotes[i], quotes[i + 1] = quote[:-1], quote[-1] + quotes[i + 1]
    return quotes


def _decode(raw: bytes) -> str:
    """UTF-8, falling back to ISO-8859-1 (one BBC file, ``sport/199.txt``, is latin-1)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("iso-8859-1")


def read_bbc_split(root: str | Path) -> dict[str, str]:
    """``split.tsv`` as ``{article id: split}``."""
    splits = {}
    for line in (Path(root) / "split.tsv").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        article_id, split = line.split("\t")
        splits[article_id.strip()] = split.strip()
    return splits


def load_bbc(
    root: str | Path, split: str, report: LoadReport | None = None, dedupe: bool = True
) -> list[Article]:
    """Articles of one split of the BBC News Summary folder.

    Training drops exact duplicates (``dedupe``); evaluation keeps them, so that its figures
    are over the same 216 test articles everyone reports on.
    """
    if split not in BBC_SPLITS:
        raise ValueError(f"unknown BBC split {split!r}; expected one of {BBC_SPLITS}")
    root = Path(root)
    report = report if report is not None else LoadReport()
    articles, seen = [], set()
    for article_id, article_split in read_bbc_split(root).items():
        if article_split != split:
            continue
        raw = _decode((root / "News Articles" / f"{article_id}.txt").read_bytes())
        summary = _decode((root / "Summaries" / f"{article_id}.txt").read_bytes())
        title, _, body = raw.strip().partition("\n")
        body = body.strip()
        if not body:
            report.skip("empty article", article_id)
            continue
        quotes = split_run_together(summary, body)
        if not quotes:
            report.skip("empty summary", article_id)
            continue
        if dedupe and body in seen:
            report.skip("duplicate article", article_id, level=logging.DEBUG)
            continue
        seen.add(body)
        articles.append(Article(article_id, body, tuple(quotes), title.strip(), "bbc"))
    report.kept += len(articles)
    return articles


def load_jsonl(path: str | Path, report: LoadReport | None = None, source: str = "") -> list[Article]:
    """CNN/DailyMail-style JSONL (``.gz`` read as gzip): ``article`` text and newline-separated ``highlights``.

    A row's ``source`` field names where it comes from; rows without one get ``source``.
    """
    report = report if report is not None else LoadReport()
    articles = []
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as lines:
        for number, raw in enumerate(lines, 1):
            row_id = f"{Path(path).name}:{number}"
            if not raw.strip():
                continue
            try:
                row = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError:
                report.skip("undecodable bytes", row_id)
                continue
            except json.JSONDecodeError:
                report.skip("malformed JSON", row_id)
                continue
            if not isinstance(row, dict):
                report.skip("malformed JSON", row_id)
                continue
            text = row.get("article")
            highlights = row.get("highlights")
            if not isinstance(text, str) or not text.strip():
                report.skip("empty article", row_id)
                continue
            if not isinstance(highlights, str) or not highlights.strip():
                report.skip("empty summary", row_id)
                continue
            quotes = tuple(q.strip() for q in highlights.splitlines() if q.strip())
            row_source = row.get("source")
            row_source = row_source if isinstance(row_source, str) and row_source else source
            articles.append(Article(str(row.get("id", row_id)), text.strip(), quotes, source=row_source))
    report.kept += len(articles)
    return articles


def load_dataset(
    spec: str, data_root: str | Path = DATA_ROOT, report: LoadReport | None = None, dedupe: bool = True
) -> list[Article]:
    """Load a data set named on the command line.

    ``bbc:<split>`` reads ``<data_root>/bbc-news-summary``; ``bbc:<split>@<folder>`` another BBC
    folder; anything ending in ``.jsonl`` or ``.jsonl.gz`` is read as a JSONL file;
    ``cnndm:<name>`` reads ``<data_root>/cnn_dailymail/<name>.jsonl`` (or ``.jsonl.gz``),
    ``inshorts:<name>`` ``<data_root>/inshorts/<name>.jsonl``. A trailing ``[start:stop]`` keeps
    that slice of the articles (``cnndm:train[:80]``), so one file can give a training and a
    held-out part; a trailing ``~N`` keeps a random sample of N (always the same one for a file,
    and ``~1000`` is the first 1,000 of ``~5000``).
    """
    sliced = _SLICE.fullmatch(spec)
    if sliced:
        start, stop = (int(x) if x else None for x in sliced.group(2, 3))
        return load_dataset(sliced.group(1), data_root, report, dedupe)[start:stop]
    sampled = _SAMPLE.fullmatch(spec)
    if sampled:
        articles = load_dataset(sampled.group(1), data_root, report, dedupe)
        order = list(range(len(articles)))
        random.Random(SAMPLE_SEED).shuffle(order)
        return [articles[i] for i in order[: int(sampled.group(2))]]
    if spec.endswith((".jsonl", ".jsonl.gz")):
        return load_jsonl(spec, report)
    kind, _, rest = spec.partition(":")
    if kind == "bbc":
        split, _, folder = rest.partition("@")
        return load_bbc(folder or Path(data_root) / "bbc-news-summary", split or "train", report, dedupe)
    if kind in JSONL_FOLDERS:
        path = Path(data_root) / JSONL_FOLDERS[kind] / f"{rest or 'validation'}.jsonl"
        if not path.exists() and path.with_suffix(".jsonl.gz").exists():
            path = path.with_suffix(".jsonl.gz")
        return load_jsonl(path, report, source=kind if kind != "cnndm" else "")
    raise ValueError(f"unknown data set {spec!r}: use bbc:<split>, cnndm:<name>, inshorts:<name> or a .jsonl path")


_REPEAT = re.compile(r"(.+)\*(\d+)$")
_WEIGHT = re.compile(r"(.+)\^(\d+(?:\.\d+)?)$")


def load_sets(specs: list[str], data_root: str, report: LoadReport, dedupe: bool = True) -> list[Article]:
    """The articles of several data sets in order. ``"<set>*N"`` repeats a set N times (oversampling
    a small one); ``"<set>^W"`` keeps it once but weighs each of its articles W times in the training
    loss (about the same pull, with W times fewer steps for that set)."""
    articles = []
    for spec in specs:
        name, times, weight = spec, 1, 1.0
        if m := _REPEAT.fullmatch(name):
            name, times = m.group(1), int(m.group(2))
        elif m := _WEIGHT.fullmatch(name):
            name, weight = m.group(1), float(m.group(2))
            if weight <= 0:
                raise ValueError(f"{spec!r}: a set's weight must be positive")
        loaded = load_dataset(name, data_root, report, dedupe)
        if weight != 1.0:
            loaded = [dataclasses.replace(a, weight=weight) for a in loaded]
        articles += loaded * times
    return articles


def add_data_arguments(parser) -> None:
    """``--data`` (repeatable data set names, as ``load_dataset`` reads them) and ``--data-root``."""
    parser.add_argument("--data", action="append", required=True,
                        help="bbc:<split>, cnndm:<name>, inshorts:<name> or a .jsonl[.gz] path (with [a:b] or ~N); repeatable")
    parser.add_argument("--data-root", default=str(DATA_ROOT))


JSONL_FOLDERS = {"cnndm": "cnn_dailymail", "inshorts": "inshorts"}  # <kind>:<name> -> <data_root>/<folder>/<name>.jsonl[.gz]
