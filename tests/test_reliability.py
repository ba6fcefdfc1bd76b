"""Brief keeps answering under load, faults and slow clients, and loads nothing that can run code.

Load, a killed worker and slow clients use the session's gunicorn (``server``); each model-file
fault starts its own short-lived one-worker gunicorn. The full 50-client soak of docs/reliability.md
is ``python tests/soak.py``; here a short one runs.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import signal
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from app import ROOT, Settings, create_app
from app.core.sentences import punkt_dir
from tests import soak
from tests.conftest import Server, start_gunicorn, stop_gunicorn

ARTICLE = ("The harbour council approved a new tide gauge on Monday. It will record the water level every minute. "
           "Fishermen say the old gauge often froze in winter. The new one is heated and reports over the network.")
BODY_TIMEOUT = Settings.BODY_TIMEOUT


def model_files() -> tuple[Path, Path]:
    return (Path(os.environ.get("BRIEF_MODEL_PATH", ROOT / "models" / "brief.h5")),
            Path(os.environ.get("BRIEF_CARD_PATH", ROOT / "models" / "brief.json")))


def evaluate(server: Server, timeout: float = 120) -> requests.Response:
    return requests.post(server.url + "/api/evaluate", data=ARTICLE.encode(),
                         headers={"Content-Type": "text/plain", "Connection": "close"}, timeout=timeout)


# --- security: what the code may load, and how it is configured -----------------------------------


def python_sources() -> list[Path]:
    return sorted((ROOT / "app").rglob("*.py"))


def test_no_code_executing_loader_in_the_service():
    """No pickle (or anything built on it) anywhere in app/: a model or parameter file could run code."""
    banned_modules = {"pickle", "cPickle", "dill", "joblib", "shelve", "marshal", "cloudpickle"}
    for path in python_sources():
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                assert not {a.name.split(".")[0] for a in node.names} & banned_modules, f"{path}: {ast.dump(node)}"
            elif isinstance(node, ast.ImportFrom):
                assert (node.module or "").split(".")[0] not in banned_modules, f"{path}: imports {node.module}"
            elif isinstance(node, ast.keyword) and node.arg in ("allow_pickle", "safe_mode"):
                # np.load(allow_pickle=True) unpickles; keras' safe_mode=False runs lambdas from the file
                expected = node.arg == "safe_mode"
                assert isinstance(node.value, ast.Constant) and node.value.value is expected, f"{path}: {node.arg}"
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in ("eval", "exec"), f"{path}: calls {node.func.id}"
    assert len(python_sources()) > 5  # the walk did see the service's modules


def test_punkt_parameters_are_plain_text_files():
    folder = punkt_dir(ROOT / "models" / "nltk_data")
    files = sorted(folder.iterdir())
    assert {f.name for f in files} >= {"abbrev_types.txt", "collocations.tab", "ortho_context.tab", "sent_starters.txt"}
    for f in files:
        assert not f.name.endswith((".pickle", ".pkl")), f
        f.read_bytes().decode("utf-8")  # text, not a binary (pickled) blob
    assert not list((ROOT / "models").rglob("*.pickle"))


def test_production_settings_have_no_debug_or_testing(monkeypatch):
    for name in list(os.environ):
        if name.startswith("BRIEF_"):
            monkeypatch.delenv(name)
    app = create_app({"LOAD_IN_BACKGROUND": False, "MODEL_PATH": "/nonexistent/brief.h5"})
    assert app.debug is False and app.config["DEBUG"] is False and app.config["TESTING"] is False
    assert app.config["MAX_CONTENT_LENGTH"] == 1 << 20 and app.config["BODY_TIMEOUT"] > 0


def test_the_container_runs_as_a_non_root_user():
    dockerfile = (ROOT / "Dockerfile").read_text()
    runtime = dockerfile.split("AS runtime", 1)[1]
    users = re.findall(r"^USER\s+(\S+)", runtime, re.MULTILINE)
    assert users and users[-1].split(":")[0] not in ("root", "0")


def test_an_oversized_body_is_refused_before_any_work(client, monkeypatch):
    """413 from Content-Length alone: the body is never read, nothing is split or scored."""
    def no_work(*args, **kwargs):
        raise AssertionError("the service did work on an oversized request")

    monkeypatch.setattr("app.server.service.BriefService.highlight", no_work)
    response = client.post("/api/evaluate", data=b"x" * ((1 << 20) + 1), content_type="text/plain")
    assert response.status_code == 413 and response.get_json()["error"]["code"] == "body_too_large"


# --- load: a short soak ------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_short_soak_serves_every_request_without_5xx_or_growth(server, tmp_path):
    out = tmp_path / "soak.json"
    rc = soak.main(["--url", server.url, "--master-pid", str(server.process.pid), "--clients", "10",
                    "--duration", "10", "--timeout", "120", "--out", str(out)])
    report = json.loads(out.read_text())
    assert report["served"] >= 20 and report["requests"] == report["served"]
    assert report["status_5xx"] == 0 and report["connection_errors"] == 0 and report["unexpected_status"] == 0, \
        report["errors_sample"]
    assert all(growth < 10 for growth in report["rss_mb"]["growth_percent_by_worker"].values())
    assert not report["rss_mb"]["workers_replaced"]
    assert rc == 0


# --- faults: a broken model file -----------------------------------------------------------------


def broken_models(folder: Path) -> dict[str, tuple[Path, Path, str]]:
    """Model and card for each fault, and what /api/ready must say."""
    model, card = model_files()
    good = json.loads(card.read_text())
    faults = {}

    missing = folder / "missing"
    missing.mkdir()
    (missing / "brief.json").write_text(json.dumps(good))
    faults["missing"] = (missing / "brief.h5", missing / "brief.json", "does not exist")

    truncated = folder / "truncated"
    truncated.mkdir()
    data = model.read_bytes()
    (truncated / "brief.h5").write_bytes(data[: len(data) // 2])
    # The card vouches for the truncated bytes, so it is the .h5 reader that must notice.
    (truncated / "brief.json").write_text(json.dumps(
        {**good, "model_sha256": hashlib.sha256(data[: len(data) // 2]).hexdigest()}))
    faults["truncated"] = (truncated / "brief.h5", truncated / "brief.json", "cannot load model file")

    mismatch = folder / "mismatch"
    mismatch.mkdir()
    (mismatch / "brief.h5").write_bytes(data)
    (mismatch / "brief.json").write_text(json.dumps({**good, "model_sha256": "0" * 64}))
    faults["sha256 mismatch"] = (mismatch / "brief.h5", mismatch / "brief.json", "does not match the sha256")
    return faults


@pytest.mark.slow
def test_a_broken_model_file_keeps_ready_503_with_the_reason_and_health_up(tmp_path):
    faults, servers = broken_models(tmp_path), {}
    try:
        for name, (model, card, _) in faults.items():
            folder = tmp_path / ("server-" + name.replace(" ", "-"))
            folder.mkdir()
            servers[name] = start_gunicorn(folder / "gunicorn.log", folder / "prometheus", workers=1,
                                           MODEL_PATH=str(model), CARD_PATH=str(card))
        for name, server in servers.items():
            why = faults[name][2]
            deadline = time.monotonic() + 180
            while True:  # until the worker has tried and failed to load
                try:
                    ready = requests.get(server.url + "/api/ready", timeout=5)
                    if "loading" not in ready.json()["error"]["message"]:
                        break
                except (requests.ConnectionError, requests.Timeout):  # no answer while the worker loads
                    pass
                assert time.monotonic() < deadline, server.log_text()[-2000:]
                time.sleep(0.5)
            assert ready.status_code == 503, name
            assert ready.json()["error"]["code"] == "not_ready"
            assert why in ready.json()["error"]["message"], (name, ready.text)
            assert requests.get(server.url + "/api/health", timeout=5).json() == {"status": "ok"}
            assert requests.post(server.url + "/api/evaluate", data=b"A sentence.", timeout=5,
                                 headers={"Content-Type": "text/plain"}).status_code == 503
            time.sleep(1)
            assert requests.get(server.url + "/api/ready", timeout=5).status_code == 503  # and it stays so
            lines = [line for line in server.log_text().splitlines() if "Brief cannot serve" in line]
            assert len(lines) == 1 and why in lines[0], (name, lines)
            assert "Traceback" not in server.log_text(), name
    finally:
        for server in servers.values():
            stop_gunicorn(server)


# --- faults: a worker killed under load ------------------------------------------------------------


@pytest.mark.slow
def test_a_worker_killed_under_load_is_replaced_and_later_requests_succeed(server):
    before = server.worker_pids()
    assert len(before) == 2
    statuses: list[int | str] = []
    stop = threading.Event()

    def load():
        while not stop.is_set():
            try:
                statuses.append(evaluate(server).status_code)
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError):
                # refused, or cut off mid-answer by the kill: a request on the killed worker
                statuses.append("connection_error")

    threads = [threading.Thread(target=load) for _ in range(6)]
    for t in threads:
        t.start()
    try:
        time.sleep(2)
        victim = min(before)
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while not (server.worker_pids() - before):
            assert time.monotonic() < deadline, "no worker replaced the killed one"
            time.sleep(0.2)
        replacement = (server.worker_pids() - before).pop()
        assert victim not in server.worker_pids()

        seen, deadline = set(), time.monotonic() + 300  # the new worker loads TensorFlow and the model
        with ThreadPoolExecutor(4) as pool:
            while replacement not in seen:
                assert time.monotonic() < deadline, server.log_text()[-2000:]
                answers = pool.map(lambda _: requests.get(server.url + "/api/ready", timeout=10), range(8))
                seen |= {r.json()["worker"] for r in answers if r.status_code == 200}
                time.sleep(0.5)
    finally:
        stop.set()
        for t in threads:
            t.join(150)

    # The new worker took no request while it loaded; only requests on the killed one lost their connection.
    assert set(statuses) <= {200, "connection_error"}, set(statuses)
    assert statuses.count("connection_error") <= 6 and statuses.count(200) > 0
    with ThreadPoolExecutor(4) as pool:
        after = list(pool.map(lambda _: evaluate(server).status_code, range(16)))
    assert after == [200] * 16
    assert server.worker_pids() == (before - {victim}) | {replacement}


# --- slow clients ------------------------------------------------------------------------------------


def slow_client(server: Server, stalled: bool, results: list, index: int) -> None:
    """Headers and part of a 1000-byte body, then a stall (or one byte a second): expects 408."""
    host, port = server.url.removeprefix("http://").split(":")
    started = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=BODY_TIMEOUT + 60) as s:
        s.sendall(b"POST /api/evaluate HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\n"
                  b"Content-Length: 1000\r\n\r\nA slow one.")
        reply = b""
        s.settimeout(1)
        while b"\r\n\r\n" not in reply and time.monotonic() - started < BODY_TIMEOUT + 60:
            try:
                chunk = s.recv(4096)
                if not chunk:
                    break
                reply += chunk
            except TimeoutError:
                if not stalled:
                    try:
                        s.sendall(b"x")
                    except OSError:
                        break
    results[index] = (reply.split(b"\r\n", 1)[0], time.monotonic() - started)


@pytest.mark.slow
def test_slow_body_clients_hold_no_one_beyond_the_body_timeout(server):
    n_slow = 6  # stalled and trickling clients, more than one worker's 4 threads
    results: list = [None] * n_slow
    slow = [threading.Thread(target=slow_client, args=(server, i % 2 == 0, results, i)) for i in range(n_slow)]
    for t in slow:
        t.start()
    time.sleep(1)
    started = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        others = list(pool.map(lambda _: evaluate(server, timeout=BODY_TIMEOUT + 60), range(8)))
    waited = time.monotonic() - started
    for t in slow:
        t.join(BODY_TIMEOUT + 70)
    assert [r.status_code for r in others] == [200] * 8
    assert waited < BODY_TIMEOUT + 20, waited
    for status_line, seconds in results:
        assert status_line.startswith(b"HTTP/1.1 408"), status_line
        # each is cut off after BODY_TIMEOUT once a thread reads it; queued behind others, at most twice that
        assert BODY_TIMEOUT - 1 < seconds < 2 * BODY_TIMEOUT + 15, seconds
