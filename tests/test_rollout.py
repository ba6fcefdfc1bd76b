"""Model rollouts and worker recycling under load drop no request.

A rollout is what an operator does: put the new model's files in place (here: point the ``current``
symlink at a new folder, one atomic rename), then ``kill -HUP`` the gunicorn master. The old workers
keep serving until the new ones have loaded the new model (``app.server.handover``); meanwhile each
worker is also recycled every ~50 requests (``BRIEF_MAX_REQUESTS``), and no worker takes a request
before its model is loaded.

The second and third models are the shipped one under another card id: the rollout machinery does
not care what the weights are, and each response names the model that scored it.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import threading
import time
from pathlib import Path

import pytest
import requests

from app.server.sample_articles import load_samples
from tests.conftest import MODEL_FILES, START_TIMEOUT, start_gunicorn, stop_gunicorn, wait_until_ready

pytestmark = pytest.mark.slow

CLIENTS = 10
MIN_LOAD_SECONDS = 20  # the load runs at least this long (workers recycle every few seconds under it), and until
# the last rollout has been served a while
ROLLOUTS = 3
MAX_REQUESTS = 50  # each worker is recycled after 50 requests, give or take the jitter
# Seconds from the SIGHUP to the last response of an older model: the new workers' load, ~35 s on 2
# idle cores, but 80-300 s on 2 cores that this load and other engineers' jobs keep busy (measured).
SWITCH_WITHIN = 420
CLIENT_TIMEOUT = 300  # seconds a request may wait for an answer
AFTER_LAST = 5  # seconds of load after the last rollout is complete
SETTLE = 3  # seconds of load before the first rollout and after each one


def write_version(root: Path, name: str, model_id: str) -> Path:
    """A model folder: the shipped weights, and their card under ``model_id``."""
    folder = root / name
    folder.mkdir()
    h5, card = MODEL_FILES
    shutil.copyfile(h5, folder / "brief.h5")
    (folder / "brief.json").write_text(json.dumps({**json.loads(card.read_text()), "id": model_id}))
    return folder


def point_current(root: Path, folder: Path) -> None:
    """Swap ``current`` to ``folder`` in one rename: a worker starting meanwhile reads one version whole."""
    link = root / "current.next"
    link.unlink(missing_ok=True)
    link.symlink_to(folder.name)
    os.replace(link, root / "current")


class Load:
    """``CLIENTS`` threads posting articles (a fresh connection each), recording every outcome."""

    def __init__(self, url: str, body: bytes):
        self.host, self.port = url.removeprefix("http://").split(":")
        self.body = body
        self.results: list[tuple[float, float, str]] = []  # (sent, answered, model id or failure)
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self.client, daemon=True) for _ in range(CLIENTS)]

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def stop(self) -> None:
        self.stopping.set()
        for t in self.threads:
            t.join(CLIENT_TIMEOUT + 10)

    def client(self) -> None:
        while not self.stopping.is_set():
            sent = time.time()
            try:
                conn = http.client.HTTPConnection(self.host, int(self.port), timeout=CLIENT_TIMEOUT)
                conn.request("POST", "/api/evaluate", self.body, {"Content-Type": "text/plain; charset=utf-8"})
                response = conn.getresponse()
                payload = response.read()
                conn.close()
                outcome = json.loads(payload)["model"] if response.status == 200 else f"HTTP {response.status}"
            except (OSError, http.client.HTTPException, ValueError, KeyError) as e:
                outcome = f"{type(e).__name__}: {e}"
            with self.lock:
                self.results.append((sent, time.time(), outcome))


def served_models(url: str) -> list[str]:
    return [w["model"] for w in requests.get(url + "/api/model", timeout=CLIENT_TIMEOUT).json()["workers"]]


def test_three_rollouts_and_recycling_every_50_requests_under_load_fail_no_request(tmp_path):
    root = tmp_path / "models"
    root.mkdir()
    base_id = json.loads(MODEL_FILES[1].read_text())["id"]
    ids = [base_id] + [f"{base_id}-rollout-{k}" for k in range(1, ROLLOUTS + 1)]
    point_current(root, write_version(root, "v0", ids[0]))
    server = start_gunicorn(tmp_path / "gunicorn.log", tmp_path / "metrics", workers=2,
                            MODEL_PATH=str(root / "current" / "brief.h5"), CARD_PATH=str(root / "current" / "brief.json"),
                            MAX_REQUESTS=str(MAX_REQUESTS), MAX_REQUESTS_JITTER="10")
    load = Load(server.url, load_samples()[0]["text"].encode())
    hups, switched = [], []
    try:
        wait_until_ready(server, START_TIMEOUT)
        started = time.time()
        load.start()
        time.sleep(SETTLE)
        for k in range(1, ROLLOUTS + 1):
            point_current(root, write_version(root, f"v{k}", ids[k]))
            hups.append(time.time())
            os.kill(server.process.pid, signal.SIGHUP)
            while set(served_models(server.url)) != {ids[k]} and time.time() - hups[-1] <= SWITCH_WITHIN:
                time.sleep(1)  # until every worker serves the new model
            switched.append(time.time())
            if time.time() - hups[-1] > SWITCH_WITHIN:
                break  # failed: the figures below say how far it got
            time.sleep(SETTLE)
        while time.time() - started < MIN_LOAD_SECONDS or time.time() - switched[-1] < AFTER_LAST:
            time.sleep(1)
    finally:
        load.stop()
        log = server.log_text()
        stop_gunicorn(server)
    results = sorted(load.results, key=lambda r: r[1])
    failures = [r for r in results if r[2] not in ids]
    recycled = log.count("recycles: it serves until its replacement is ready")
    latencies = sorted(done - sent for sent, done, _ in results)
    switch_seconds = []
    for k, hup in enumerate(hups, start=1):
        older = [done for sent, done, model in results if model in ids[:k]]
        switch_seconds.append(round(max(older) - hup, 1) if older else None)
    print(f"\n{len(results)} requests in {results[-1][1] - started:.0f} s from {CLIENTS} clients, "
          f"{len(failures)} failed; {recycled} worker recycles; rollouts: last older-model response "
          f"{switch_seconds} s after each SIGHUP; latency p50 {latencies[len(latencies) // 2]:.1f} s, "
          f"max {latencies[-1]:.1f} s")
    assert failures == [], failures[:5]
    assert len(hups) == ROLLOUTS and all(done - hup <= SWITCH_WITHIN for hup, done in zip(hups, switched)), \
        f"not every worker served the new model within {SWITCH_WITHIN} s of a SIGHUP"
    assert results[-1][1] - started >= MIN_LOAD_SECONDS
    assert recycled >= 4, "the load must recycle workers through max_requests"
    order = {model: i for i, model in enumerate(ids)}
    for k, hup in enumerate(hups, start=1):
        assert switch_seconds[k - 1] is not None and switch_seconds[k - 1] <= SWITCH_WITHIN, f"rollout {k}: older model answered {switch_seconds[k - 1]} s on"
        assert any(model == ids[k] for sent, done, model in results if done > hup), f"rollout {k} never served"
        late_old = [r for r in results if r[0] > switched[k - 1] and order[r[2]] < k]
        assert late_old == [], f"rollout {k}: requests sent after every worker served {ids[k]} got an older model"
