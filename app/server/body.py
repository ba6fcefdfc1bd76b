"""Read a request's raw body within its limits: size (413, from Content-Length before reading), time (408), UTF-8 (400).

gunicorn's errors for a broken chunked body, and a client that hangs up, are 400 ``malformed_body``.
A request refused before its body is read (401, 429, 413, ...) still has its body read and dropped,
within the time limit, before the answer goes out (``install``): otherwise gunicorn closes the
connection with the body unread, the kernel resets it, and a client still sending sees a broken
pipe, not the answer.
"""

from __future__ import annotations

import socket
import threading

from flask import Flask, Request, Response, request
from gunicorn.http.errors import ParseException
from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge

from app.errors import APIError

DRAIN_FACTOR = 4  # a body refused as too large is still read (and dropped) up to this many times MAX_CONTENT_LENGTH
READ_TO_ITS_END = "brief.body_read"  # in the WSGI environ once read_body has read the body (or found it cut short)


def read_body(request: Request, timeout: float) -> bytes:
    """The raw body; 413 if it is over ``MAX_CONTENT_LENGTH``, 408 if it is not all sent within ``timeout`` seconds."""
    too_slow = APIError(408, "body_timeout", f"the body was not sent within {timeout:g} seconds")
    with BodyDeadline(request.environ.get("gunicorn.socket"), timeout) as deadline:
        try:
            data = read_limited(request)
        except (ParseException, OSError, ClientDisconnected) as e:
            # gunicorn's errors for a broken chunked body; a dropped client; or our deadline closing the read side
            request.environ[READ_TO_ITS_END] = True  # nothing more to read
            if deadline.expired:
                raise too_slow from e
            raise APIError(400, "malformed_body", f"the body could not be read: {type(e).__name__}") from e
    request.environ[READ_TO_ITS_END] = True
    # gunicorn ends a body cut short (by the client, or by the deadline) quietly: tell it from a whole one.
    if deadline.expired:
        raise too_slow
    if request.content_length is not None and len(data) < request.content_length:
        raise APIError(400, "malformed_body", f"the body ended after {len(data)} of {request.content_length} bytes")
    return data


def install(app: Flask) -> None:
    timeout = app.config["BODY_TIMEOUT"]

    @app.after_request
    def read_the_rest(response: Response) -> Response:
        """Read (and drop) what the handler left of the body, so that the client gets this answer.

        Within the body's time limit, and up to ``DRAIN_FACTOR`` times the size limit: a body over
        that is left unread, and its client sees the connection reset.
        """
        if request.environ.get(READ_TO_ITS_END):
            return response  # the handler read it all: the usual case, with no second deadline
        if request.content_length is None and not request.environ.get("wsgi.input_terminated"):
            return response  # no body
        most = DRAIN_FACTOR * (request.max_content_length or 0)
        if request.content_length is not None and request.content_length > most:
            return response
        stream = request.environ["wsgi.input"]  # gunicorn's: ends at the body's end (Content-Length or chunked)
        with BodyDeadline(request.environ.get("gunicorn.socket"), timeout):
            try:
                while most > 0 and (chunk := stream.read(min(1 << 16, most))):
                    most -= len(chunk)
            except (ParseException, OSError, ValueError):
                pass  # a broken body, or a client gone: the answer goes out (or not) all the same
        return response


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
