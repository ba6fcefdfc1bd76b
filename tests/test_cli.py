"""The installed ``brief`` console script, run as a user runs it: files, stdin and URLs, in-process and --server."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.pages import ARTICLE_SENTENCES, NEWS, TITLE
from tests.test_api import ARTICLE, N_ARTICLE_SENTENCES

BRIEF = Path(sys.executable).parent / "brief"
pytestmark = pytest.mark.skipif(not BRIEF.exists(), reason=f"no console script at {BRIEF}: run `make setup`")


def brief(*args: str, stdin: str | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run([str(BRIEF), *args], input=stdin, capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("inputs")
    (folder / "bridge.txt").write_text(ARTICLE)
    (folder / "bridge.html").write_text(NEWS)
    return folder


def json_lines(result: subprocess.CompletedProcess) -> list[dict]:
    return [json.loads(line) for line in result.stdout.splitlines()]


def assert_article_result(body: dict, top: int) -> None:
    assert sorted(s["sent"] for s in body["scored_article_sentences"]) == sorted(ARTICLE_SENTENCES)
    assert body["title"] == TITLE and len(body["highlights"]) == top
    for s in body["scored_article_sentences"]:
        assert body["text"][s["start"]:s["end"]] == s["sent"]


# --- usage: no model needed --------------------------------------------------------------------


@pytest.mark.parametrize("args", [[], ["highlight"], ["highlight", "--top", "0", "x.txt"], ["nope"],
                                  ["highlight", "--model", "gpt", "x.txt"], ["highlight", "-", "-"],
                                  ["serve", "--workers-of-doom"]])
def test_bad_usage_exits_2_with_a_usage_line(args):
    result = brief(*args, timeout=60)
    assert result.returncode == 2, result
    assert "usage: brief" in result.stderr


@pytest.mark.parametrize("args", [["--help"], ["highlight", "--help"], ["serve", "--help"]])
def test_help_everywhere(args):
    result = brief(*args, timeout=60)
    assert result.returncode == 0 and result.stdout.startswith("usage: brief")


@pytest.mark.slow
@pytest.mark.parametrize("command,module", [("train", "training.train"), ("evaluate", "training.evaluate")])
def test_train_and_evaluate_hand_their_arguments_to_the_entry_points(command, module):
    result = brief(command, "--help", timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith(f"usage: {command}.py")  # the entry point's own help
    bad = brief(command, "--no-such-option", timeout=120)
    assert bad.returncode == 2 and f"{command}.py: error:" in bad.stderr


# --- in process ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_text_file_gets_the_top_highlights_as_the_page_lists_them(files):
    result = brief("highlight", "--top", "2", str(files / "bridge.txt"))
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert lines[0] == "Untitled" and f"{N_ARTICLE_SENTENCES} sentences · scored by brief" in lines[1]
    assert lines[3] == "Top Highlights"
    highlights = lines[4:]
    assert len(highlights) == 2
    for line in highlights:  # "  score 0.56 ·   0.0%  The council voted ..."
        score, rest = line.strip().removeprefix("score ").split(" · ", 1)
        scroll, sentence = rest.strip().split("%  ", 1)
        assert 0 <= float(score) <= 1 and 0 <= float(scroll) <= 100
        assert sentence in ARTICLE


@pytest.mark.slow
def test_a_file_stdin_and_a_loopback_url_in_one_run_give_one_json_line_each(files, pages):
    result = brief("highlight", "--json", "--top", "3", "--progress", str(files / "bridge.html"), "-",
                   pages.url + "/redirect/2", str(files / "missing.txt"), stdin=NEWS)
    assert result.returncode == 1  # the missing file; the others are still scored
    from_file, from_stdin, from_url, missing = json_lines(result)
    for body in (from_file, from_stdin, from_url):
        assert_article_result(body, 3)
    assert from_file == from_stdin
    assert from_url["url"] == pages.url + "/page/news"
    assert {k: v for k, v in from_url.items() if k != "url"} == from_file
    assert missing["error"]["code"] == "unreadable_input"
    assert "missing.txt: No such file or directory" in result.stderr
    assert "4/4" in result.stderr  # the progress bar reached the end


@pytest.mark.slow
def test_luhn_in_process_matches_the_service(files, server):
    here = json_lines(brief("highlight", "--json", "--model", "luhn", str(files / "bridge.txt")))[0]
    there = requests.post(server.url + "/api/evaluate", params={"model": "luhn"}, data=ARTICLE.encode(),
                          headers={"Content-Type": "text/plain"}, timeout=60).json()
    assert here == there


# --- with --server -------------------------------------------------------------------------------


@pytest.mark.slow
def test_with_server_a_file_and_stdin_are_scored_by_the_service(files, server):
    result = brief("highlight", "--server", server.url, "--json", str(files / "bridge.txt"), "-", stdin=NEWS,
                   timeout=120)
    assert result.returncode == 0, result.stderr
    text, page = json_lines(result)
    assert len(text["scored_article_sentences"]) == N_ARTICLE_SENTENCES and "text" not in text
    assert_article_result(page, 5)
    direct = requests.post(server.url + "/api/evaluate", json={"text": ARTICLE}, timeout=60).json()
    assert text == direct


@pytest.mark.slow
def test_with_server_a_url_is_fetched_by_the_service_under_its_rules(fetching_server, server, pages):
    result = brief("highlight", "--server", fetching_server.url, "--json", pages.url + "/page/blog", timeout=120)
    assert result.returncode == 0, result.stderr
    assert json_lines(result)[0]["url"] == pages.url + "/page/blog"
    refused = brief("highlight", "--server", server.url, pages.url + "/page/blog", timeout=120)  # fetching off there
    assert refused.returncode == 1 and "BRIEF_FETCH_URLS" in refused.stderr and refused.stdout == ""


@pytest.mark.slow
def test_with_no_service_listening_the_input_fails_with_exit_1(files):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = brief("highlight", "--server", f"http://127.0.0.1:{port}", str(files / "bridge.txt"), timeout=60)
    assert result.returncode == 1 and "no answer from" in result.stderr


# --- brief serve ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_serve_starts_gunicorn_that_answers_health(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "BRIEF_WORKERS": "1", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    process = subprocess.Popen([str(BRIEF), "serve", "--host", "127.0.0.1", "--port", str(port)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline, answer = time.monotonic() + 180, None
        while answer is None and time.monotonic() < deadline:
            try:  # the worker takes a while to import TensorFlow; the model then loads in the background
                answer = requests.get(f"http://127.0.0.1:{port}/api/health", timeout=10).json()
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(0.5)
        assert answer == {"status": "ok"}
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)
