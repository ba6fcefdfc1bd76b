"""Headers for browsers: a strict Content-Security-Policy and friends on every response, and CORS for the API.

The page loads only its own script and stylesheet (``app/static``), with no inline script or
style, so the policy allows nothing else: no other origin, no inline code, no framing.
CORS is off by default: a page on another origin may call the API (its requests still arrive,
as any form post would) but cannot read the answers. ``CORS_ORIGINS`` lists the origins that may
(``https://news.example.org,https://cms.example.org``); ``*`` allows any.
"""

from __future__ import annotations

from flask import Flask, Response, request

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self'",
    "form-action 'self'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
])
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate it
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}
# What a cross-origin page may send, and read back, when its origin is allowed.
CORS_REQUEST_HEADERS = "Authorization, X-API-Key, Content-Type, X-Request-ID"
CORS_EXPOSED_HEADERS = ("X-Request-ID, Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, "
                        "RateLimit-Policy")
CORS_MAX_AGE = "600"  # seconds a browser may reuse a preflight's answer


def parse_origins(setting: str | list | None) -> set[str]:
    """The allowed origins from a comma-separated string (or a JSON list, as env values may be)."""
    items = setting.split(",") if isinstance(setting, str) else (setting or [])
    return {str(item).strip().rstrip("/") for item in items if str(item).strip()}


def add_cors(response: Response, origins: set[str]) -> None:
    """Let an allowed origin read this API answer (and, for a preflight, send its request)."""
    origin = request.headers.get("Origin")
    response.vary.add("Origin")
    if not origin or not ("*" in origins or origin in origins):
        return
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Access-Control-Expose-Headers"] = CORS_EXPOSED_HEADERS
    if request.method == "OPTIONS" and request.headers.get("Access-Control-Request-Method"):
        response.headers["Access-Control-Allow-Methods"] = "GET, POST"
        response.headers["Access-Control-Allow-Headers"] = CORS_REQUEST_HEADERS
        response.headers["Access-Control-Max-Age"] = CORS_MAX_AGE


def install(app: Flask) -> None:
    origins = parse_origins(app.config["CORS_ORIGINS"])

    @app.after_request
    def add_headers(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.path.startswith("/api/") and origins:
            add_cors(response, origins)
        return response
