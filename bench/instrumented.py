"""Brief's app exactly as served, plus a ``Server-Timing`` header that says where a request's time went.

    gunicorn -c gunicorn.conf.py 'bench.instrumented:create_app()'

The header (ms): ``split``, ``encode``, ``featurize``, ``lstm`` (from the Summarizer's own timings),
and ``app``, the whole Flask handler; ``app`` minus the four is parsing, building the result and
serialising it. What the client measures beyond ``app`` is HTTP and gunicorn.
"""

from __future__ import annotations

import functools
import time

from flask import Flask, g, has_request_context

from app import create_app as create_brief_app
from app.summarizer import Summarizer

STAGES = ("split", "encode", "featurize", "lstm")


def _timed_split(split):
    @functools.wraps(split)
    def wrapper(self, text):
        started = time.perf_counter()
        try:
            return split(self, text)
        finally:
            if has_request_context() and "bench_timings" in g:  # not the warm-up at start
                g.bench_timings["split"] += time.perf_counter() - started
    return wrapper


def _timed_score(score_sentences):
    @functools.wraps(score_sentences)
    def wrapper(self, articles, method="lstm"):
        scored = score_sentences(self, articles, method)
        if scored and has_request_context() and "bench_timings" in g:
            for stage in ("encode", "featurize", "lstm"):
                g.bench_timings[stage] += scored[0].timings.get(stage, 0.0)  # one figure for the whole request
        return scored
    return wrapper


def create_app() -> Flask:
    Summarizer.split = _timed_split(Summarizer.split)
    Summarizer.score_sentences = _timed_score(Summarizer.score_sentences)
    app = create_brief_app()

    @app.before_request
    def start() -> None:
        g.bench_started = time.perf_counter()
        g.bench_timings = dict.fromkeys(STAGES, 0.0)

    @app.after_request
    def header(response):
        if "bench_started" in g:
            timings = {**g.bench_timings, "app": time.perf_counter() - g.bench_started}
            response.headers["Server-Timing"] = ", ".join(f"{k};dur={v * 1e3:.3f}" for k, v in timings.items())
        return response

    return app
