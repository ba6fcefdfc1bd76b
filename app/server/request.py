"""Read a ``POST /api/evaluate`` request: one article as text/plain or text/html, or JSON (``app.api.schema``).

Status codes: 415 for a content type other than text/plain, text/html or application/json
(UTF-8); 400 for a body that cannot be decoded (not UTF-8, malformed JSON); 408 for a body not
sent in full within ``BODY_TIMEOUT`` seconds; 413 for too large a body or too many articles; 422
for a body that decodes but asks for something invalid (an empty article, a bad ``top``).
"""

from __future__ import annotations

import json

from flask import Request

from app.errors import APIError
from app.server.body import decode_utf8, read_body
from app.api.schema import EvaluateRequest, RequestOptions, read_article, read_json_request, read_options
from app.core.options import Options

CONTENT_TYPES = ("text/plain", "text/html", "application/json")


def parse_evaluate(request: Request, default_top: int, max_articles: int, body_timeout: float) -> EvaluateRequest:
    """The articles and options of an evaluate request, or an ``APIError`` saying what is wrong."""
    if request.mimetype not in CONTENT_TYPES:
        raise APIError(415, "unsupported_media_type", "send the article as text/plain, text/html or "
                       f"application/json, not {request.mimetype or 'no content type'}")
    charset = request.mimetype_params.get("charset", "utf-8").lower()
    if charset not in ("utf-8", "utf8"):
        raise APIError(415, "unsupported_media_type", f"the body must be UTF-8, not {charset}")
    # The query's options are checked before the body is read, and even where the JSON's replace them.
    options = read_options({name: request.args.get(name) for name in RequestOptions.model_fields},
                           Options(top=default_top))
    body = decode_utf8(read_body(request, body_timeout))
    if request.mimetype == "application/json":
        try:
            decoded = json.loads(body)
        except ValueError as e:
            raise APIError(400, "malformed_json", f"the body is not valid JSON: {e}") from e
        return read_json_request(decoded, options, max_articles)
    source = "html" if request.mimetype == "text/html" else "text"
    article = read_article({source: body, "title": request.args.get("title")})
    return EvaluateRequest([article], options, batch=False)
