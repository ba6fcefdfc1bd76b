"""Brief's web service. ``create_app`` builds it; gunicorn runs ``gunicorn -c gunicorn.conf.py 'app:create_app()'``.

``highlight`` scores one article (text or a web page's HTML) in this process, for use from Python.

Every setting is listed in ``DEFAULTS``; each can be overridden by an environment variable with
the ``BRIEF_`` prefix (``BRIEF_MAX_ARTICLES=32``; values are parsed as JSON where they can be).
"""

from __future__ import annotations

import functools
from pathlib import Path

from flask import Config, Flask

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
    "LOAD_IN_BACKGROUND": False,  # True: load in a thread and answer 503 meanwhile; False: a gunicorn worker takes no request before it is ready
    "WORKERS_DIR": "",  # folder where each worker records the model it serves (GET /api/model); gunicorn.conf.py sets one
    "DRIFT_MIN_SAMPLES": 200,  # live sentence scores needed before /api/drift gives a verdict
    "DRIFT_PSI_WARN": 0.1,  # population stability index from which the drift status is "warn"
    "DRIFT_PSI_ALERT": 0.25,  # ... and "alert"
    "LOG_LEVEL": "INFO",
    "FETCH_URLS": False,  # fetch pages for {"url": ...} requests (off: 422 url_fetching_off)
    "FETCH_ALLOW": "",  # comma-separated addresses or networks fetched although not public ("127.0.0.1,10.0.0.0/8")
    "FETCH_MAX_BYTES": 2 << 20,  # bytes of a fetched page; larger is refused (413 page_too_large)
    "FETCH_CONNECT_TIMEOUT": 5,  # seconds to connect to a page's server (504 fetch_timeout beyond)
    "FETCH_TIMEOUT": 15,  # seconds for a whole fetch, redirects included (504 fetch_timeout beyond)
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
    from app.routes import bp
    from app.server import auth, headers, proxy, rate_limits, request_log
    from app.server.openapi import build_spec
    from app.service import BriefService

    app = Flask(__name__)
    read_settings(app.config, test_config)
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
        fetch_policy(app.config),
        workers_dir=resolve(app.config["WORKERS_DIR"]) if app.config["WORKERS_DIR"] else None,
    )
    app.extensions["brief"] = service
    service.start(background=app.config["LOAD_IN_BACKGROUND"])
    return app


def read_settings(config: Config, overrides: dict | None = None) -> Config:
    """``DEFAULTS``, then ``BRIEF_`` environment variables, then ``overrides``."""
    config.from_mapping(DEFAULTS)
    config.from_prefixed_env("BRIEF")
    if overrides:
        config.from_mapping(overrides)
    return config


@functools.cache
def local_service(fetch_any_address: bool = False):
    """A ``BriefService`` in this process (the Python API, ``brief highlight``), loaded once, from the same settings.

    ``fetch_any_address``: fetch URLs, from any address (the command line fetches for its own user,
    as curl would); otherwise this service does not fetch.
    """
    from app.ingest.fetch import FetchPolicy
    from app.service import BriefService

    config = read_settings(Config(str(ROOT)))
    policy = None
    if fetch_any_address:
        policy = FetchPolicy(allow=FetchPolicy.parse_allow("0.0.0.0/0,::/0"), max_bytes=int(config["FETCH_MAX_BYTES"]),
                             connect_timeout=float(config["FETCH_CONNECT_TIMEOUT"]),
                             timeout=float(config["FETCH_TIMEOUT"]))
    service = BriefService(resolve(config["MODEL_PATH"]), resolve(config["CARD_PATH"]), resolve(config["NLTK_DATA"]),
                           config["MAX_SENTENCES"], policy, xla=False)
    service.start(background=False)
    service.ready()  # the reason it is not, if it is not
    return service


def highlight(document: str, top: int = 5, model: str = "lstm", title: str | None = None) -> dict:
    """Score one article, plain text or a web page's HTML (told apart as ``brief highlight`` does), in this process.

    Returns what ``POST /api/evaluate`` answers, as a dict; bad input raises ``app.errors.APIError``
    (its ``status``, ``code`` and ``message`` are the API's). The model loads on the first call.
    """
    from app.ingest.extraction import looks_like_html
    from app.server.schema import EvaluateRequest, read_article

    article = read_article({"html" if looks_like_html(document) else "text": document, "title": title})
    request = EvaluateRequest([article], top, model, batch=False)
    return local_service().evaluate(request)[0].model_dump(exclude_unset=True)


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
