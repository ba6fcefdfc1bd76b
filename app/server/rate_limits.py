"""Rate limits: a budget of requests and of sentences per client and time window, with 429 beyond it.

``RATE_LIMIT`` is off when empty; else it lists one or both budgets, e.g. ``"60 requests/minute,
20000 sentences/minute"`` (any ``N/[M] second|minute|hour`` the ``limits`` library reads). A client
is its API key's name, or its address when keys are off. What needs a key (``app.server.auth``) is
what is counted: ``/api/evaluate``, and the ops endpoints when ``PROTECT_OPS`` is on.

The counts live in ``RATE_LIMIT_STORAGE``. ``memory://`` (the default) counts in this process only:
right for one process, but under gunicorn each worker then grants the whole budget. For several
workers or replicas point them all at one Redis (``redis://host:6379/0``): every worker and
replica then draws on the same budget. Windows move (a request counts for exactly one window's
length after it), and a refused request costs nothing.

If the store cannot be reached, requests are let through (and the failure logged): losing the
limits for a while is better than refusing every client.
"""

from __future__ import annotations

import logging
import math
import re
import time
from dataclasses import dataclass

from flask import Flask, Response, current_app, g, request
from limits import RateLimitItem, parse
from limits.errors import StorageError
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from app.errors import APIError
from app.server.auth import needs_key

log = logging.getLogger(__name__)

BUDGET = re.compile(r"\s*(\d+)\s+(requests|sentences)\s*/\s*(.+?)\s*")
STORE_TIMEOUT = 2.0  # seconds to wait for Redis before letting the request through


@dataclass
class Usage:
    """Where one client stands with one budget, after this request."""

    limit: RateLimitItem
    remaining: int
    reset: float  # epoch seconds when the oldest counted use leaves the window

    def seconds_to_reset(self) -> int:
        return max(1, math.ceil(self.reset - time.time()))


def parse_budgets(text: str) -> dict[str, RateLimitItem]:
    """``{"requests": ..., "sentences": ...}`` from ``"60 requests/minute, 20000 sentences/minute"``."""
    budgets = {}
    for part in filter(str.strip, text.split(",")):
        match = BUDGET.fullmatch(part)
        if not match or match[2] in budgets:
            raise ValueError(f"RATE_LIMIT: expected 'N requests/PERIOD' and/or 'N sentences/PERIOD', not {part.strip()!r}")
        try:
            budgets[match[2]] = parse(f"{match[1]}/{match[3]}")
        except ValueError as e:
            raise ValueError(f"RATE_LIMIT: cannot read the period of {part.strip()!r}: {e}") from e
        if budgets[match[2]].amount < 1:
            raise ValueError(f"RATE_LIMIT: a budget of 0 {match[2]} would refuse everything: {part.strip()!r}")
    return budgets


class RateLimiter:
    """The budgets, and the store that counts each client's use of them."""

    def __init__(self, budgets: dict[str, RateLimitItem], storage_uri: str):
        options = {"socket_timeout": STORE_TIMEOUT, "socket_connect_timeout": STORE_TIMEOUT} \
            if storage_uri.startswith(("redis://", "rediss://", "unix://")) else {}
        self.budgets = budgets
        self.counter = MovingWindowRateLimiter(storage_from_string(storage_uri, wrap_exceptions=True, **options))
        self.storage_uri = storage_uri

    def charge(self, kind: str, client: str, cost: int) -> Usage | None:
        """Counts ``cost`` against the client's budget of this kind; 429 (or 413) when it does not fit."""
        limit = self.budgets.get(kind)
        if limit is None or cost <= 0:
            return None
        if cost > limit.amount:  # waiting would never help
            raise APIError(413, f"too_many_{kind}",
                           f"this request alone needs {cost} {kind}; the budget is {limit.amount} per "
                           f"{limit.get_expiry()} s")
        try:
            allowed = self.counter.hit(limit, kind, client, cost=cost)
            reset, remaining = self.counter.get_window_stats(limit, kind, client)
        except StorageError as e:
            log.error("rate limits not applied: the store %s failed: %s", self.storage_uri, e.storage_error)
            return None
        usage = Usage(limit, max(0, remaining), reset)
        if not allowed:
            wait = usage.seconds_to_reset()
            raise APIError(429, "rate_limited",
                           f"over the budget of {limit.amount} {kind} per {limit.get_expiry()} s: retry in {wait} s",
                           {"Retry-After": str(wait), **headers(usage, self.budgets)})
        return usage


def client_id() -> str:
    """Whom to count: the API key's client name, or the address the request came from."""
    client = g.get("client")
    return f"key:{client}" if client else f"addr:{request.remote_addr}"


def headers(usage: Usage, budgets: dict[str, RateLimitItem]) -> dict[str, str]:
    """The ``RateLimit-*`` fields (IETF httpapi draft): the budget nearest exhaustion, and every policy."""
    policy = ", ".join(f'{item.amount};w={item.get_expiry()};comment="{kind}"' for kind, item in budgets.items())
    return {"RateLimit-Limit": str(usage.limit.amount), "RateLimit-Remaining": str(usage.remaining),
            "RateLimit-Reset": str(usage.seconds_to_reset()), "RateLimit-Policy": policy}


def note_usage(usage: Usage | None) -> None:
    """Keep the budget nearest exhaustion for this request's ``RateLimit-*`` headers."""
    if usage is None:
        return
    shown = g.get("rate_usage")
    if shown is None or usage.remaining / usage.limit.amount <= shown.remaining / shown.limit.amount:
        g.rate_usage = usage


def admit_sentences(count: int) -> None:
    """Called with an evaluate request's sentence count before they are scored: noted for the request
    log, and charged to the client's sentence budget (429 when over it)."""
    g.sentences = count
    limiter: RateLimiter | None = current_app.extensions.get("rate_limiter")
    if limiter is not None:
        note_usage(limiter.charge("sentences", client_id(), count))


def install(app: Flask) -> None:
    """Count requests (and, through ``admit_sentences``, sentences) if ``RATE_LIMIT`` sets a budget."""
    budgets = parse_budgets(app.config["RATE_LIMIT"] or "")
    if not budgets:
        return
    limiter = RateLimiter(budgets, app.config["RATE_LIMIT_STORAGE"])
    app.extensions["rate_limiter"] = limiter
    if limiter.storage_uri.startswith("memory://"):
        log.warning("rate limits are counted in this process only (RATE_LIMIT_STORAGE=memory://): "
                    "with several workers or replicas each grants the whole budget; use redis://")
    protect_ops = bool(app.config["PROTECT_OPS"])

    @app.before_request
    def charge_request() -> None:
        if request.method != "OPTIONS" and needs_key(request.endpoint, protect_ops):
            note_usage(limiter.charge("requests", client_id(), 1))

    @app.after_request
    def add_headers(response: Response) -> Response:
        usage = g.get("rate_usage")
        if usage is not None and response.status_code != 429:  # a 429 carries its own
            response.headers.update(headers(usage, limiter.budgets))
        return response
