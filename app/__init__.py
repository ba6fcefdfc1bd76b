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
    "API_KEYS_FILE": "",  # file of key hashes and client names (`brief keys new NAME`); empty: no keys needed
    "PROTECT_OPS": False,  # with keys on, /metrics, /api/model and /api/drift need a key too
    "RATE_LIMIT": "",  # per client, e.g. "60 requests/minute, 20000 sentences/minute"; empty: no limit
    "RATE_LIMIT_STORAGE": "memory://",  # where counts live: memory:// is this process only; redis://host:6379/0 is shared
    "PROXIES": 0,  # reverse proxies in front whose X-Forwarded-For is trusted (0: the peer is the client)
    "CORS_ORIGINS": "",  # origins whose pages may read API answers, comma-separated ("*": any); empty: none
}


def create_app(test_config: dict | None = None) -> Flask:
    # Imported here, not at the top: training imports app.encoder etc. and must not pull in Flask.
    from app import metrics
    from app.errors import register_error_handlers
    from app.openapi import build_spec
    from app.routes import bp
    from app.server import auth, headers, proxy, rate_limits, request_log
    from app.service import BriefService

    app = Flask(__name__)
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env("BRIEF")
    if test_config:
        app.config.from_mapping(test_config)

    app.logger.setLevel(str(app.config["LOG_LEVEL"]).upper())  # app.service logs to this ("app") logger
    register_error_handlers(app)
    # Order matters: each request gets its id first (so even a 401 carries one), then its key is
    # checked, then its budget charged; the request log's line is written last.
    proxy.install(app)
    request_log.install(app)
    auth.install(app)
    rate_limits.install(app)
    headers.install(app)
    metrics.instrument(app)
    app.register_blueprint(bp)
    app.extensions["openapi"] = build_spec(app.config)

    service = BriefService(
        resolve(app.config["MODEL_PATH"]),
        resolve(app.config["CARD_PATH"]),
        resolve(app.config["NLTK_DATA"]),
        app.config["MAX_SENTENCES"],
    )
    app.extensions["brief"] = service
    service.start(background=app.config["LOAD_IN_BACKGROUND"])
    return app


def resolve(path: str | Path) -> Path:
    """A setting's path: absolute as given, or relative to the repository root (not the working directory)."""
    path = Path(path)
    return path if path.is_absolute() else ROOT / path
