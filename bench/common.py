"""What every benchmark shares: the articles, percentiles, a real gunicorn, the JSON (the machine: ``harness.machine``).

Articles are read by path from the shared data folder at run time (never copied into the repo):
BBC News Summary and the CNN/DailyMail validation split, split into sentences by Brief's own splitter.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.settings import DATA_ROOT, Settings, resolve
from harness.server import child_pids, start_gunicorn, stop, wait_for_workers

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
DATA = Path(os.environ.get("BRIEF_BENCH_DATA", DATA_ROOT))
BBC = DATA / "bbc-news-summary" / "News Articles"
CNNDM = DATA / "cnn_dailymail" / "validation.jsonl"
# The shipped model; BRIEF_MODEL_PATH / BRIEF_CARD_PATH point elsewhere (as for the service).
_settings = Settings.load()
NLTK_DATA = resolve(_settings.NLTK_DATA)
MODEL_PATH = resolve(_settings.MODEL_PATH)
CARD_PATH = resolve(_settings.CARD_PATH)
# Article sizes the issue names, in sentences: (low, high) accepted around the target.
SIZES = {"short": (8, 12), "medium": (26, 34), "long": (140, 160), "any": (5, 80)}


def parse_args(description: str, extra=None) -> argparse.Namespace:
    """``--quick`` (a tiny run for the smoke test) and ``--out`` (the JSON path), plus the script's own flags."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="a tiny run that only checks the benchmark works")
    parser.add_argument("--out", type=Path, help="where to write the JSON (default: bench/results/<name>.json)")
    if extra:
        extra(parser)
    return parser.parse_args()


def versions() -> dict:
    import keras
    import tensorflow as tf

    return {"tensorflow": tf.__version__, "keras": keras.__version__}


def write_result(name: str, result: dict, out: Path | None) -> Path:
    path = out or RESULTS / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {path}")
    return path


def percentiles(seconds: list[float]) -> dict:
    """p50/p95/p99/mean/max in milliseconds."""
    a = np.asarray(seconds) * 1e3
    if not len(a):
        return {}
    return {"n": len(a), **{f"p{q}": round(float(np.percentile(a, q)), 2) for q in (50, 95, 99)},
            "mean": round(float(a.mean()), 2), "max": round(float(a.max()), 2)}


def _splitter():
    from app.core.sentences import SentenceSplitter

    return SentenceSplitter(NLTK_DATA)


def raw_texts() -> list[str]:
    """Every BBC article, then every CNN/DailyMail validation article (a fixed order)."""
    texts = [p.read_text(encoding="utf-8", errors="replace") for p in sorted(BBC.glob("*/*.txt"))]
    with open(CNNDM, encoding="utf-8") as f:
        texts += [json.loads(line)["article"] for line in f]
    return texts


def articles(size: str, n: int, skip: int = 0) -> list[str]:
    """``n`` distinct articles of about ``SIZES[size]`` sentences; long ones join neighbouring articles.

    ``skip`` leaves out the first matches, so that two uses in one run do not share articles.
    """
    low, high = SIZES[size]
    splitter = _splitter()
    found: list[str] = []
    pending, pending_n = [], 0
    for text in raw_texts():
        count = len(splitter.split(text))
        if size == "long":
            # blank lines keep the joined articles' sentences apart
            pending.append(text.strip())
            pending_n += count
            if pending_n < low:
                continue
            joined, pending, pending_n = "\n\n".join(pending), [], 0
            if len(splitter.split(joined)) > high:
                continue
            text = joined
        elif not low <= count <= high:
            continue
        if skip:
            skip -= 1
            continue
        found.append(text)
        if len(found) == n:
            return found
    raise RuntimeError(f"only {len(found)} {size} articles in {DATA}")


def sentences_of(texts: list[str]) -> list[list[str]]:
    splitter = _splitter()
    return [[s.text for s in splitter.split(t)] for t in texts]


@dataclass
class Server:
    """A real gunicorn (``gunicorn.conf.py``) serving the shipped model, with the bench's timing header."""

    workers: int
    threads: int = 4
    tf_threads: int = 0  # 0: gunicorn.conf.py's default (cores / workers)
    url: str = ""
    ready_seconds: float = 0.0  # start to every worker ready
    process: subprocess.Popen | None = None
    log: Path = field(default_factory=lambda: Path(f"/tmp/brief-bench-{os.getpid()}-{time.monotonic_ns()}.log"))

    def __enter__(self) -> "Server":
        env = {"BRIEF_WORKERS": str(self.workers), "BRIEF_THREADS": str(self.threads), "BRIEF_ACCESS_LOG": os.devnull,
               "BRIEF_MODEL_PATH": str(MODEL_PATH), "BRIEF_CARD_PATH": str(CARD_PATH),
               "PROMETHEUS_MULTIPROC_DIR": None}  # gunicorn.conf.py makes a fresh one
        if self.tf_threads:
            env["BRIEF_TF_THREADS"] = str(self.tf_threads)
        started = time.perf_counter()
        self.process, self.url = start_gunicorn(self.log, env, app="bench.instrumented:create_app()")
        self._wait_ready(timeout=300)
        self.ready_seconds = time.perf_counter() - started
        return self

    def _wait_ready(self, timeout: float) -> None:
        wait_for_workers(self.url, self.workers, self.process, timeout, lambda: self.log.read_text(errors="replace"))

    def worker_pids(self) -> list[int]:
        return child_pids(self.process.pid)

    def __exit__(self, *exc) -> None:
        stop(self.process)
        self.log.unlink(missing_ok=True)


def server_timing(header: str) -> dict:
    """``Server-Timing: split;dur=1.2, encode;dur=30.1`` -> ``{"split": 1.2, "encode": 30.1}`` (ms)."""
    out = {}
    for part in header.split(","):
        name, _, dur = part.strip().partition(";dur=")
        if dur:
            out[name] = float(dur)
    return out
