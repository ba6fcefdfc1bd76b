"""Every error a client can get: one exception, and the list of its codes with their status and meaning.

Every error the service returns has the body ``{"error": {"code": ..., "message": ...}}``; the code
is one of ``ERROR_CODES`` (a test checks every code raised in ``app/``), whose statuses and meanings
``/openapi.json`` and the README list. ``app.server.error_handlers`` turns errors into responses.
"""

from __future__ import annotations

from dataclasses import dataclass


class APIError(Exception):
    """An error with its HTTP status, a short machine-readable code and a message for people."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}  # e.g. WWW-Authenticate on a 401, Retry-After on a 429


@dataclass(frozen=True)
class ErrorCode:
    status: int
    meaning: str
    evaluate: bool = True  # POST /api/evaluate may answer it whatever the settings


ERROR_CODES = {
    # the request's body (app/server/body.py, app/server/request.py)
    "malformed_body": ErrorCode(400, "the body could not be read, or ended before its Content-Length"),
    "invalid_utf8": ErrorCode(400, "the body, or a string in its JSON, is not valid UTF-8"),
    "malformed_json": ErrorCode(400, "the body is not valid JSON"),
    "body_timeout": ErrorCode(408, "the body was not sent within BODY_TIMEOUT seconds"),
    "body_too_large": ErrorCode(413, "the body is over MAX_CONTENT_LENGTH (refused before it is read)"),
    "unsupported_media_type": ErrorCode(415, "not text/plain, text/html or application/json, or not UTF-8"),
    # what it asks (app/api/schema.py, app/api/highlighter.py)
    "too_many_articles": ErrorCode(413, "more articles in a batch than MAX_ARTICLES"),
    "too_many_sentences": ErrorCode(413, "more sentences than MAX_SENTENCES, or than the client's whole sentence budget"),
    "empty_article": ErrorCode(422, "an article is empty or only whitespace"),
    "no_sentences": ErrorCode(422, "an article has no sentence with a word in it"),
    "invalid_request": ErrorCode(422, "a field is missing, unknown or of the wrong type"),
    "invalid_top": ErrorCode(422, "top is not a positive whole number"),
    "unknown_model": ErrorCode(422, "model is neither lstm nor luhn"),
    "invalid_budget": ErrorCode(422, "more than one of top, words, chars and ratio, or words/chars not a positive whole "
                                     "number, or ratio not in (0, 1]"),
    "invalid_avoid": ErrorCode(422, "avoid names something other than quotes, questions and exclamations"),
    "invalid_keywords": ErrorCode(422, "keywords is not a whole number from 0 to 30"),
    # web pages and URLs (app/ingest/)
    "no_article_text": ErrorCode(422, "no article text was found in the page"),
    "page_too_large": ErrorCode(413, "a page over 10,000 HTML elements, or a fetched one over FETCH_MAX_BYTES"),
    "url_fetching_off": ErrorCode(422, "a URL was sent, but this server does not fetch (FETCH_URLS)"),
    "url_not_allowed": ErrorCode(422, "the URL's scheme or address may not be fetched (not public, not in FETCH_ALLOW)"),
    "not_html": ErrorCode(415, "the fetched page is not HTML"),
    "fetch_failed": ErrorCode(502, "the page could not be fetched (name, connection, an error status, redirects)"),
    "fetch_timeout": ErrorCode(504, "the page did not arrive within FETCH_CONNECT_TIMEOUT / FETCH_TIMEOUT"),
    # the model (app/server/service.py)
    "not_ready": ErrorCode(503, "the model is loading, or could not be loaded (the message says why)"),
    "drift_unavailable": ErrorCode(503, "the model card has no drift reference in the service's score bins", False),
    # on the internet (app/server/auth.py, app/server/rate_limits.py): where keys or limits are on
    "unauthorized": ErrorCode(401, "no API key, or not a valid one", False),
    "rate_limited": ErrorCode(429, "over the client's budget: retry after Retry-After seconds", False),
    "too_many_requests": ErrorCode(413, "one request needs more than the client's whole request budget", False),
    # the HTTP layer (app/server/error_handlers.py)
    "not_found": ErrorCode(404, "no such path", False),
    "method_not_allowed": ErrorCode(405, "the path does not take this method (Allow says which do)", False),
    "internal_error": ErrorCode(500, "a bug: the server failed to handle the request (logged with its traceback)", False),
}


def codes_with(status: int, evaluate_only: bool = False) -> list[str]:
    """The codes of one HTTP status, in the list's order."""
    return [code for code, e in ERROR_CODES.items() if e.status == status and (e.evaluate or not evaluate_only)]
