"""Brief's app exactly as served, plus a ``Server-Timing`` header that says where a request's time went.

    gunicorn -c gunicorn.conf.py 'bench.instrumented:create_app()'

The header (ms): ``split``, ``encode``, ``featurize``, ``lstm``, ``keywords`` (told by the Summarizer's ``on_stage``
hook, ``app.core.summarizer.STAGES``), and ``app``, the whole Flask handler; ``app`` minus the five is
parsing, building the result and serialising it. What the client measures beyond ``app`` is HTTP and
gunicorn.
"""

from __future__ import annotations

import time

from flask import Flask, g, has_request_context

from app import create_app as create_brief_app
from app.core.summarizer import STAGES


def add_stage_time(stage: str, seconds: float) -> None:
    if has_request_context() and "bench_timings" in g:  # not the warm-up at start
        g.bench_timings[stage] += seconds


def create_app() -> Flask:
    app = create_brief_app(on_stage=add_stage_time)

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
