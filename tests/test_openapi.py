"""The OpenAPI description at /openapi.json is the contract: schemathesis fuzzes the live gunicorn with it.

Every generated request, valid or not, must get an answer that the description allows (status,
content type, body schema), and never a 5xx. Bounded: a few examples per operation.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import jsonschema
import pytest
import requests
import schemathesis
from schemathesis import GenerationMode
from hypothesis import HealthCheck, given, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import AcceptedNegativeData
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from app.server.auth import new_key
from tests.conftest import START_TIMEOUT, start_gunicorn, stop_gunicorn, wait_until_ready

# 413 is the right answer to a batch over the spec's maxItems (the articles limit), and gunicorn's
# 414 to a query string too long to read, so both count as rejections (and, with keys on, 401).
CONFIG = SchemathesisConfig.from_dict({
    "checks": {"negative_data_rejection": {"expected-statuses": ["400", "401", "405", "413", "414", "415", "422"]}},
})


EXAMPLES = 40  # per operation and mode (8 operations x 2 modes): well under a minute on 2 cores
KEYED_EXAMPLES = 10  # per operation, valid requests only, with keys and rate limits on


@pytest.fixture(scope="module")
def api_schema(server):
    return schemathesis.openapi.from_url(server.url + "/openapi.json", config=CONFIG)


# A schema-valid article can still hold no word ("  ", "...") or too many sentences: the service
# says so with these codes. Any other refusal of schema-valid data is a bug.
# HTML may hold no article, and this server does not fetch URLs (BRIEF_FETCH_URLS is off).
# OpenAPI cannot say "at most one of these query parameters": two budgets (top and words) are each
# valid, together invalid_budget.
MEANING_REFUSALS = {(422, "empty_article"), (422, "no_sentences"), (413, "too_many_sentences"),
                    (422, "no_article_text"), (422, "url_fetching_off"), (422, "invalid_budget")}


@schemathesis.check
def accepts_valid_data(ctx, response, case) -> None:
    """schemathesis' positive_data_acceptance, allowing only the refusals above."""
    if case.meta is None or not case.meta.generation.mode.is_positive or response.status_code < 400:
        return None
    code = response.json().get("error", {}).get("code") if response.status_code in (413, 422) else None
    assert (response.status_code, code) in MEANING_REFUSALS, (
        f"schema-valid request refused: {response.status_code} {response.text[:200]}")
    return None


# schemathesis negates values that go on the wire as valid ones: a text/plain or text/html body of another
# type is sent as its text (any text is an article), and a form-style array of null as an empty value
# (`avoid=`: avoid nothing). It judges those it can (one component at a time), not two such at once.
# So an accepted "invalid" request fails only if what was sent is invalid: the query as the server
# reads it (each value against its parameter's schema) and a text body of 1 to maxLength characters.
@schemathesis.check
def rejects_invalid_data(ctx, response, case) -> None:
    """schemathesis' negative_data_rejection, judged on what was sent where it cannot be."""
    try:
        negative_data_rejection(ctx, response, case)
    except AcceptedNegativeData:
        if not sent_request_is_valid(case.operation.definition.raw, response.request):
            raise
    return None


def sent_request_is_valid(operation: dict, request) -> bool:
    """Only for text bodies (JSON ones schemathesis judges itself): every query value and the body as sent."""
    media_type = (request.headers.get("Content-Type") or "").split(";")[0].strip()
    if media_type not in ("text/plain", "text/html"):
        return False
    parameters = {p["name"]: p["schema"] for p in operation.get("parameters", []) if p["in"] == "query"}
    for name, value in parse_qsl(urlsplit(request.url).query, keep_blank_values=True):
        schema = parameters.get(name)
        if schema is None:
            continue  # the service ignores a parameter it does not know
        try:
            if schema.get("type") == "array":
                value = [item for item in value.split(",") if item]
            elif schema.get("type") in ("integer", "number"):
                value = (int if schema["type"] == "integer" else float)(value)
            jsonschema.validate(value, schema)
        except (ValueError, jsonschema.ValidationError):
            return False
    body = request.body.decode() if isinstance(request.body, bytes) else (request.body or "")
    text_schema = operation["requestBody"]["content"][media_type]["schema"]
    return text_schema["minLength"] <= len(body) <= text_schema["maxLength"]


def operations(api_schema) -> list:
    return [result.ok() for result in api_schema.get_all_operations()]


# schemathesis' own pytest plugin (schema.parametrize) does not run under pytest 9, so each
# operation's strategy is driven with hypothesis directly; call_and_validate runs every check.
def fuzz(api_schema, mode: GenerationMode, headers: dict | None = None, examples: int = EXAMPLES) -> list[str]:
    """Every operation's generated requests, each validated against the description; the labels tested."""
    tested = []
    for operation in operations(api_schema):
        if mode is GenerationMode.NEGATIVE and not (len(operation.body) or len(operation.query)):
            continue  # no input to get wrong

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def call(case):
            case.call_and_validate(timeout=60, headers=headers,
                                   excluded_checks=[positive_data_acceptance, negative_data_rejection],
                                   additional_checks=[accepts_valid_data, rejects_invalid_data])

        call()
        tested.append(operation.label)
    return tested


