"""Web pages and URLs in: only the article's sentences are scored, and offsets index the returned text.

In-process tests cover the extractor; the rest run the real gunicorn with the bundled model:
pages posted as text/html and JSON ``{"html"}`` (the session's server, fetching off), and URLs
fetched from a loopback page server by a second gunicorn with fetching on and 127.0.0.1 allowed.
"""

from __future__ import annotations

import pytest
import requests

from app.errors import APIError
from app.ingest.extraction import extract_article, looks_like_html
from tests.pages import ARTICLE_SENTENCES, BOILERPLATE_MARKERS, LAYOUTS, NEWS, NO_ARTICLE, TITLE, Canary
from tests.test_api import assert_error, metric_value


def assert_only_the_article(body: dict) -> None:
    """Every sentence is one of the article's, all of them are there, and offsets slice the returned text."""
    text, sentences = body["text"], body["scored_article_sentences"]
    assert sorted(s["sent"] for s in sentences) == sorted(ARTICLE_SENTENCES), [s["sent"] for s in sentences]
    for s in sentences:
        assert text[s["start"]:s["end"]] == s["sent"]
        assert s["scroll"] == round(100 * s["start"] / len(text), 1)
    for marker in BOILERPLATE_MARKERS:
        assert marker not in text
    assert body["title"] == TITLE


# --- in process: the extractor --------------------------------------------------------------


@pytest.mark.parametrize("layout", LAYOUTS)
def test_the_extractor_keeps_the_article_and_drops_the_boilerplate(layout):
    article = extract_article(LAYOUTS[layout])
    assert article.title == TITLE
    for sentence in ARTICLE_SENTENCES:
        assert sentence in article.text
    for marker in BOILERPLATE_MARKERS:
        assert marker not in article.text


def test_a_page_without_an_article_has_no_article_text():
    for page in [NO_ARTICLE, "<html><body></body></html>", "<script>var a = 'A sentence.';</script>", "<p>!!!</p>"]:
        with pytest.raises(APIError) as caught:
            extract_article(page)
        assert (caught.value.status, caught.value.code) == (422, "no_article_text")


def test_a_pasted_fragment_is_read_too():
    article = extract_article("<p>The council voted on Tuesday.</p><p>Engineers found cracks in March.</p>")
    assert article.text == "The council voted on Tuesday.\n\nEngineers found cracks in March."


def test_html_is_told_from_text():
    assert looks_like_html(NEWS) and looks_like_html("<div><p>A paragraph.</p></div>")
    assert not looks_like_html("An article that mentions <b> tags and a <script> in passing.")
    assert not looks_like_html("Plain text. Two sentences.")


# --- HTML through the real service --------------------------------------------------------------

slow = pytest.mark.slow


@slow
@pytest.mark.parametrize("layout", LAYOUTS)
def test_a_posted_page_scores_only_its_article_sentences(server, layout):
    response = requests.post(server.url + "/api/evaluate", data=LAYOUTS[layout].encode(), timeout=120,
                             headers={"Content-Type": "text/html; charset=utf-8"}, params={"top": 3})
    assert response.status_code == 200, response.text
    body = response.json()
    assert_only_the_article(body)
    assert len(body["highlights"]) == 3 and "url" not in body


@slow
def test_json_html_gets_the_same_answer_as_text_html(server):
    as_html = requests.post(server.url + "/api/evaluate", data=NEWS.encode(), timeout=120,
                            headers={"Content-Type": "text/html"}).json()
    as_json = requests.post(server.url + "/api/evaluate", json={"html": NEWS}, timeout=120).json()
    assert as_json == as_html


@slow
def test_a_title_given_with_the_page_wins_over_the_pages_own(server):
    body = requests.post(server.url + "/api/evaluate", json={"html": NEWS, "title": "Mine"}, timeout=120).json()
    assert body["title"] == "Mine"


@slow
def test_a_batch_mixes_text_and_html(server):
    text = " ".join(ARTICLE_SENTENCES)
    response = requests.post(server.url + "/api/evaluate", timeout=120,
                             json={"articles": [{"text": text}, {"html": LAYOUTS["blog"]}], "top": 2})
    plain, page = response.json()["results"]
    assert "text" not in plain  # the client has its own text
    assert_only_the_article(page)
    assert {s["sent"]: s["score"] for s in plain["scored_article_sentences"]} == pytest.approx(
        {s["sent"]: s["score"] for s in page["scored_article_sentences"]}, abs=1e-4)


