"""The OpenAPI 3.1 description of Brief's HTTP API, served at ``GET /openapi.json``.

Every schema in it is generated from the models in ``app.api.schema``, the same ones that
validate requests and build responses; only the paths, statuses and the limits taken from the
app's settings are written here. ``tests/test_openapi.py`` runs schemathesis against it.
"""

from __future__ import annotations

from flask import Config
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from app.core.options import AVOID, MAX_KEYWORDS, MODELS
from app.errors import codes_with
from app.api import schema

REF = "#/components/schemas/{model}"
REQUESTS = (schema.SingleRequest, schema.BatchRequest)
RESPONSES = (schema.Result, schema.BatchResults, schema.Error, schema.Health, schema.Ready, schema.ModelCard,
             schema.DriftReport, schema.Samples)


def build_spec(config: Config) -> dict:
    """The OpenAPI 3.1 document for an app with these settings."""
    refs, definitions = models_json_schema(
        [(m, "validation") for m in REQUESTS] + [(m, "serialization") for m in RESPONSES], ref_template=REF)
    components = definitions["$defs"]
    components["BatchRequest"]["properties"]["articles"]["maxItems"] = config["MAX_ARTICLES"]

    def ref(model: type[BaseModel]) -> dict:
        return refs[(model, "serialization" if model in RESPONSES else "validation")]

    def ok(description: str, model: type[BaseModel]) -> dict:
        return {"description": description, "content": {"application/json": {"schema": ref(model)}}}

    def error(description: str) -> dict:
        return ok(description, schema.Error)

    spec = {
        "openapi": "3.1.0",
        "info": {
            "title": "Brief",
            "version": "1",
            "description": "Scores every sentence of an article by how likely it belongs in a human summary.",
        },
        "paths": {
            "/api/evaluate": {"post": evaluate_operation(config, ref, error)},
            "/api/health": {"get": {
                "summary": "Liveness: the process answers (the model may still be loading)",
                "responses": {"200": ok("alive", schema.Health)},
            }},
            "/api/ready": {"get": {
                "summary": "Readiness: 200 once this worker's model is loaded and warmed up",
                "responses": {
                    "200": ok("ready", schema.Ready),
                    "503": error("not ready: loading, or why the model could not be loaded (code not_ready)"),
                },
            }},
            "/api/model": {"get": {
                "summary": "The model card of the loaded model, and the model each worker of the server serves",
                "responses": {"200": ok("the card, with the workers", schema.ModelCard), "503": error("not ready")},
            }},
            "/api/drift": {"get": {
                "summary": "Live LSTM score distribution (all workers) against the card's validation distribution",
                "responses": {
                    "200": ok("drift report", schema.DriftReport),
                    "503": error("not ready (not_ready), or the card has no usable reference (drift_unavailable)"),
                },
            }},
            "/api/samples": {"get": {
                "summary": "The sample articles bundled with the reader page",
                "responses": {"200": ok("samples", schema.Samples)},
            }},
            "/metrics": {"get": {
                "summary": "Prometheus metrics, summed over all workers",
                "responses": {"200": {"description": "Prometheus text format",
                                      "content": {"text/plain": {"schema": {"type": "string"}}}}},
            }},
            "/openapi.json": {"get": {
                "summary": "This document",
                "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {"schema": {
                    "type": "object", "required": ["openapi", "paths"]}}}}},
            }},
            "/": {"get": {
                "summary": "The reader page",
                "responses": {"200": {"description": "HTML", "content": {"text/html": {"schema": {"type": "string"}}}}},
            }},
        },
        "components": {"schemas": components},
    }
    add_access_rules(spec, config)
    return spec


# Where API keys and rate limits apply (app.server.auth.needs_key): evaluate, and the ops endpoints
# when PROTECT_OPS is on.
GUARDED_PATHS = ("/api/evaluate",)
OPS_PATHS = ("/metrics", "/api/model", "/api/drift")
SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer KEY"},
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
}


def listed(status: int, evaluate_only: bool = True) -> str:
    """The error codes of a status (``app.errors.ERROR_CODES``), as an OpenAPI description lists them."""
    return ", ".join(codes_with(status, evaluate_only))


