"""The OpenAPI 3 description of Brief's HTTP API, served at ``GET /openapi.json``.

Built from the app's settings, so the limits it states (articles per batch, body size) are the
ones the service enforces. ``tests/test_openapi.py`` runs schemathesis against it.
"""

from __future__ import annotations

from flask import Config

from app.summarizer import METHODS

ERROR = {
    "type": "object",
    "description": "Every error has this shape; ``code`` is stable and machine-readable, ``message`` is for people.",
    "required": ["error"],
    "additionalProperties": False,
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "additionalProperties": False,
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        }
    },
}

SCORED_SENTENCE = {
    "type": "object",
    "required": ["index", "sent", "score", "start", "end", "scroll"],
    "additionalProperties": False,
    "properties": {
        "index": {"type": "integer", "minimum": 0, "description": "position in the article (0 = first sentence)"},
        "sent": {"type": "string", "description": "the sentence, exactly ``text[start:end]``"},
        "score": {"type": "number", "minimum": 0, "maximum": 1},
        "start": {"type": "integer", "minimum": 0, "description": "offset in Unicode code points"},
        "end": {"type": "integer", "minimum": 0},
        "scroll": {"type": "number", "minimum": 0, "maximum": 100,
                   "description": "where the sentence starts, as a percentage of the article"},
    },
}

RESULT = {
    "type": "object",
    "required": ["model", "title", "scored_article_sentences", "highlights"],
    "additionalProperties": False,
    "properties": {
        "model": {"type": "string", "description": "the model card's id, or the other method's name"},
        "title": {"type": ["string", "null"]},
        "scored_article_sentences": {"type": "array", "minItems": 1, "items": {"$ref": "#/components/schemas/ScoredSentence"},
                                     "description": "best first; ties in document order"},
        "highlights": {"type": "array", "items": {"type": "integer", "minimum": 0},
                       "description": "indices of the top sentences, in document order"},
    },
}

TOP = {"type": "integer", "minimum": 1, "description": "how many highlights (default 5)"}
METHOD = {"type": "string", "enum": list(METHODS), "description": "the trained LSTM, or Luhn's method"}


# Where API keys and rate limits apply (app.server.auth.needs_key): evaluate, and the ops endpoints
# when PROTECT_OPS is on.
GUARDED_PATHS = ("/api/evaluate",)
OPS_PATHS = ("/metrics", "/api/model", "/api/drift")
SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer KEY"},
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
}


def build_spec(config: Config) -> dict:
    """The OpenAPI 3.1 document for an app with these settings."""
    spec = build_open_spec(config)
    add_access_rules(spec, config)
    return spec