@slow
def test_a_page_with_no_article_is_422(server):
    response = requests.post(server.url + "/api/evaluate", data=NO_ARTICLE.encode(), timeout=30,
                             headers={"Content-Type": "text/html"})
    assert_error(response, 422, "no_article_text")
    response = requests.post(server.url + "/api/evaluate", json={"articles": [{"text": "Fine."}, {"html": NO_ARTICLE}]},
                             timeout=30)
    assert_error(response, 422, "no_article_text")
    assert response.json()["error"]["message"].startswith("article 1: ")


@slow
def test_urls_are_refused_while_fetching_is_off(server):
    with Canary() as canary:
        response = requests.post(server.url + "/api/evaluate", json={"url": f"http://127.0.0.1:{canary.port}/"},
                                 timeout=30)
    assert_error(response, 422, "url_fetching_off")
    assert canary.accepted == 0


# --- URLs through a gunicorn that fetches (conftest's fetching_server) --------------------------


def post_url(server, url: str) -> requests.Response:
    return requests.post(server.url + "/api/evaluate", json={"url": url}, timeout=60)


@slow
def test_an_allowed_url_is_fetched_and_scored(fetching_server, pages):
    response = post_url(fetching_server, pages.url + "/page/news")
    assert response.status_code == 200, response.text
    body = response.json()
    assert_only_the_article(body)
    assert body["url"] == pages.url + "/page/news"


@slow
def test_a_redirect_chain_is_followed(fetching_server, pages):
    body = post_url(fetching_server, pages.url + "/redirect/5").json()
    assert body["url"] == pages.url + "/page/news"
    assert_only_the_article(body)
    assert_error(post_url(fetching_server, pages.url + "/redirect/6"), 502, "fetch_failed")


@slow
@pytest.mark.parametrize("target", ["http://10.0.0.1/", "http://169.254.169.254/latest/meta-data/", "http://[::1]/",
                                    "http://192.168.0.1/", "file:///etc/passwd"])
def test_a_redirect_to_a_private_address_is_refused(fetching_server, pages, target):
    assert_error(post_url(fetching_server, f"{pages.url}/to/{target}"), 422, "url_not_allowed")


@slow
def test_an_endless_page_is_413(fetching_server, pages):
    assert_error(post_url(fetching_server, pages.url + "/endless"), 413, "page_too_large")


@slow
def test_a_stalled_server_is_504(fetching_server, pages):
    assert_error(post_url(fetching_server, pages.url + "/stall"), 504, "fetch_timeout")


@slow
def test_a_pdf_is_415(fetching_server, pages):
    assert_error(post_url(fetching_server, pages.url + "/paper.pdf"), 415, "not_html")


@slow
def test_internal_targets_outside_the_allow_list_are_refused_without_a_connection(fetching_server):
    with Canary() as canary:
        for url in [f"http://[::1]:{canary.port}/", f"http://127.0.0.2:{canary.port}/", "http://10.1.2.3/",
                    "http://172.16.0.1/", "http://192.168.1.1/", "http://169.254.169.254/", "http://[fd00::1]/",
                    "http://100.64.0.1/", f"gopher://127.0.0.1:{canary.port}/"]:
            assert_error(post_url(fetching_server, url), 422, "url_not_allowed")
    assert canary.accepted == 0


@slow
def test_fetches_show_in_metrics(fetching_server, pages):
    post_url(fetching_server, pages.url + "/page/news")
    post_url(fetching_server, pages.url + "/paper.pdf")
    text = requests.get(fetching_server.url + "/metrics", timeout=10).text
    assert metric_value(text, "brief_fetches_total", outcome="ok") >= 1
    assert metric_value(text, "brief_fetches_total", outcome="not_html") >= 1
    assert metric_value(text, "brief_fetches_total", outcome="page_too_large") >= 1
    assert metric_value(text, "brief_fetch_duration_seconds_count", outcome="ok") >= 1
    assert metric_value(text, "brief_fetch_bytes_count") >= 1
