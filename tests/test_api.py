"""The HTTP API, as its contract in docs/api.md states it.

In-process tests (``client``) cover configuration and the states before a model is loaded; the
rest runs against the real gunicorn (``server``) with the bundled model.
"""

from __future__ import annotations

import json
import logging
import os
import re
import socket
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import requests

from app import ROOT, create_app
from app.core.luhn import score_luhn
from app.server.sample_articles import load_samples

ARTICLE = (
    "The city council voted on Tuesday to close the old bridge to cars from next spring. "
    "Engineers found cracks in two of its supports during an inspection in March. "
    "Repairs would cost more than a new crossing, according to the council's own report. "
    "Cyclists and pedestrians will still be able to use the bridge while a replacement is designed. "
    "Local shops fear that fewer drivers will stop in the high street. "
    "The council says a shuttle bus will run every fifteen minutes between the two banks. "
    "A public meeting on the design of the new bridge is planned for June."
)
N_ARTICLE_SENTENCES = 7


def post_text(server, text, params=None, content_type="text/plain; charset=utf-8", **kwargs):
    data = text.encode("utf-8") if isinstance(text, str) else text
    return requests.post(server.url + "/api/evaluate", data=data, params=params,
                         headers={"Content-Type": content_type}, timeout=120, **kwargs)


def post_json(server, payload, params=None):
    return requests.post(server.url + "/api/evaluate", json=payload, params=params, timeout=120)


def metric_value(text: str, name: str, **labels) -> float:
    """The value of one Prometheus sample, 0 if absent."""
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0])) if "{" in line else {}
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def assert_error(response, status, code):
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    body = json.loads(response.text)  # requests and Flask test responses both have .text
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


# --- in process: configuration and the states before the model is loaded ---------------------


def test_settings_come_from_brief_environment_variables(monkeypatch, tmp_path):
    monkeypatch.setenv("BRIEF_MAX_ARTICLES", "3")
    monkeypatch.setenv("BRIEF_MODEL_PATH", str(tmp_path / "other.h5"))
    app = create_app({"TESTING": True, "LOAD_IN_BACKGROUND": False})
    assert app.config["MAX_ARTICLES"] == 3
    assert app.config["MAX_CONTENT_LENGTH"] == 1 << 20
    assert app.extensions["brief"].paths[0] == tmp_path / "other.h5"