def add_access_rules(spec: dict, config: Config) -> None:
    """The key requirement (401) and the rate limits (429) where the settings turn them on."""
    guarded = GUARDED_PATHS + (OPS_PATHS if config["PROTECT_OPS"] else ())
    keys, limits = bool(config["API_KEYS_FILE"]), bool(config["RATE_LIMIT"])
    if keys:
        spec["components"]["securitySchemes"] = SECURITY_SCHEMES
    for path in guarded:
        for operation in spec["paths"][path].values():
            if keys:
                operation["security"] = [{"bearer": []}, {"apiKey": []}]
                operation["responses"]["401"] = {
                    **error_response("no API key, or not a valid one: unauthorized"),
                    "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}}}
            if limits:
                operation["responses"]["429"] = {
                    **error_response(f"over the client's budget ({config['RATE_LIMIT']}): rate_limited"),
                    "headers": {"Retry-After": {"schema": {"type": "integer", "minimum": 1},
                                                "description": "seconds to wait before trying again"}}}
            if limits and path == "/api/evaluate":
                operation["responses"]["413"]["description"] += ", too_many_sentences for the client's whole budget"


def build_open_spec(config: Config) -> dict:
    """The document for the service with keys and rate limits off."""
    article = {
        "type": "object",
        "required": ["text"],
        "properties": {
            "text": {"type": "string", "minLength": 1, "description": "the article; must hold a word"},
            "title": {"type": ["string", "null"]},
        },
    }
    single = {**article, "properties": {**article["properties"], "top": TOP, "model": METHOD},
              "not": {"required": ["articles"]}}  # a body with "articles" is a batch, whatever else it holds
    batch = {
        "type": "object",
        "required": ["articles"],
        "properties": {
            "articles": {"type": "array", "minItems": 1, "maxItems": config["MAX_ARTICLES"], "items": article},
            "top": TOP,
            "model": METHOD,
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Brief",
            "version": "1",
            "description": "Scores every sentence of an article by how likely it belongs in a human summary.",
        },
        "paths": {
            "/api/evaluate": {"post": evaluate_operation(config, single, batch)},
            "/api/health": {"get": {
                "summary": "Liveness: the process answers (the model may still be loading)",
                "responses": {"200": json_response("alive", {
                    "type": "object", "required": ["status"], "additionalProperties": False,
                    "properties": {"status": {"const": "ok"}}})},
            }},
            "/api/ready": {"get": {
                "summary": "Readiness: 200 once this worker's model is loaded and warmed up",
                "responses": {
                    "200": json_response("ready", {
                        "type": "object", "required": ["status", "model", "worker"], "additionalProperties": False,
                        "properties": {"status": {"const": "ready"}, "model": {"type": "string"},
                                       "worker": {"type": "integer", "description": "the answering worker's pid"}}}),
                    "503": error_response("not ready: loading, or why the model could not be loaded (code not_ready)"),
                },
            }},
            "/api/model": {"get": {
                "summary": "The model card of the loaded model",
                "responses": {
                    "200": json_response("the card", {"type": "object", "required": ["id"],
                                                      "properties": {"id": {"type": "string"}}}),
                    "503": error_response("not ready"),
                },
            }},
            "/api/drift": {"get": {
                "summary": "Live LSTM score distribution (all workers) against the card's validation distribution",
                "responses": {
                    "200": json_response("drift report", {
                        "type": "object",
                        "required": ["model", "status", "n", "reference_n", "psi", "ks", "ks_pvalue", "thresholds",
                                     "bin_edges", "live", "reference"],
                        "properties": {
                            "model": {"type": "string"},
                            "status": {"enum": ["ok", "warn", "alert", "insufficient_data"]},
                            "n": {"type": "integer", "minimum": 0},
                            "reference_n": {"type": "integer", "minimum": 0},
                            "psi": {"type": ["number", "null"], "minimum": 0},
                            "ks": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
                            "ks_pvalue": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
                            "thresholds": {"type": "object"},
                            "bin_edges": {"type": "array", "items": {"type": "number"}, "minItems": 21, "maxItems": 21},
                            "live": {"$ref": "#/components/schemas/Histogram"},
                            "reference": {"$ref": "#/components/schemas/Histogram"},
                        },
                    }),
                    "503": error_response("not ready (not_ready), or the card has no usable reference (drift_unavailable)"),
                },
            }},
            "/api/samples": {"get": {
                "summary": "The sample articles bundled with the reader page",
                "responses": {"200": json_response("samples", {
                    "type": "object", "required": ["samples"],
                    "properties": {"samples": {"type": "array", "items": {
                        "type": "object", "required": ["id", "title", "text"],
                        "properties": {"id": {"type": "string"}, "title": {"type": "string"},
                                       "text": {"type": "string"}}}}}})},
            }},
            "/metrics": {"get": {
                "summary": "Prometheus metrics, summed over all workers",
                "responses": {"200": {"description": "Prometheus text format",
                                      "content": {"text/plain": {"schema": {"type": "string"}}}}},
            }},
            "/openapi.json": {"get": {
                "summary": "This document",
                "responses": {"200": json_response("OpenAPI 3.1", {"type": "object", "required": ["openapi", "paths"]})},
            }},
            "/": {"get": {
                "summary": "The reader page",
                "responses": {"200": {"description": "HTML", "content": {"text/html": {"schema": {"type": "string"}}}}},
            }},
        },
        "components": {
            "schemas": {
                "Error": ERROR,
                "ScoredSentence": SCORED_SENTENCE,
                "Result": RESULT,
                "Histogram": {
                    "type": "object", "required": ["counts", "proportions"],
                    "properties": {
                        "counts": {"type": "array", "items": {"type": "integer", "minimum": 0}},
                        "proportions": {"type": "array", "items": {"type": "number", "minimum": 0, "maximum": 1}},
                    },
                },
            }
        },
    }


def evaluate_operation(config: Config, single: dict, batch: dict) -> dict:
    limit = config["MAX_CONTENT_LENGTH"]
    return {
        "summary": "Score an article's sentences and pick the highlights",
        "description": (
            "One article as text/plain (options in the query), or JSON: one article ``{\"text\": ...}`` or a "
            "batch ``{\"articles\": [...]}`` answered as ``{\"results\": [...]}`` in the same order. JSON options "
            f"win over the query's. Limits: a body of {limit} bytes, {config['MAX_ARTICLES']} articles, "
            f"{config['MAX_SENTENCES']} sentences in all; the body must arrive within {config['BODY_TIMEOUT']} s."
        ),
        "parameters": [
            {"name": "top", "in": "query", "required": False, "schema": TOP},
            {"name": "model", "in": "query", "required": False, "schema": METHOD},
            {"name": "title", "in": "query", "required": False, "schema": {"type": "string"},
             "description": "the title of a text/plain article"},
        ],
        "requestBody": {
            "required": True,
            "content": {
                "text/plain": {"schema": {"type": "string", "minLength": 1, "maxLength": limit}},
                "application/json": {"schema": {"oneOf": [single, batch]}},
            },
        },
        "responses": {
            "200": {"description": "the scored article, or the batch's results in order", "content": {
                "application/json": {"schema": {"oneOf": [
                    {"$ref": "#/components/schemas/Result"},
                    {"type": "object", "required": ["results"], "additionalProperties": False,
                     "properties": {"results": {"type": "array", "items": {"$ref": "#/components/schemas/Result"}}}},
                ]}}}},
            "400": error_response("the body cannot be read or decoded: invalid_utf8, malformed_json, malformed_body"),
            "408": error_response("the body did not arrive within the time limit: body_timeout"),
            "413": error_response("too large: body_too_large, too_many_articles, too_many_sentences"),
            "414": {"description": "request line (URL with query) over gunicorn's limit_request_line: refused by "
                                   "the server itself, before the app, with an HTML page",
                    "content": {"text/html": {"schema": {"type": "string"}}}},
            "415": error_response("not text/plain or application/json in UTF-8: unsupported_media_type"),
            "422": error_response(
                "decodes but is invalid: empty_article, no_sentences, invalid_request, invalid_top, unknown_model"),
            "503": error_response("the model is not loaded (yet): not_ready"),
        },
    }


def json_response(description: str, schema: dict) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def error_response(description: str) -> dict:
    return json_response(description, {"$ref": "#/components/schemas/Error"})
