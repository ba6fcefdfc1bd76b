"""One worker's Brief: loads the Summarizer (after gunicorn forks, before the worker accepts), answers
requests through ``app.api.highlighter`` once ready, and says what it serves (readiness, workers, drift)."""

from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import Callable

from app.api.highlighter import Highlighter
from app.api.schema import EvaluateRequest, Result
from app.core.card import SCORE_BINS, SCORE_EDGES
from app.core.model_file import ModelFileError
from app.core.summarizer import Summarizer
from app.core.weights import EncoderError
from app.errors import APIError
from app.ingest.fetch import FetchedPage, FetchPolicy, fetch_page
from app.server import metrics
from app.server.drift import drift_report
from app.server.workers import list_workers, record_worker

log = logging.getLogger(__name__)

WARM_UP_TEXT = "Brief is starting. This sentence warms up the encoder and the model. It is never shown."


class BriefService:
    """The model of one worker; until it is loaded and warmed up, ``reason`` says why not (loading, or the error)."""

    def __init__(self, model_path: Path, card_path: Path, nltk_data: Path, max_sentences: int,
                 fetch_policy: FetchPolicy | None = None,
                 workers_dir: Path | None = None, on_stage: Callable[[str, float], None] | None = None):
        """``fetch_policy``: what URLs may be fetched, or None where fetching is off; ``on_stage``: see
        ``Summarizer``; ``workers_dir``: where the workers of one server record what they serve."""
        self.paths = (model_path, card_path, nltk_data)
        self.max_sentences = max_sentences
        self.fetch_policy = fetch_policy
        self.workers_dir = workers_dir  # where the workers of one server record what they serve
        self.on_stage = on_stage
        self.summarizer: Summarizer | None = None
        self.highlighter: Highlighter | None = None
        self.reason = "the model is loading"
        self.since = time.time()
        # The request threads of a worker score concurrently: the encoder runs one batch at a time
        # and merges the sentences of requests that wait meanwhile (app.core.encoder.Coalescer); the
        # LSTM's graphs are safe to call from several threads.

    def start(self, background: bool) -> None:
        if background:
            threading.Thread(target=self.load, name="brief-load", daemon=True).start()
        else:
            self.load()

    def load(self) -> None:
        """Load the model, encoder and splitter, run one warm-up prediction, then declare ready."""
        try:
            summarizer = Summarizer(*self.paths, on_stage=self.on_stage)
            summarizer.score_texts([WARM_UP_TEXT])
        except (ModelFileError, EncoderError, OSError) as e:
            self.reason = f"model not loaded: {e}"
            log.error("Brief cannot serve: %s", self.reason)
        except Exception as e:  # e.g. a model whose input width does not fit the featurizer
            # This may run in a thread: without this, /api/ready would say "loading" forever.
            self.reason = f"model not loaded: {type(e).__name__}: {e}"
            log.exception("Brief cannot serve: %s", self.reason)
        else:
            self.highlighter = Highlighter(summarizer, self.max_sentences, self.fetch if self.fetch_policy else None,
                                           observe=metrics.observe_article)
            self.summarizer, self.reason = summarizer, "ready"
            encoder = summarizer.encoder
            metrics.observe_encoder(encoder.runtime, encoder.precision, encoder.probe_min_cosine)
            log.info("Brief ready with model %s", summarizer.model_id)
        self.since = time.time()
        if self.workers_dir is not None:
            record_worker(self.workers_dir, os.getpid(), self.model_id, self.reason)

    @property
    def model_id(self) -> str | None:
        return self.summarizer.model_id if self.summarizer is not None else None

    def workers(self) -> list[dict]:
        """What every worker of this server serves (this process alone when there is no shared folder)."""
        if self.workers_dir is not None:
            return list_workers(self.workers_dir)
        return [{"pid": os.getpid(), "model": self.model_id, "ready": self.summarizer is not None,
                 "status": self.reason, "since": round(self.since, 3)}]

    def ready(self) -> Summarizer:
        """The loaded summarizer, or a 503 saying why there is none yet."""
        if self.summarizer is None:
            raise APIError(503, "not_ready", self.reason)
        return self.summarizer

    def highlight(self, request: EvaluateRequest, admit: Callable[[int], None] = lambda count: None) -> list[Result]:
        """What ``POST /api/evaluate`` answers (``Highlighter.highlight``), or a 503 until the model is loaded.
        (Not ROUGE evaluation: that is ``training/evaluate.py``.)"""
        self.ready()
        return self.highlighter.highlight(request, admit)

    def fetch(self, url: str) -> FetchedPage:
        """``fetch_page`` under this service's policy, counted and timed in ``/metrics``."""
        started = time.perf_counter()
        try:
            page = fetch_page(url, self.fetch_policy)
        except APIError as e:
            metrics.observe_fetch(e.code, time.perf_counter() - started, 0)
            raise
        metrics.observe_fetch("ok", time.perf_counter() - started, len(page.body))
        return page

    def drift(self, min_samples: int, psi_warn: float, psi_alert: float) -> dict:
        """The live LSTM score distribution (all workers) against the card's validation distribution."""
        summarizer = self.ready()
        reference = summarizer.card.validation_scores or {}
        edges = [round(e, 4) for e in reference.get("bin_edges", [])]
        if edges != list(SCORE_EDGES) or len(reference.get("counts", [])) != len(edges) - 1:
            raise APIError(503, "drift_unavailable",
                           f"the model card's validation_scores do not use the service's {SCORE_BINS} score bins on [0, 1]")
        report = drift_report(reference, metrics.score_counts("lstm"),
                              min_samples=min_samples, psi_warn=psi_warn, psi_alert=psi_alert)
        return {"model": summarizer.model_id, **report}