def test_relative_model_paths_are_resolved_from_the_repository_not_the_working_directory(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    app = create_app({"TESTING": True, "MODEL_PATH": "nowhere/x.h5", "LOAD_IN_BACKGROUND": False})
    assert app.extensions["brief"].paths[0] == ROOT / "nowhere" / "x.h5"


def test_health_answers_even_when_the_model_cannot_load(client):
    response = client.get("/api/health")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_ready_is_503_with_the_reason_when_the_model_is_missing(client):
    response = client.get("/api/ready")
    assert response.status_code == 503
    error = response.get_json()["error"]
    assert error["code"] == "not_ready"
    assert "model card" in error["message"] and "brief.json" in error["message"]


def test_a_model_whose_sha256_differs_from_its_card_is_refused_with_one_log_line(tmp_path, caplog):
    (tmp_path / "brief.h5").write_bytes(b"not the trained model")
    (tmp_path / "brief.json").write_text(json.dumps({"id": "x", "model_sha256": "0" * 64}))
    with caplog.at_level(logging.ERROR):
        app = create_app({"TESTING": True, "MODEL_PATH": str(tmp_path / "brief.h5"),
                          "CARD_PATH": str(tmp_path / "brief.json"), "LOAD_IN_BACKGROUND": False})
    response = app.test_client().get("/api/ready")
    assert response.status_code == 503
    assert "does not match the sha256" in response.get_json()["error"]["message"]
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "does not match the sha256" in errors[0].getMessage()


def test_an_unexpected_load_failure_is_reported_not_left_as_loading(monkeypatch):
    def broken_summarizer(*args, **kwargs):
        raise ValueError("Input 0 expects shape (None, None, 391), got (1, 16, 400)")

    monkeypatch.setattr("app.server.service.Summarizer", broken_summarizer)
    app = create_app({"TESTING": True, "LOAD_IN_BACKGROUND": False})
    error = app.test_client().get("/api/ready").get_json()["error"]
    assert error["code"] == "not_ready"
    assert error["message"].startswith("model not loaded: ValueError") and "391" in error["message"]


def test_evaluate_and_model_card_are_503_until_ready(client):
    assert_error(client.post("/api/evaluate", data="A sentence.", content_type="text/plain"), 503, "not_ready")
    assert_error(client.get("/api/model"), 503, "not_ready")
    assert_error(client.get("/api/drift"), 503, "not_ready")


def test_bad_requests_are_refused_before_the_model_is_needed(client):
    assert_error(client.post("/api/evaluate", data="  \n ", content_type="text/plain"), 422, "empty_article")
    assert_error(client.post("/api/evaluate", data="{", content_type="application/json"), 400, "malformed_json")


def test_unknown_routes_and_methods_answer_in_the_json_error_shape(client):
    assert_error(client.get("/api/nothing"), 404, "not_found")
    response = client.get("/api/evaluate")
    assert_error(response, 405, "method_not_allowed")
    assert "POST" in response.headers["Allow"]


def test_a_bug_still_answers_500_in_the_json_error_shape(app):
    def broken():
        raise RuntimeError("a bug")

    app.add_url_rule("/api/broken", view_func=broken)
    response = app.test_client().get("/api/broken")
    assert_error(response, 500, "internal_error")
    assert "a bug" not in response.text  # no internals leak to the client


def test_samples_are_bundled_original_articles(client):
    samples = client.get("/api/samples").get_json()["samples"]
    assert len(samples) >= 2
    for sample in samples:
        assert sample["title"] and len(sample["text"].split()) > 100


# --- the real service under gunicorn ----------------------------------------------------------

slow = pytest.mark.slow


@slow
def test_health_and_ready(server):
    assert requests.get(server.url + "/api/health", timeout=5).json() == {"status": "ok"}
    ready = requests.get(server.url + "/api/ready", timeout=5).json()
    card = requests.get(server.url + "/api/model", timeout=5).json()
    assert ready["status"] == "ready" and ready["model"] == card["id"]


@slow
def test_model_endpoint_serves_the_bundled_card(server):
    card = requests.get(server.url + "/api/model", timeout=5).json()
    workers = card.pop("workers")
    serving = card.pop("serving_encoder")
    assert serving["runtime"] == "openvino" and serving["precision"] in ("float32", "bfloat16")
    assert serving["probe_min_cosine"] >= 0.9999  # checked before the worker said ready
    card_path = Path(os.environ.get("BRIEF_CARD_PATH", ROOT / "models" / "brief.json"))
    assert card == json.loads(card_path.read_text())
    assert len(card["validation_scores"]["counts"]) == 20
    # Every worker of the server, whichever answered: the pids gunicorn runs, each with its model.
    assert {w["pid"] for w in workers} == server.worker_pids()
    assert all(w["model"] == card["id"] and w["ready"] and w["status"] == "ready" for w in workers)


@slow
def test_plain_text_article_gets_scored_sentences_sorted_by_score(server):
    response = post_text(server, ARTICLE)
    assert response.status_code == 200
    body = json.loads(response.text)  # requests and Flask test responses both have .text
    card = requests.get(server.url + "/api/model", timeout=5).json()
    assert body["model"] == card["id"]
    assert body["title"] is None
    sentences = body["scored_article_sentences"]
    assert len(sentences) == N_ARTICLE_SENTENCES
    assert sorted(s["index"] for s in sentences) == list(range(N_ARTICLE_SENTENCES))
    scores = [s["score"] for s in sentences]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= s <= 1.0 for s in scores)