def add_access_rules(spec: dict, config: Config) -> None:
    """The key requirement (401) and the rate limits (429) where the settings turn them on."""
    guarded = GUARDED_PATHS + (OPS_PATHS if config["PROTECT_OPS"] else ())
    keys, limits = bool(config["API_KEYS_FILE"]), bool(config["RATE_LIMIT"])
    if keys:
        spec["components"]["securitySchemes"] = SECURITY_SCHEMES
    error = {"content": {"application/json": {"schema": {"$ref": REF.format(model="Error")}}}}
    for path in guarded:
        for operation in spec["paths"][path].values():
            if keys:
                operation["security"] = [{"bearer": []}, {"apiKey": []}]
                operation["responses"]["401"] = {
                    "description": f"no API key, or not a valid one: {listed(401, False)}", **error,
                    "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}}}
            if limits:
                operation["responses"]["429"] = {
                    "description": f"over the client's budget ({config['RATE_LIMIT']}): {listed(429, False)}", **error,
                    "headers": {"Retry-After": {"schema": {"type": "integer", "minimum": 1},
                                                "description": "seconds to wait before trying again"}}}
            if limits and path == "/api/evaluate":
                operation["responses"]["413"]["description"] += "; too_many_sentences for the client's whole budget"


def evaluate_operation(config: Config, ref, error) -> dict:
    limit = config["MAX_CONTENT_LENGTH"]
    fetching = "on" if config["FETCH_URLS"] else "off on this server (BRIEF_FETCH_URLS)"
    text_body = {"type": "string", "minLength": 1, "maxLength": limit}
    return {
        "summary": "Score an article's sentences and pick the highlights",
        "description": (
            "One article as text/plain or text/html (options in the query), or JSON: one article "
            "``{\"text\": ...}``, ``{\"html\": ...}`` or ``{\"url\": ...}``, or a batch ``{\"articles\": [...]}`` "
            "answered as ``{\"results\": [...]}`` in the same order. JSON options win over the query's (a "
            "budget in the JSON replaces the query's). At most one budget: top, words, chars or ratio. "
            f"Fetching URLs is {fetching}. Limits: a body of {limit} bytes, {config['MAX_ARTICLES']} articles, "
            f"{config['MAX_SENTENCES']} sentences in all; the body must arrive within {config['BODY_TIMEOUT']} s; "
            f"a fetched page of {config['FETCH_MAX_BYTES']} bytes."
        ),
        "parameters": [
            {"name": "top", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1}},
            {"name": "model", "in": "query", "required": False, "schema": {"enum": list(MODELS)}},
            {"name": "words", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1},
             "description": "the best highlights whose words together fit in this (at least one); instead of top"},
            {"name": "chars", "in": "query", "required": False, "schema": {"type": "integer", "minimum": 1},
             "description": "the same in characters; instead of top"},
            {"name": "ratio", "in": "query", "required": False,
             "schema": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
             "description": "ceil(ratio x sentences) highlights; instead of top"},
            {"name": "avoid", "in": "query", "required": False, "style": "form", "explode": False,
             "schema": {"type": "array", "items": {"enum": list(AVOID)}},
             "description": "comma-separated kinds of sentence never highlighted (still scored)"},
            {"name": "keywords", "in": "query", "required": False,
             "schema": {"type": "integer", "minimum": 0, "maximum": MAX_KEYWORDS},
             "description": "how many key phrases to add to the answer (default 0: none)"},
            {"name": "title", "in": "query", "required": False, "schema": {"type": "string"},
             "description": "the title of a text/plain or text/html article"},
        ],
        "requestBody": {
            "required": True,
            "content": {
                "text/plain": {"schema": text_body},
                "text/html": {"schema": text_body},
                "application/json": {"schema": {"oneOf": [ref(schema.SingleRequest), ref(schema.BatchRequest)]}},
            },
        },
        "responses": {
            "200": {"description": "the scored article, or the batch's results in order", "content": {
                "application/json": {"schema": {"oneOf": [ref(schema.Result), ref(schema.BatchResults)]}}}},
            "400": error(f"the body cannot be read or decoded: {listed(400)}"),
            "408": error(f"the body did not arrive within the time limit: {listed(408)}"),
            "413": error(f"too large: {listed(413)}"),
            "414": {"description": "request line (URL with query) over gunicorn's limit_request_line: refused by "
                                   "the server itself, before the app, with an HTML page",
                    "content": {"text/html": {"schema": {"type": "string"}}}},
            "415": error(f"not text/plain, text/html or application/json in UTF-8, or a fetched page that is not "
                         f"HTML: {listed(415)}"),
            "422": error(f"decodes but is invalid, or a URL refused: {listed(422)}"),
            "502": error(f"the page could not be fetched: {listed(502)}"),
            "503": error(f"the model is not loaded (yet): {listed(503)}"),
            "504": error(f"the page did not arrive in time: {listed(504)}"),
        },
    }
