"""Errors -> JSON responses ``{"error": {"code": ..., "message": ...}}``: ``APIError``, werkzeug's own, and bugs."""

from __future__ import annotations

import json
import logging

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

from app.errors import APIError

log = logging.getLogger(__name__)


def error_response(status: int, code: str, message: str) -> tuple[Response, int]:
    return jsonify(error={"code": code, "message": message}), status


def handle_api_error(e: APIError) -> tuple[Response, int, dict[str, str]]:
    return (*error_response(e.status, e.code, e.message), e.headers)


def handle_http_exception(e: HTTPException) -> Response:
    """werkzeug's own errors (404, 405, 413 ...) in our JSON shape, keeping headers such as ``Allow``."""
    response = e.get_response()
    code = (e.name or "error").lower().replace(" ", "_")
    response.data = json.dumps({"error": {"code": code, "message": e.description}})
    response.content_type = "application/json"
    return response


def handle_unexpected(e: Exception) -> tuple[Response, int]:
    """Last resort: a bug must still answer in the JSON shape (and leave a traceback in the log)."""
    log.exception("unhandled error")
    return error_response(500, "internal_error", "the server failed to handle this request")


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(APIError, handle_api_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