@slow
def test_offsets_slice_the_sentence_back_out_of_the_submitted_text(server):
    text = "  Leading spaces.\r\nA line with é and 🙂 emoji in it. Another one!\n\nNew paragraph here. "
    body = post_text(server, text).json()
    for s in body["scored_article_sentences"]:
        assert text[s["start"]:s["end"]] == s["sent"]
        assert s["scroll"] == round(100 * s["start"] / len(text), 1)


@slow
def test_highlights_are_five_distinct_sentences_in_document_order(server):
    body = post_text(server, ARTICLE).json()
    indices = {s["index"] for s in body["scored_article_sentences"]}
    assert len(body["highlights"]) == 5 and body["highlights"] == sorted(set(body["highlights"]))
    assert set(body["highlights"]) <= indices
    # under the plain `top` rule (Luhn's baseline; the model's rule is the card's, tested below)
    # they are the five best scores
    luhn = post_text(server, ARTICLE, params={"model": "luhn"}).json()
    assert luhn["highlights"] == sorted(s["index"] for s in luhn["scored_article_sentences"][:5])


@slow
def test_highlights_follow_the_pick_rule_in_the_model_card(server):
    """What the evaluation measured is what users get: the API picks with the card's rule and length
    exponent (app.core.ranking)."""
    from app.core.ranking import pick

    card = requests.get(server.url + "/api/model", timeout=30).json()
    rule, exponent = card.get("pick_rule", "top"), card.get("length_exponent", 0.0)
    text = ARTICLE + " The city council voted on Tuesday to close the old bridge to cars, officials said."
    body = post_text(server, text, params={"top": 3}).json()
    by_index = {s["index"]: s for s in body["scored_article_sentences"]}
    scores = [by_index[i]["score"] for i in range(len(by_index))]
    assert body["highlights"] == pick(scores, [by_index[i]["sent"] for i in range(len(by_index))], 3, rule, exponent)


@pytest.fixture(scope="module")
def summarizer():
    from app.core.summarizer import Summarizer

    return Summarizer(ROOT / "models/brief.h5", ROOT / "models/brief.json", ROOT / "models/nltk_data")


@pytest.mark.parametrize("rule, exponent", [("top", 0.0), ("trigram_blocking", 0.0), ("near_duplicate_blocking", 0.2),
                                            ("near_duplicate_blocking", 1.0)])
def test_the_core_picks_by_the_card_s_rule_and_length_exponent_and_leaves_the_scores_alone(
        summarizer, monkeypatch, rule, exponent):
    from dataclasses import replace

    from app.core.options import Options
    from app.core.ranking import pick

    text = ARTICLE + " The city council voted on Tuesday to close the old bridge to cars, officials said."
    plain = summarizer.highlight_texts([text], Options(top=3))[0]
    monkeypatch.setattr(summarizer, "card", replace(summarizer.card, pick_rule=rule, length_exponent=exponent))
    article = summarizer.highlight_texts([text], Options(top=3))[0]
    assert article.highlights == pick(article.scores, [s.text for s in article.sentences], 3, rule, exponent)
    assert article.scores.tolist() == plain.scores.tolist()
    assert article.model == summarizer.card.id


def test_luhn_s_highlights_are_its_top_k_whatever_the_card_says(summarizer):
    from app.core.options import Options
    from app.core.ranking import pick

    article = summarizer.highlight_texts([ARTICLE], Options(top=2, model="luhn"))[0]
    assert article.model == "luhn"
    assert article.highlights == pick(article.scores, [s.text for s in article.sentences], 2, "top")


def test_the_answer_ranks_sentences_best_first_and_keeps_the_picked_highlights():
    from app.api.answer import build_result
    from app.core.sentences import Sentence
    from app.core.summarizer import ScoredArticle
    from app.ingest.document import Document

    texts = ["The bridge will close to cars.", "Buses will run.", "Repairs cost more."]
    sentences, start = [], 0
    for t in texts:
        sentences.append(Sentence(t, start, start + len(t)))
        start += len(t) + 1
    article = ScoredArticle(sentences, np.array([0.2, 0.9, 0.5]), highlights=[0, 2], model="m")
    result = build_result(Document(" ".join(texts), None), article)
    assert [s.index for s in result.scored_article_sentences] == [1, 2, 0]
    assert [s.score for s in result.scored_article_sentences] == [0.9, 0.5, 0.2]
    assert result.highlights == [0, 2] and result.model == "m"


