"""The reader page in a real headless Chromium, against the real gunicorn and model.

Uses Debian's chromium (Playwright's own browser download needs the internet). The final state
is kept as a screenshot in ``artifacts/page.png``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)"),
]


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"],
        )
        yield browser
        browser.close()


def open_page(browser, url: str):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.requests_seen = []
    page.on("request", lambda request: page.requests_seen.append(request.url))
    page.errors_seen = []
    page.on("pageerror", lambda error: page.errors_seen.append(str(error)))
    # What the browser blocks under the page's Content-Security-Policy, as the page itself sees it.
    page.add_init_script("window.cspViolations = [];"
                         "document.addEventListener('securitypolicyviolation',"
                         " e => window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));")
    page.console_seen = []
    page.on("console", lambda message: page.console_seen.append(message.text))
    page.goto(url + "/")
    page.wait_for_selector("body[data-ready=true]")
    return context, page


@pytest.fixture
def page(browser, server):
    context, page = open_page(browser, server.url)
    yield page
    context.close()


@pytest.fixture
def fetching_page(browser, fetching_server):
    """The reader page of a service that fetches URLs (127.0.0.1 allowed)."""
    context, page = open_page(browser, fetching_server.url)
    yield page
    context.close()


def submit(page, action=None):
    """Score the article (by clicking the button, or by ``action``) and wait until it is shown."""
    with page.expect_response(lambda r: r.url.endswith("/api/evaluate")) as response:
        (action or (lambda: page.click("#submit")))()
    assert response.value.status == 200
    body = response.value.json()
    page.wait_for_function("m => document.body.dataset.model === m", arg=body["model"])
    return body


def test_reader_highlights_a_sample_and_scrolls_to_a_highlight(page, server):
    page.select_option("#sample", index=1)
    title = page.input_value("#title")
    assert title and len(page.input_value("#text")) > 500
    body = submit(page)

    # the article is shown whole, with the top 5 as tier 1 and the next ones up to 15% as tier 2
    n = len(body["scored_article_sentences"])
    assert page.locator("#article .sentence").count() == n
    assert page.locator("#article .tier-1").count() == 5
    assert page.locator("#article .tier-2").count() == max(0, int(n * 0.15) - 5)
    tier1 = sorted(int(i) for i in page.locator("#article .tier-1").evaluate_all("els => els.map(e => e.dataset.index)"))
    assert tier1 == body["highlights"]
    assert page.text_content("#article") == page.input_value("#text")
    assert page.text_content("#article-title") == title

    # the sidebar lists each highlight with its score and scroll position
    items = page.locator("#top-highlights .highlight-link")
    assert items.count() == 5
    by_index = {s["index"]: s for s in body["scored_article_sentences"]}
    last = by_index[body["highlights"][-1]]
    assert f"score {last['score']:.2f}" in items.nth(4).text_content()
    assert f"{last['scroll']:.1f}%" in items.nth(4).text_content()

    # skim mode fades everything but the highlights; highlight mode brings it back
    faded = page.locator("#article .sentence:not(.tier-1):not(.tier-2)").first
    assert float(faded.evaluate("e => getComputedStyle(e).opacity")) == 1.0
    page.click("#mode-skim")
    page.wait_for_function("() => document.querySelector('#article').classList.contains('mode-skim')")
    page.wait_for_timeout(300)  # the opacity transition
    assert float(faded.evaluate("e => getComputedStyle(e).opacity")) < 0.5
    kept = page.locator("#article .tier-1").first
    assert float(kept.evaluate("e => getComputedStyle(e).opacity")) == 1.0
    page.click("#mode-highlight")
    page.wait_for_timeout(300)
    assert float(faded.evaluate("e => getComputedStyle(e).opacity")) == 1.0

    # clicking the last highlight scrolls the article to it and marks it
    target = page.locator(f"#sentence-{last['index']}")
    items.nth(4).click()
    page.wait_for_function("i => document.getElementById('sentence-' + i).classList.contains('focused')", arg=last["index"])
    page.wait_for_timeout(300)
    box = target.bounding_box()
    assert box is not None and 0 <= box["y"] < 800, box
    assert page.evaluate("window.scrollY") > 0

    page.click("#mode-skim")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "page.png"), full_page=True)
    assert (ARTIFACTS / "page.png").stat().st_size > 10_000

    # nothing was fetched from anywhere but the service itself, no script failed, the policy blocked nothing
    assert page.requests_seen and all(url.startswith(server.url) for url in page.requests_seen)
    assert page.errors_seen == []
    assert page.evaluate("window.cspViolations") == []
    assert not [m for m in page.console_seen if "Content Security Policy" in m]


def test_the_page_is_served_under_a_policy_the_browser_enforces(page, server):
    policy = requests.get(server.url + "/", timeout=10).headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert page.evaluate("window.cspViolations") == []  # the page's own script and style loaded
    assert page.get_attribute("body", "data-ready") == "true"
    # An inline script is what the policy exists to stop: the browser refuses and reports it.
    page.evaluate("() => { const s = document.createElement('script');"
                  " s.textContent = 'document.body.dataset.inline = 1'; document.head.append(s); }")
    page.wait_for_function("() => window.cspViolations.length > 0")
    assert page.evaluate("window.cspViolations")[0].startswith("script-src")
    assert page.get_attribute("body", "data-inline") is None


def test_switching_to_luhn_rescores_with_luhn(page):
    page.select_option("#sample", index=2)
    lstm = submit(page)
    assert lstm["model"] != "luhn" and "scored by " + lstm["model"] in page.text_content("#meta")
    luhn = submit(page, lambda: page.check("input[name=model][value=luhn]"))
    assert luhn["model"] == "luhn"
    assert page.get_attribute("body", "data-model") == "luhn"
    assert "scored by luhn" in page.text_content("#meta")
    shown = sorted(int(i) for i in page.locator("#article .tier-1").evaluate_all("els => els.map(e => e.dataset.index)"))
    assert shown == luhn["highlights"]


def test_a_long_article_gets_a_second_tier_up_to_15_percent(page):
    topics = ["rain", "trains", "bees", "tides", "bridges", "schools", "markets", "parks", "ferries", "libraries"]
    text = " ".join(f"Report {i} says the {topics[i % 10]} of district {i // 10} changed in year {1990 + i}."
                    for i in range(60))
    page.fill("#text", text)
    submit(page)
    assert page.locator("#article .tier-1").count() == 5
    assert page.locator("#article .tier-2").count() == int(60 * 0.15) - 5


def test_pasted_markup_is_shown_as_text_not_run(page):
    text = ("<img src=x onerror=\"document.body.dataset.pwned='1'\"> An image tag is plain text here. "
            "<script>document.body.dataset.pwned='2'</script> So is a script tag. Both stay inert.")
    page.fill("#text", text)
    submit(page)
    assert page.locator("#article img, #article script").count() == 0
    assert page.text_content("#article") == text
    assert page.get_attribute("body", "data-pwned") is None


def test_an_empty_article_shows_the_service_error(page):
    page.fill("#text", "   ")
    page.click("#submit")
    page.wait_for_selector("#status.error")
    assert "empty" in page.text_content("#status")


# A web page whose article quotes markup as text (escaped in the HTML): it must show as text.
QUOTING_PAGE = """<!doctype html><html><head><title>Markup in the news</title>
<script>document.body.dataset.pwned = "head";</script></head><body>
<nav><a href="/">Home</a> <a href="/tech">Tech</a></nav>
<div class="cookie-banner">We use cookies. <button onclick="document.body.dataset.pwned='banner'">Accept</button></div>
<article><h1>Markup in the news</h1>
<p>Security writers often quote &lt;script&gt;document.body.dataset.pwned='3'&lt;/script&gt; in their articles.</p>
<p>An image tag such as &lt;img src=x onerror=alert(1)&gt; is quoted just as often in the same stories.</p>
<p>Readers should see both tags as plain text, and nothing on the page should run either of them.</p>
<img src="x" onerror="document.body.dataset.pwned='img'">
<script>document.body.dataset.pwned = "inline";</script></article>
<footer>Copyright 2026</footer></body></html>"""


def test_a_pasted_web_page_shows_its_article_text_and_runs_none_of_its_markup(page):
    page.fill("#text", QUOTING_PAGE)
    body = submit(page)
    assert "<script>document.body.dataset.pwned='3'</script>" in body["text"]  # the quoted tag, as text
    assert "cookies" not in body["text"] and "Home" not in body["text"]
    assert page.text_content("#article") == body["text"]
    assert page.text_content("#article-title") == "Markup in the news"
    assert "extracted from the pasted page" in page.text_content("#meta")
    assert page.locator("#article script, #article img, #article button").count() == 0
    assert page.locator("#article .sentence").count() == 3
    assert page.get_attribute("body", "data-pwned") is None
    assert page.errors_seen == []
    assert page.evaluate("window.cspViolations") == []


def test_the_url_box_is_there_only_when_the_service_fetches(page, fetching_page):
    assert page.locator("#url").count() == 0
    assert fetching_page.locator("#url").count() == 1


def test_a_url_is_fetched_by_the_service_and_its_article_shown(fetching_page, pages):
    from tests.pages import ARTICLE_SENTENCES, TITLE

    fetching_page.fill("#url", pages.url + "/redirect/1")
    body = submit(fetching_page)
    assert body["url"] == pages.url + "/page/news"
    assert fetching_page.text_content("#article") == body["text"]
    shown = fetching_page.locator("#article .sentence").evaluate_all("els => els.map(e => e.textContent)")
    assert sorted(shown) == sorted(ARTICLE_SENTENCES)
    assert fetching_page.text_content("#article-title") == TITLE
    assert "from " + pages.url + "/page/news" in fetching_page.text_content("#meta")
    # the browser itself only ever talked to the service
    assert all(url.startswith(fetching_page.url.rstrip("/")) for url in fetching_page.requests_seen)


def test_a_word_budget_and_filters_are_sent_shown_and_remembered_in_the_tab(page, server):
    page.select_option("#sample", index=1)
    page.select_option("#budget-unit", "words")
    assert page.input_value("#budget-value") == "75"  # the unit's default
    page.fill("#budget-value", "40")
    page.check("input[name=avoid][value=quotes]")
    page.check("input[name=avoid][value=questions]")
    body = submit(page)
    assert body["budget"] == {"words": 40}
    by_index = {s["index"]: s["sent"] for s in body["scored_article_sentences"]}
    shown = sorted(int(i) for i in page.locator("#article .tier-1").evaluate_all("els => els.map(e => e.dataset.index)"))
    assert shown == body["highlights"]
    assert len(shown) == 1 or sum(len(by_index[i].split()) for i in shown) <= 40
    assert "within 40 words" in page.text_content("#meta")

    # the key phrases, best first, above the article's text
    phrases = page.locator("#keywords li")
    assert phrases.count() == len(body["keywords"]) > 0
    assert phrases.first.text_content().startswith(body["keywords"][0]["phrase"])
    assert phrases.first.bounding_box()["y"] < page.locator("#article").bounding_box()["y"]

    # a share of the sentences
    page.select_option("#budget-unit", "ratio")
    page.fill("#budget-value", "50")
    body = submit(page)
    assert len(body["highlights"]) <= -(-len(by_index) // 2) and body["budget"] == {"ratio": 0.5}

    # reloaded, the tab remembers the length and the filters; another tab starts from the defaults
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    assert page.input_value("#budget-unit") == "ratio" and page.input_value("#budget-value") == "50"
    page.select_option("#budget-unit", "words")
    assert page.input_value("#budget-value") == "40"
    assert page.is_checked("input[name=avoid][value=quotes]") and not page.is_checked("input[name=avoid][value=exclamations]")
    other = page.context.browser.new_context().new_page()
    other.goto(server.url + "/")
    other.wait_for_selector("body[data-ready=true]")
    assert other.input_value("#budget-unit") == "top" and other.input_value("#budget-value") == "5"
    assert not other.is_checked("input[name=avoid][value=quotes]")
    other.context.close()
    assert page.errors_seen == [] and page.evaluate("window.cspViolations") == []
