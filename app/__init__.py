"""Brief's web service. ``create_app`` builds it; gunicorn runs ``gunicorn -c gunicorn.conf.py 'app:create_app()'``.

Every setting is listed in ``DEFAULTS``; each can be overridden by an environment variable with
the ``BRIEF_`` prefix (``BRIEF_MAX_ARTICLES=32``; values are parsed as JSON where they can be).
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent  # relative paths in the settings are from here

DEFAULTS = {
    "MODEL_PATH": "models/brief.h5",  # the trained LSTM
    "CARD_PATH": "models/brief.json",  # its model card: id, sha256, validation score distribution
    "NLTK_DATA": "models/nltk_data",  # the Punkt parameters
    "MAX_CONTENT_LENGTH": 1 << 20,  # bytes of request body; larger is refused (413) before it is read
    "BODY_TIMEOUT": 10,  # seconds a client may take to send its whole body (408 beyond): slow clients hold no thread
    "MAX_ARTICLES": 16,  # articles in one batch request (413 beyond)
    "MAX_SENTENCES": 1000,  # sentences in one request, all articles together (413 beyond)
    "DEFAULT_TOP": 5,  # highlights when the request names no "top" (Brief's "Top Highlights")
    "LOAD_IN_BACKGROUND": True,  # load the model in a thread, so /api/health answers at once
    "DRIFT_MIN_SAMPLES": 200,  # live sentence scores needed before /api/drift gives a verdict
    "DRIFT_PSI_WARN": 0.1,  # population stability index from which the drift status is "warn"
    "DRIFT_PSI_ALERT": 0.25,  # ... and "alert"
    "LOG_LEVEL": "INFO",
    "FETCH_URLS": False,  # fetch pages for {"url": ...} requests (off: 422 url_fetching_off)
    "FETCH_ALLOW": "",  # comma-separated addresses or networks fetched although not public ("127.0.0.1,10.0.0.0/8")
    "FETCH_MAX_BYTES": 2 << 20,  # bytes of a fetched page; larger is refused (413 page_too_large)
    "FETCH_CONNECT_TIMEOUT": 5,  # seconds to connect to a page's server (504 fetch_timeout beyond)
    "FETCH_TIMEOUT": 15,  # seconds for a whole fetch, redirects included (504 fetch_timeout beyond)
}


def create_app(test_config: dict | None = None) -> Flask:
    # Imported here, not at the top: training imports app.encoder etc. and must not pull in Flask.
    from app import metrics
    from app.errors import register_error_handlers
    from app.routes import bp
    from app.server.openapi import build_spec
    from app.service import BriefService

    app = Flask(__name__)
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env("BRIEF")
    if test_config:
        app.config.from_mapping(test_config)

    app.logger.setLevel(str(app.config["LOG_LEVEL"]).upper())  # app.service logs to this ("app") logger
    register_error_handlers(app)
    metrics.instrument(app)
    app.register_blueprint(bp)
    app.extensions["openapi"] = build_spec(app.config)

    service = BriefService(
        resolve(app.config["MODEL_PATH"]),
        resolve(app.config["CARD_PATH"]),
        resolve(app.config["NLTK_DATA"]),
        app.config["MAX_SENTENCES"],
        fetch_policy(app.config),
    )
    app.extensions["brief"] = service
    service.start(background=app.config["LOAD_IN_BACKGROUND"])
    return app


def fetch_policy(config: dict):
    """The URL fetching policy of these settings, or None where fetching is off."""
    from app.ingest.fetch import FetchPolicy

    if str(config["FETCH_URLS"]).strip().lower() not in ("1", "true", "yes", "on"):
        return None
    return FetchPolicy(allow=FetchPolicy.parse_allow(str(config["FETCH_ALLOW"] or "")),
                       max_bytes=int(config["FETCH_MAX_BYTES"]),
                       connect_timeout=float(config["FETCH_CONNECT_TIMEOUT"]),
                       timeout=float(config["FETCH_TIMEOUT"]))


def resolve(path: str | Path) -> Path:
    """A setting's path: absolute as given, or relative to the repository root (not the working directory)."""
    path = Path(path)
    return path if path.is_absolute() else ROOT / path