@slow
def test_top_can_be_set_in_the_query_or_the_json(server):
    assert len(post_text(server, ARTICLE, params={"top": 2}).json()["highlights"]) == 2
    body = post_json(server, {"text": ARTICLE, "title": "Bridge", "top": 3}).json()
    assert len(body["highlights"]) == 3 and body["title"] == "Bridge"
    assert len(post_text(server, ARTICLE, params={"top": 50}).json()["highlights"]) == N_ARTICLE_SENTENCES


@slow
def test_the_same_article_always_gets_the_same_scores(server):
    first = post_text(server, ARTICLE).json()
    # several fresh connections, so both workers answer at least once in all likelihood
    with ThreadPoolExecutor(4) as pool:
        others = list(pool.map(lambda _: post_text(server, ARTICLE).json(), range(6)))
    assert all(other == first for other in others)


@slow
def test_batch_results_come_back_in_order_and_match_single_requests(server):
    samples = load_samples()
    articles = [{"text": ARTICLE, "title": "bridge"}] + [{"text": s["text"], "title": s["title"]} for s in samples]
    response = post_json(server, {"articles": articles})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["title"] for r in results] == [a["title"] for a in articles]
    for article, result in zip(articles, results):
        first = min(result["scored_article_sentences"], key=lambda s: s["index"])
        assert article["text"].startswith(first["sent"])
        single = post_json(server, {"text": article["text"]}).json()
        batch_scores = {s["index"]: s["score"] for s in result["scored_article_sentences"]}
        single_scores = {s["index"]: s["score"] for s in single["scored_article_sentences"]}
        assert batch_scores == pytest.approx(single_scores, abs=1e-4)


@slow
def test_luhn_switch_scores_with_the_seed_demo_method(server):
    body = post_text(server, ARTICLE, params={"model": "luhn"}).json()
    assert body["model"] == "luhn"
    in_order = sorted(body["scored_article_sentences"], key=lambda s: s["index"])
    expected = score_luhn([s["sent"] for s in in_order])
    assert [s["score"] for s in in_order] == pytest.approx(expected.tolist(), abs=1e-6)
    assert post_json(server, {"text": ARTICLE, "model": "luhn"}).json() == body


BAD_INPUTS = [
    # (what, content type, body, query, status, code)
    ("empty article", "text/plain", b"", None, 422, "empty_article"),
    ("whitespace article", "text/plain", b" \n\t \r\n", None, 422, "empty_article"),
    ("only punctuation", "text/plain", b"... !!! ???", None, 422, "no_sentences"),
    ("not UTF-8", "text/plain", "caf\u00e9 cr\u00e8me.".encode("latin-1"), None, 400, "invalid_utf8"),
    ("latin-1 charset", "text/plain; charset=latin-1", b"Hello there.", None, 415, "unsupported_media_type"),
    ("malformed JSON", "application/json", b'{"text": "unterminated', None, 400, "malformed_json"),
    ("JSON not an object", "application/json", b'["a list"]', None, 422, "invalid_request"),
    ("JSON without text", "application/json", b'{"title": "x"}', None, 422, "invalid_request"),
    ("text not a string", "application/json", b'{"text": 42}', None, 422, "invalid_request"),
    ("empty JSON text", "application/json", b'{"text": "   "}', None, 422, "empty_article"),
    ("lone surrogate", "application/json", b'{"text": "Broken \\ud800 text."}', None, 400, "invalid_utf8"),
    ("form body", "application/x-www-form-urlencoded", b"text=hello", None, 415, "unsupported_media_type"),
    ("HTML with no article", "text/html", b"<html><body><nav>Home | News</nav></body></html>", None,
     422, "no_article_text"),
    ("JSON with text and html", "application/json", b'{"text": "A b.", "html": "<p>A b.</p>"}', None,
     422, "invalid_request"),
    ("URL while fetching is off", "application/json", b'{"url": "http://example.com/"}', None, 422, "url_fetching_off"),
    ("top zero", "text/plain", ARTICLE.encode(), {"top": "0"}, 422, "invalid_top"),
    ("top not a number", "text/plain", ARTICLE.encode(), {"top": "five"}, 422, "invalid_top"),
    ("top a boolean", "application/json", b'{"text": "A b c.", "top": true}', None, 422, "invalid_top"),
    ("unknown model", "text/plain", ARTICLE.encode(), {"model": "gpt"}, 422, "unknown_model"),
    ("empty batch", "application/json", b'{"articles": []}', None, 422, "invalid_request"),
    ("empty article in a batch", "application/json", b'{"articles": [{"text": "Fine."}, {"text": ""}]}', None,
     422, "empty_article"),
    ("too many articles", "application/json", json.dumps({"articles": [{"text": "A b."}] * 17}).encode(), None,
     413, "too_many_articles"),
    ("too many sentences", "text/plain", ("Word number one here. " * 1001).encode(), None, 413, "too_many_sentences"),
    ("body over the limit", "text/plain", b"a" * ((1 << 20) + 1), None, 413, "body_too_large"),
]


