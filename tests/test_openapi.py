"""The OpenAPI description at /openapi.json is the contract: schemathesis fuzzes the live gunicorn with it.

Every generated request, valid or not, must get an answer that the description allows (status,
content type, body schema), and never a 5xx. Bounded: a few examples per operation.
"""

from __future__ import annotations

import pytest
import requests
import schemathesis
from schemathesis import GenerationMode
from hypothesis import HealthCheck, given, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import positive_data_acceptance


# 413 is the right answer to a batch over the spec's maxItems (the articles limit), and gunicorn's
# 414 to a query string too long to read, so both count as rejections.
CONFIG = SchemathesisConfig.from_dict({
    "checks": {"negative_data_rejection": {"expected-statuses": ["400", "405", "413", "414", "415", "422"]}},
})


EXAMPLES = 40  # per operation and mode (8 operations x 2 modes): well under a minute on 2 cores


@pytest.fixture(scope="module")
def api_schema(server):
    return schemathesis.openapi.from_url(server.url + "/openapi.json", config=CONFIG)


# A schema-valid article can still hold no word ("  ", "...") or too many sentences: the service
# says so with these codes. Any other refusal of schema-valid data is a bug.
# HTML may hold no article, and this server does not fetch URLs (BRIEF_FETCH_URLS is off).
MEANING_REFUSALS = {(422, "empty_article"), (422, "no_sentences"), (413, "too_many_sentences"),
                    (422, "no_article_text"), (422, "url_fetching_off")}


@schemathesis.check
def accepts_valid_data(ctx, response, case) -> None:
    """schemathesis' positive_data_acceptance, allowing only the refusals above."""
    if case.meta is None or not case.meta.generation.mode.is_positive or response.status_code < 400:
        return None
    code = response.json().get("error", {}).get("code") if response.status_code in (413, 422) else None
    assert (response.status_code, code) in MEANING_REFUSALS, (
        f"schema-valid request refused: {response.status_code} {response.text[:200]}")
    return None


def operations(api_schema) -> list:
    return [result.ok() for result in api_schema.get_all_operations()]


# schemathesis' own pytest plugin (schema.parametrize) does not run under pytest 9, so each
# operation's strategy is driven with hypothesis directly; call_and_validate runs every check.
@pytest.mark.slow
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
def test_every_response_matches_the_openapi_description(api_schema, mode):
    tested = []
    for operation in operations(api_schema):
        if mode is GenerationMode.NEGATIVE and not (len(operation.body) or len(operation.query)):
            continue  # no input to get wrong

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        def call(case):
            case.call_and_validate(timeout=60, excluded_checks=[positive_data_acceptance],
                                   additional_checks=[accepts_valid_data])

        call()
        tested.append(operation.label)
    # every operation but GET /openapi.json itself (schemathesis leaves it out); only evaluate takes input
    assert tested == (["POST /api/evaluate"] if mode is GenerationMode.NEGATIVE else
                      ["GET /", "GET /api/drift", "POST /api/evaluate", "GET /api/health", "GET /api/model",
                       "GET /api/ready", "GET /api/samples", "GET /metrics"])


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
    from app.server.schema import Result, SingleRequest

    spec = client.get("/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    assert schemas["SingleRequest"]["properties"]["top"] == {
        **SingleRequest.model_json_schema()["properties"]["top"]}
    assert set(schemas["Result"]["required"]) == {"model", "title", "scored_article_sentences", "highlights"}
    assert set(schemas["Result"]["properties"]) == set(Result.model_fields)
    # exactly one of text, html or url; a body with "articles" is a batch
    assert schemas["SingleRequest"]["oneOf"] == [{"required": ["text"]}, {"required": ["html"]}, {"required": ["url"]}]
    assert schemas["SingleRequest"]["not"] == {"required": ["articles"]}
