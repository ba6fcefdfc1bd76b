"""Read and validate a ``POST /api/evaluate`` body: one article (text/plain or JSON) or a batch (JSON).

Status codes: 415 for a content type other than text/plain or application/json (UTF-8),
400 for a body that cannot be decoded (not UTF-8, malformed JSON), 408 for a body not sent in
full within ``BODY_TIMEOUT`` seconds, 413 for too many articles, 422 for a body that decodes but asks
for something invalid (an empty article, a bad ``top``).
The body size limit (413) is checked from Content-Length before the body is read.
"""

from __future__ import annotations

import json
import socket
import threading
from dataclasses import dataclass

from flask import Request
from gunicorn.http.errors import ParseException
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge

from app.errors import APIError
from app.summarizer import METHODS

CONTENT_TYPES = ("text/plain", "application/json")


@dataclass
class Article:
    text: str
    title: str | None = None


@dataclass
class EvaluateRequest:
    articles: list[Article]
    top: int
    method: str
    batch: bool  # answer {"results": [...]} rather than one result


def parse_evaluate(request: Request, default_top: int, max_articles: int, body_timeout: float) -> EvaluateRequest:
    """The articles and options of an evaluate request, or an ``APIError`` saying what is wrong."""
    if request.mimetype not in CONTENT_TYPES:
        raise APIError(415, "unsupported_media_type",
                       f"send the article as text/plain or application/json, not {request.mimetype or 'no content type'}")
    charset = request.mimetype_params.get("charset", "utf-8").lower()
    if charset not in ("utf-8", "utf8"):
        raise APIError(415, "unsupported_media_type", f"the body must be UTF-8, not {charset}")
    # The query's options are checked before the body is read, and even where the JSON's replace them.
    top = read_top(request.args.get("top", default_top), parse=True)
    method = read_method(request.args.get("model", "lstm"))
    body = decode_utf8(read_body(request, body_timeout))
    options: dict = {}
    if request.mimetype == "text/plain":
        articles, batch = [Article(body, request.args.get("title"))], False
    else:
        options = parse_json(body)
        batch = "articles" in options
        articles = read_articles(options["articles"], max_articles) if batch else [read_article(options, "the body")]
    for i, article in enumerate(articles):
        if not article.text.strip():
            where = f"article {i}" if batch else "the article"
            raise APIError(422, "empty_article", f"{where} is empty or only whitespace")
    if "top" in options:
        top = read_top(options["top"])
    if "model" in options:
        method = read_method(options["model"])
    return EvaluateRequest(articles, top, method, batch)


def read_body(request: Request, timeout: float) -> bytes:
    """The raw body; 413 if it is over ``MAX_CONTENT_LENGTH``, 408 if it is not all sent within ``timeout`` seconds."""
    too_slow = APIError(408, "body_timeout", f"the body was not sent within {timeout:g} seconds")
    with BodyDeadline(request.environ.get("gunicorn.socket"), timeout) as deadline:
        try:
            data = read_limited(request)
        except (ParseException, OSError, ClientDisconnected) as e:
            # gunicorn's errors for a broken chunked body; a dropped client; or our deadline closing the read side
            if deadline.expired:
                raise too_slow from e
            raise APIError(400, "malformed_body", f"the body could not be read: {type(e).__name__}") from e
    # gunicorn ends a body cut short (by the client, or by the deadline) quietly: tell it from a whole one.
    if deadline.expired:
        raise too_slow
    if request.content_length is not None and len(data) < request.content_length:
        raise APIError(400, "malformed_body", f"the body ended after {len(data)} of {request.content_length} bytes")
    return data


def read_limited(request: Request) -> bytes:
    """The raw body, or 413 if it is over ``MAX_CONTENT_LENGTH`` (checked before reading when there is a Content-Length)."""
    limit = request.max_content_length
    too_large = APIError(413, "body_too_large", f"the body is larger than the limit of {limit} bytes")
    try:
        if request.content_length is None and request.environ.get("wsgi.input_terminated") and limit is not None:
            # Chunked: werkzeug would quietly cut the body at the limit; read one byte more to tell.
            data = request.input_stream.read(limit + 1)
            if len(data) > limit:
                raise too_large
            return data
        return request.get_data(cache=False)  # werkzeug refuses a Content-Length over the limit unread
    except RequestEntityTooLarge as e:
        raise too_large from e


class BodyDeadline:
    """Stops reading the body after ``timeout`` seconds, so a slow client cannot hold a request thread.

    gunicorn's gthread worker reads the body in the request thread with no time limit, and a
    socket timeout would bound each ``recv`` only (a client trickling a byte a second never
    trips it). At the deadline a timer shuts the socket's read side, which ends the blocked
    read at once; the response can still be written.
    """

    def __init__(self, sock: socket.socket | None, timeout: float):
        self.expired = False
        self._sock = sock
        self._timer = threading.Timer(timeout, self._expire) if sock is not None and timeout > 0 else None

    def _expire(self) -> None:
        self.expired = True
        try:
            self._sock.shutdown(socket.SHUT_RD)
        except OSError:  # already closed by the client
            pass

    def __enter__(self) -> "BodyDeadline":
        if self._timer:
            self._timer.daemon = True
            self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._timer:
            self._timer.cancel()


def decode_utf8(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise APIError(400, "invalid_utf8", f"the body is not valid UTF-8 (byte {e.start})") from e


def parse_json(body: str) -> dict:
    try:
        options = json.loads(body)
    except ValueError as e:
        raise APIError(400, "malformed_json", f"the body is not valid JSON: {e}") from e
    if not isinstance(options, dict):
        raise APIError(422, "invalid_request", 'the JSON body must be an object: {"text": ...} or {"articles": [...]}')
    return options


def read_articles(items, max_articles: int) -> list[Article]:
    if not isinstance(items, list) or not items:
        raise APIError(422, "invalid_request", '"articles" must be a non-empty list of {"text": ...} objects')
    if len(items) > max_articles:
        raise APIError(413, "too_many_articles", f"{len(items)} articles in one request; the limit is {max_articles}")
    return [read_article(item, f"article {i}") for i, item in enumerate(items)]


def read_article(item, where: str) -> Article:
    if not isinstance(item, dict) or not isinstance(item.get("text"), str):
        raise APIError(422, "invalid_request", f'{where} must be an object with a string "text"')
    text, title = item["text"], item.get("title")
    if title is not None and not isinstance(title, str):
        raise APIError(422, "invalid_request", f'the "title" of {where} must be a string')
    try:
        text.encode("utf-8")  # JSON escapes can smuggle in lone surrogates, which no encoder accepts
    except UnicodeEncodeError as e:
        raise APIError(400, "invalid_utf8", f"the text of {where} is not valid Unicode (position {e.start})") from e
    return Article(text, title)


def read_top(value, parse: bool = False) -> int:
    """A positive whole number; ``parse`` reads it from a string too (the query's), while JSON must send a number."""
    if isinstance(value, float) and value.is_integer():  # JSON's 3.0 is a whole number too
        value = int(value)
    if parse and isinstance(value, str):
        try:
            value = int(value)
        except ValueError:
            pass
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise APIError(422, "invalid_top", f"top must be a positive whole number, not {value!r}")
    return value


def read_method(value) -> str:
    if value not in METHODS:
        raise APIError(422, "unknown_model", f"model must be one of {list(METHODS)}, not {value!r}")
    return value
