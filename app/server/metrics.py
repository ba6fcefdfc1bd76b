"""Prometheus metrics, summed over all gunicorn workers.

Under gunicorn, ``gunicorn.conf.py`` sets ``PROMETHEUS_MULTIPROC_DIR`` before any worker starts:
each worker then writes its values to files there, and ``/metrics`` reads all of them.
Without that variable (tests in one process) the default in-process registry is used.
"""

from __future__ import annotations

import os
import time
import numpy as np
from flask import Flask, g, request
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from app.core.card import SCORE_EDGES  # the model card's drift histogram's bins: live scores are counted in the same


REQUESTS = Counter("brief_requests", "HTTP requests by endpoint, method and status.", ["endpoint", "method", "status"])
LATENCY = Histogram(
    "brief_request_duration_seconds", "Time to answer a request, by endpoint and status.", ["endpoint", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
)
# "method" is the HTTP verb (Prometheus' usual label); "model" what scored an article (lstm or luhn), as in the API.
SENTENCES = Histogram(
    "brief_article_sentences", "Sentences per scored article, by model (lstm or luhn).", ["model"],
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000),
)
FETCHES = Counter("brief_fetches", "Pages fetched for {\"url\": ...} requests, by outcome (ok or the error code).",
                  ["outcome"])
FETCH_SECONDS = Histogram("brief_fetch_duration_seconds", "Time to fetch a page, redirects included.", ["outcome"],
                          buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0))
FETCH_BYTES = Histogram("brief_fetch_bytes", "Bytes of fetched pages.",
                        buckets=(1e3, 1e4, 5e4, 1e5, 2.5e5, 5e5, 1e6, 2e6, 4e6))
SCORES = Histogram("brief_sentence_score", "Predicted sentence scores, by model (lstm or luhn).", ["model"],
                   buckets=SCORE_EDGES[1:])
# One series per live worker (its pid is a label under gunicorn): how it runs the encoder, and how close
# its vectors came to the card's float32 probe vectors at start (app/core/probes.py).
ENCODER = Gauge("brief_encoder_info", "The sentence encoder a worker serves with (1): runtime and precision.",
                ["runtime", "precision"], multiprocess_mode="liveall")
ENCODER_PROBES = Gauge("brief_encoder_probe_min_cosine", "Smallest cosine of the worker's probe vectors to the card's.",
                       multiprocess_mode="liveall")


def registry() -> CollectorRegistry:
    """The registry to read: all workers' values in multiprocess mode, else this process's."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        collected = CollectorRegistry()
        multiprocess.MultiProcessCollector(collected)
        return collected
    return REGISTRY


def render() -> tuple[bytes, str]:
    """The ``/metrics`` body and its content type."""
    return generate_latest(registry()), CONTENT_TYPE_LATEST


def observe_article(model: str, scores: np.ndarray) -> None:
    SENTENCES.labels(model).observe(len(scores))
    histogram = SCORES.labels(model)
    for score in scores:
        histogram.observe(float(score))


def observe_encoder(runtime: str, precision: str, probe_min_cosine: float | None) -> None:
    ENCODER.labels(runtime, precision).set(1)
    if probe_min_cosine is not None:
        ENCODER_PROBES.set(probe_min_cosine)


def observe_fetch(outcome: str, seconds: float, size: int) -> None:
    FETCHES.labels(outcome).inc()
    FETCH_SECONDS.labels(outcome).observe(seconds)
    if outcome == "ok":
        FETCH_BYTES.observe(size)


def score_counts(model: str = "lstm", source: CollectorRegistry | None = None) -> list[int]:
    """Live counts of predicted scores in each of the card's ``SCORE_EDGES`` bins (not cumulative)."""
    cumulative = {edge: 0.0 for edge in SCORE_EDGES[1:]}
    for metric in (source or registry()).collect():
        if metric.name != "brief_sentence_score":
            continue
        for sample in metric.samples:
            if sample.name.endswith("_bucket") and sample.labels.get("model") == model:
                le = float(sample.labels["le"])
                if le in cumulative:
                    cumulative[le] += sample.value
    totals = [int(cumulative[edge]) for edge in SCORE_EDGES[1:]]
    return [b - a for a, b in zip([0, *totals[:-1]], totals)]


def instrument(app: Flask) -> None:
    """Count every request and time it, labelled by route (not raw path, to keep labels few)."""

    @app.before_request
    def start_timer() -> None:
        g.request_started = time.perf_counter()

    @app.after_request
    def record(response):
        endpoint = request.url_rule.rule if request.url_rule else "unmatched"
        status = str(response.status_code)
        REQUESTS.labels(endpoint, request.method, status).inc()
        started = g.get("request_started")
        if started is not None:
            LATENCY.labels(endpoint, status).observe(time.perf_counter() - started)
        return response

