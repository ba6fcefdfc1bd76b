"""Request ids and the request log: one JSON line per request, to follow a request through the logs.

Every response carries ``X-Request-ID``: the client's own, if it sent a sane one (1 to 128 of
letters, digits and ``-_.:@+=/``), else a new random one. The log line (logger
``brief.requests``, on stderr) holds the id, the client (its key's name, or none), its address,
method, path (never the query or the body: the article text is never logged), status,
sentences scored, milliseconds, this worker's model id and pid.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
import uuid
from datetime import datetime, timezone

from flask import Flask, Response, current_app, g, request

HEADER = "X-Request-ID"
SANE_ID = re.compile(r"[A-Za-z0-9\-_.:@+=/]{1,128}")

log = logging.getLogger("brief.requests")


class StderrHandler(logging.Handler):
    """Writes each record's message alone, to whatever ``sys.stderr`` is when it is written."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(record.getMessage() + "\n")
        except (OSError, ValueError):  # stderr closed: the line is lost, the response is not
            self.handleError(record)


def request_id() -> str:
    """The client's ``X-Request-ID`` if it is sane, else a new one (32 hex digits)."""
    sent = request.headers.get(HEADER, "")
    return sent if SANE_ID.fullmatch(sent) else uuid.uuid4().hex


def log_record(response: Response) -> dict:
    """What the log says about this request and its response."""
    summarizer = current_app.extensions["brief"].summarizer
    started = g.get("request_started_ns")
    return {
        "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
        "request_id": g.request_id,
        "client": g.get("client"),
        "addr": request.remote_addr,
        "method": request.method,
        "path": request.path,
        "status": response.status_code,
        "sentences": g.get("sentences"),
        "ms": round((time.perf_counter_ns() - started) / 1e6, 1) if started else None,
        "model": summarizer.model_id if summarizer else None,
        "worker": os.getpid(),
    }


def install(app: Flask) -> None:
    """Give every request an id, echo it on the response, and log one JSON line when it is answered."""
    if not log.handlers:  # one handler per process, however many apps it builds (tests build many)
        log.addHandler(StderrHandler())
        log.propagate = False
    log.setLevel(logging.INFO)

    @app.before_request
    def assign_id() -> None:
        g.request_started_ns = time.perf_counter_ns()
        g.request_id = request_id()

    @app.after_request
    def log_response(response: Response) -> Response:
        if "request_id" not in g:  # an error before our first hook ran
            g.request_id = request_id()
        response.headers[HEADER] = g.request_id
        log.info(json.dumps(log_record(response)))
        return response