@slow
@pytest.mark.parametrize("what,content_type,body,query,status,code", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_gets_a_json_error_with_the_right_status(server, what, content_type, body, query, status, code):
    assert_error(post_text(server, body, params=query, content_type=content_type), status, code)


@slow
def test_missing_content_type_is_415(server):
    response = requests.post(server.url + "/api/evaluate", data=b"Hello there.", timeout=10)
    assert_error(response, 415, "unsupported_media_type")


@slow
def test_chunked_body_over_the_limit_is_413(server):
    def chunks():
        for _ in range(17):
            yield b"word " * 13_000  # 65 kB a chunk, 1.1 MB in all

    assert_error(post_text(server, chunks()), 413, "body_too_large")


def raw_request(server, request: bytes) -> bytes:
    """Send raw bytes; return the response's head and its whole body (which may come in a later packet)."""
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(request)
        reply = s.recv(65536)
        while b"\r\n\r\n" not in reply or len(reply.split(b"\r\n\r\n", 1)[1]) < content_length(reply):
            chunk = s.recv(65536)
            if not chunk:
                break
            reply += chunk
        return reply


def content_length(reply: bytes) -> int:
    found = re.search(rb"Content-Length: (\d+)", reply, re.IGNORECASE)
    return int(found.group(1)) if found else 0


@slow
def test_body_limit_is_checked_from_content_length_before_the_body_is_read(server):
    # Headers only: if the server waited for the 5 MB it announced, recv() would time out.
    head = raw_request(server, b"POST /api/evaluate HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\n"
                               b"Content-Length: 5000000\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413")
    assert b'"body_too_large"' in head


@slow
def test_broken_chunked_encoding_is_400(server):
    reply = raw_request(server, b"POST /api/evaluate HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\n"
                                b"Transfer-Encoding: chunked\r\n\r\nZZ\r\nhello\r\n0\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 400")
    assert b'"malformed_body"' in reply


@slow
def test_odd_but_valid_articles_are_scored(server):
    odd = [
        "No full stop at all " * 200,  # one very long sentence
        "Zero\x00width and NUL\x00 bytes. Then a normal sentence.",
        "مرحبا بالعالم. هذه جملة ثانية.",
        "🙂🙂🙂. Emoji first. 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 letters too.",
        "<script>alert(1)</script> Markup is just text. <img src=x onerror=alert(2)>",
    ]
    for text in odd:
        response = post_json(server, {"text": text})
        assert response.status_code == 200, (text[:40], response.text)
        for s in response.json()["scored_article_sentences"]:
            assert text[s["start"]:s["end"]] == s["sent"]


@slow
def test_no_input_killed_a_worker_or_caused_a_500(server):
    """Runs after the bad-input tests above (pytest keeps file order)."""
    before = server.worker_pids()
    for _, content_type, body, query, _, _ in BAD_INPUTS:
        post_text(server, body, params=query, content_type=content_type)
    assert server.worker_pids() == before and len(before) == 2
    metrics = requests.get(server.url + "/metrics", timeout=10).text
    assert "status=\"500\"" not in metrics
    assert "unhandled error" not in server.log_text()


@slow
def test_metrics_are_summed_across_both_workers(server):
    def scrape():
        return requests.get(server.url + "/metrics", timeout=10).text

    def ready_worker(_):
        return requests.get(server.url + "/api/ready", timeout=10).json()["worker"]

    before = metric_value(scrape(), "brief_requests_total", endpoint="/api/ready", method="GET", status="200")
    workers, sent = set(), 0
    with ThreadPoolExecutor(8) as pool:
        while len(workers) < 2 and sent < 200:
            workers |= set(pool.map(ready_worker, range(20)))
            sent += 20
    assert len(workers) == 2  # both workers answered some of them, so neither alone saw them all
    for _ in range(4):  # whichever worker answers the scrape, it counts every request
        after = metric_value(scrape(), "brief_requests_total", endpoint="/api/ready", method="GET", status="200")
        assert after - before == sent


@slow
def test_metrics_expose_latency_sentences_and_scores(server):
    post_text(server, ARTICLE)
    text = requests.get(server.url + "/metrics", timeout=10).text
    assert metric_value(text, "brief_request_duration_seconds_count", endpoint="/api/evaluate", status="200") >= 1
    assert metric_value(text, "brief_request_duration_seconds_count", endpoint="/api/evaluate", status="422") >= 1
    assert metric_value(text, "brief_article_sentences_bucket", model="lstm", le="10.0") >= 1
    assert metric_value(text, "brief_sentence_score_count", model="lstm") >= N_ARTICLE_SENTENCES
    assert metric_value(text, "brief_sentence_score_bucket", model="lstm", le="1.0") == \
        metric_value(text, "brief_sentence_score_count", model="lstm")


@slow
def test_metrics_say_how_each_worker_runs_the_encoder(server):
    text = requests.get(server.url + "/metrics", timeout=10).text
    served = requests.get(server.url + "/api/model", timeout=5).json()["serving_encoder"]
    for pid in server.worker_pids():
        assert metric_value(text, "brief_encoder_info", runtime="openvino", precision=served["precision"],
                            pid=str(pid)) == 1
        assert metric_value(text, "brief_encoder_probe_min_cosine", pid=str(pid)) >= 0.9999


@slow
def test_drift_report_counts_every_live_lstm_score_across_workers(server):
    def drift():
        return requests.get(server.url + "/api/drift", timeout=10).json()

    before = drift()["n"]
    post_text(server, ARTICLE)
    post_text(server, ARTICLE, params={"model": "luhn"})  # Luhn scores are not the model's distribution
    reports = [drift() for _ in range(4)]
    card = requests.get(server.url + "/api/model", timeout=5).json()["validation_scores"]
    for report in reports:
        assert report["n"] - before == N_ARTICLE_SENTENCES
        assert report["reference"]["counts"] == card["counts"]
        assert report["reference_n"] == sum(card["counts"])
        assert sum(report["live"]["counts"]) == report["n"]
        assert report["psi"] >= 0 and 0 <= report["ks"] <= 1
        assert report["status"] in {"ok", "warn", "alert", "insufficient_data"}


@slow
def test_drift_live_counts_are_the_new_scores_in_the_card_bins(server):
    live = requests.get(server.url + "/api/drift", timeout=10).json()["live"]["counts"]
    scored = post_text(server, ARTICLE).json()["scored_article_sentences"]
    for s in scored:
        live[min(int(s["score"] * 20), 19)] += 1  # bins of width 0.05 on [0, 1]
    assert requests.get(server.url + "/api/drift", timeout=10).json()["live"]["counts"] == live
