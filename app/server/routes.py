"""HTTP only: read the request, call one function, answer JSON. The work happens in ``app.server.service``."""

from __future__ import annotations

import os

from flask import Blueprint, Response, current_app, jsonify, render_template, request

from app.server import metrics
from app.server.sample_articles import load_samples
from app.server.rate_limits import admit_sentences
from app.server.request import parse_evaluate
from app.server.service import BriefService

bp = Blueprint("brief", __name__)


def service() -> BriefService:
    return current_app.extensions["brief"]


@bp.get("/")
def index():
    return render_template("index.html", fetch_urls=service().fetch_policy is not None)


@bp.get("/api/health")
def health():
    """Liveness: the process answers (the model may still be loading)."""
    return jsonify(status="ok")


@bp.get("/api/ready")
def ready():
    """Readiness: 503 until the model is loaded, a warm-up prediction ran and the LSTM graphs are compiled."""
    summarizer = service().ready()
    return jsonify(status="ready", model=summarizer.model_id, worker=os.getpid())


@bp.get("/api/model")
def model_card():
    """The card of the model this worker serves, how it runs the encoder, and which model every worker serves."""
    summarizer = service().ready()
    encoder = summarizer.encoder
    serving = {"runtime": encoder.runtime, "precision": encoder.precision, "probe_min_cosine": encoder.probe_min_cosine}
    return jsonify({**summarizer.card.to_dict(), "serving_encoder": serving, "workers": service().workers()})


@bp.post("/api/evaluate")
def evaluate():
    config = current_app.config
    parsed = parse_evaluate(request, config["DEFAULT_TOP"], config["MAX_ARTICLES"], config["BODY_TIMEOUT"])
    results = [r.model_dump(exclude_unset=True) for r in service().highlight(parsed, admit=admit_sentences)]
    return jsonify({"results": results} if parsed.batch else results[0])


@bp.get("/api/drift")
def drift():
    config = current_app.config
    return jsonify(service().drift(config["DRIFT_MIN_SAMPLES"], config["DRIFT_PSI_WARN"], config["DRIFT_PSI_ALERT"]))


@bp.get("/api/samples")
def samples():
    return jsonify(samples=load_samples())


@bp.get("/openapi.json")
def openapi():
    """The OpenAPI 3.1 description of this API (built once, in ``create_app``, from the settings)."""
    return jsonify(current_app.extensions["openapi"])


@bp.get("/metrics")
def prometheus_metrics():
    body, content_type = metrics.render()
    return Response(body, content_type=content_type)
