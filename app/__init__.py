"""Brief's web service. ``create_app`` builds it; gunicorn runs ``gunicorn -c gunicorn.conf.py 'app:create_app()'``.

``highlight`` scores one article (text or a web page's HTML) in this process, for use from Python.

Every setting is a field of ``app.settings.Settings``; each can be set by an environment variable
with the ``BRIEF_`` prefix (``BRIEF_MAX_ARTICLES=32``), checked at start.
"""

from __future__ import annotations

import functools
from typing import Callable

from app.settings import ROOT, Settings, resolve

__all__ = ["ROOT", "Settings", "create_app", "highlight"]


def create_app(test_config: dict | None = None, on_stage: Callable[[str, float], None] | None = None):
    """The Flask app: settings from ``BRIEF_`` variables, then ``test_config``; the model loaded (see
    ``LOAD_IN_BACKGROUND``). ``on_stage(stage, seconds)`` hears how long each stage of scoring took
    (``app.core.summarizer.STAGES``; the benchmark's ``Server-Timing`` header)."""
    # Imported here, not at the top: training imports app.core and must not pull in Flask.
    from flask import Flask

    from app.server import metrics
    from app.server.error_handlers import register_error_handlers
    from app.server.routes import bp
    from app.server import auth, body, headers, proxy, rate_limits, request_log
    from app.server.openapi import build_spec
    from app.server.service import BriefService

    settings = Settings.load(overrides=test_config)
    app = Flask(__name__)
    app.config.from_mapping(settings.as_config())
    # test_config may also hold Flask's own keys (TESTING)
    app.config.from_mapping({k: v for k, v in (test_config or {}).items() if not hasattr(settings, k)})
    app.extensions["settings"] = settings
    app.logger.setLevel(settings.LOG_LEVEL.upper())  # app.server.service logs to this ("app") logger
    register_error_handlers(app)
    # Order matters: each request gets its id first (so even a 401 carries one), then its key is
    # checked, then its budget charged; the request log's line is written last, and after it a body
    # the handler left unread is read (after_request hooks run in the reverse order).
    body.install(app)
    proxy.install(app)
    request_log.install(app)
    auth.install(app)
    rate_limits.install(app)
    headers.install(app)
    metrics.instrument(app)
    app.register_blueprint(bp)
    app.extensions["openapi"] = build_spec(app.config)

    service = BriefService(
        resolve(settings.MODEL_PATH),
        resolve(settings.CARD_PATH),
        resolve(settings.NLTK_DATA),
        settings.MAX_SENTENCES,
        fetch_policy(settings),
        workers_dir=resolve(settings.WORKERS_DIR) if settings.WORKERS_DIR else None,
        on_stage=on_stage,
    )
    app.extensions["brief"] = service
    service.start(background=settings.LOAD_IN_BACKGROUND)
    return app


@functools.cache
def local_highlighter(fetch_any_address: bool = False):
    """An ``app.api.highlighter.Highlighter`` in this process (``app.highlight``, ``brief highlight``),
    loaded once from the same settings as the service, without Flask.

    ``fetch_any_address``: fetch URLs, from any address (the command line fetches for its own user,
    as curl would); otherwise it does not fetch. A model that cannot load raises the service's
    ``APIError`` 503 ``not_ready``, saying why.
    """
    from app.ingest.fetch import FetchPolicy

    settings = Settings.load()
    policy = None
    if fetch_any_address:
        policy = FetchPolicy(allow=FetchPolicy.parse_allow("0.0.0.0/0,::/0"), max_bytes=settings.FETCH_MAX_BYTES,
                             connect_timeout=settings.FETCH_CONNECT_TIMEOUT, timeout=settings.FETCH_TIMEOUT)
    return load_highlighter(settings, policy)


def load_highlighter(settings: Settings, policy=None):
    """A new ``app.api.highlighter.Highlighter`` of these settings' model that fetches URLs under ``policy``
    (an ``app.ingest.fetch.FetchPolicy``; None: it does not fetch). ``local_highlighter`` keeps one;
    ``brief batch`` loads one in each Ray actor with the service's policy (``fetch_policy``).
    A model that cannot load raises the service's ``APIError`` 503 ``not_ready``, saying why."""
    from app.api.highlighter import Highlighter
    from app.core.model_file import ModelFileError
    from app.core.summarizer import Summarizer
    from app.core.weights import EncoderError
    from app.errors import APIError
    from app.ingest.fetch import fetch_page

    fetch = functools.partial(fetch_page, policy=policy) if policy else None
    try:
        summarizer = Summarizer(resolve(settings.MODEL_PATH), resolve(settings.CARD_PATH), resolve(settings.NLTK_DATA))
    except (ModelFileError, EncoderError, OSError) as e:
        raise APIError(503, "not_ready", f"model not loaded: {e}") from None
    return Highlighter(summarizer, settings.MAX_SENTENCES, fetch)


def highlight(document: str, top: int | None = None, model: str | None = None, title: str | None = None, *,
              words: int | None = None, chars: int | None = None, ratio: float | None = None,
              avoid: list[str] | str | None = None, keywords: int | None = None) -> dict:
    """Score one article, plain text or a web page's HTML (told apart as ``brief highlight`` does), in this process.

    The options are the API's (``app.api.schema.RequestOptions``); unset, they take the service's defaults.
    At most one budget: ``top``, ``words``, ``chars`` or ``ratio``; ``avoid`` a list (or comma-separated) of
    quotes, questions, exclamations; ``keywords`` how many key phrases to add.

    Returns what ``POST /api/evaluate`` answers, as a dict; bad input raises ``app.errors.APIError``
    (its ``status``, ``code`` and ``message`` are the API's). The model loads on the first call.
    """
    from app.api.schema import EvaluateRequest, read_article, read_options
    from app.core.options import Options
    from app.ingest.extraction import looks_like_html

    article = read_article({"html" if looks_like_html(document) else "text": document, "title": title})
    options = read_options({"top": top, "model": model, "words": words, "chars": chars, "ratio": ratio,
                            "avoid": avoid, "keywords": keywords}, Options(top=Settings.load().DEFAULT_TOP))
    request = EvaluateRequest([article], options, batch=False)
    return local_highlighter().highlight(request)[0].model_dump(exclude_unset=True)


def fetch_policy(settings: Settings):
    """The URL fetching policy of these settings, or None where fetching is off."""
    from app.ingest.fetch import FetchPolicy

    if not settings.FETCH_URLS:
        return None
    return FetchPolicy(allow=FetchPolicy.parse_allow(settings.FETCH_ALLOW), max_bytes=settings.FETCH_MAX_BYTES,
                       connect_timeout=settings.FETCH_CONNECT_TIMEOUT, timeout=settings.FETCH_TIMEOUT)