# every operation but GET /openapi.json itself (schemathesis leaves it out); only evaluate takes input
ALL_OPERATIONS = ["GET /", "GET /api/drift", "POST /api/evaluate", "GET /api/health", "GET /api/model",
                  "GET /api/ready", "GET /api/samples", "GET /metrics"]


@pytest.mark.slow
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
def test_every_response_matches_the_openapi_description(api_schema, mode):
    tested = fuzz(api_schema, mode)
    assert tested == (["POST /api/evaluate"] if mode is GenerationMode.NEGATIVE else ALL_OPERATIONS)


@pytest.fixture(scope="module")
def keyed(tmp_path_factory, redis_url):
    """gunicorn with API keys (ops included) and rate limits in Redis, and its one key; budgets too large to reach."""
    folder = tmp_path_factory.mktemp("keyed")
    key, line = new_key("schemathesis")
    (folder / "keys").write_text(line + "\n")
    server = start_gunicorn(folder / "gunicorn.log", tmp_path_factory.mktemp("prometheus-keyed"),
                            API_KEYS_FILE=str(folder / "keys"), PROTECT_OPS="true",
                            RATE_LIMIT="100000 requests/minute, 100000000 sentences/minute",
                            RATE_LIMIT_STORAGE=redis_url)
    try:
        wait_until_ready(server, START_TIMEOUT)
        yield server, key
    finally:
        stop_gunicorn(server)


@pytest.mark.slow
def test_with_keys_and_limits_on_every_response_matches_the_description(keyed):
    """Valid requests with the key sent (input validation is fuzzed above, so fewer examples); schemathesis'
    ignored_auth check also sends each keyed operation without the key and with a wrong one, and fails
    unless the server refuses both."""
    server, key = keyed
    api_schema = schemathesis.openapi.from_url(server.url + "/openapi.json", config=CONFIG)
    evaluate = api_schema.raw_schema["paths"]["/api/evaluate"]["post"]
    assert {"401", "429"} <= set(evaluate["responses"]) and evaluate["security"]
    tested = fuzz(api_schema, GenerationMode.POSITIVE, headers={"Authorization": f"Bearer {key}"},
                  examples=KEYED_EXAMPLES)
    assert tested == ALL_OPERATIONS


@pytest.mark.slow
def test_the_description_covers_every_route_and_evaluate_status(server):
    spec = requests.get(server.url + "/openapi.json", timeout=10).json()
    assert spec["openapi"].startswith("3.")
    assert set(spec["paths"]) == {"/", "/api/evaluate", "/api/health", "/api/ready", "/api/model", "/api/drift",
                                  "/api/samples", "/metrics", "/openapi.json"}
    evaluate = spec["paths"]["/api/evaluate"]["post"]
    assert set(evaluate["requestBody"]["content"]) == {"text/plain", "text/html", "application/json"}
    assert set(evaluate["responses"]) == {"200", "400", "408", "413", "414", "415", "422", "502", "503", "504"}
    batch_ref = evaluate["requestBody"]["content"]["application/json"]["schema"]["oneOf"][1]["$ref"]
    batch = spec["components"]["schemas"][batch_ref.rsplit("/", 1)[1]]
    assert batch["properties"]["articles"]["maxItems"] == 16  # the service's MAX_ARTICLES


def test_the_description_is_generated_from_the_models_that_validate_requests(client):
    from app.api.schema import Result, SingleRequest

    spec = client.get("/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    assert schemas["SingleRequest"]["properties"]["top"] == {
        **SingleRequest.model_json_schema()["properties"]["top"]}
    assert set(schemas["Result"]["required"]) == {"model", "title", "scored_article_sentences", "highlights"}
    assert set(schemas["Result"]["properties"]) == set(Result.model_fields)
    # exactly one of text, html or url; a body with "articles" is a batch
    assert schemas["SingleRequest"]["oneOf"] == [{"required": ["text"]}, {"required": ["html"]}, {"required": ["url"]}]
    assert schemas["SingleRequest"]["not"] == {"required": ["articles"]}


def test_only_what_was_sent_invalid_counts_as_invalid_data_accepted(client):
    """The exemption above covers values schemathesis negates that go on the wire as valid ones, no more."""
    operation = client.get("/openapi.json").get_json()["paths"]["/api/evaluate"]["post"]

    def sent(query: str, body: str, media_type: str = "text/plain"):
        return requests.Request("POST", "http://127.0.0.1/api/evaluate?" + query, data=body.encode(),
                                headers={"Content-Type": media_type}).prepare()

    # the case schemathesis reported on 2026-12-08: a null avoid (sent as `avoid=`) and an array body (sent as text)
    assert sent_request_is_valid(operation, sent("avoid=&keywords=3&model=luhn&chars=241", '[{}, [null], false]'))
    assert sent_request_is_valid(operation, sent("avoid=quotes,questions", "<p>Any text.</p>", "text/html"))
    assert not sent_request_is_valid(operation, sent("top=abc", "One sentence."))
    assert not sent_request_is_valid(operation, sent("top=0", "One sentence."))
    assert not sent_request_is_valid(operation, sent("avoid=weather", "One sentence."))
    assert not sent_request_is_valid(operation, sent("ratio=1.5", "One sentence."))
    assert not sent_request_is_valid(operation, sent("", ""))
    assert not sent_request_is_valid(operation, sent("", '{"text": 1}', "application/json"))
