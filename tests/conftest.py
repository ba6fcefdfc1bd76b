"""Fixtures for the service: an in-process ``app``/``client`` and one real gunicorn for the whole session.

``client`` runs without a model (its paths point at files that do not exist), so it answers at
once: it covers everything decided before the model is needed, and the not-ready states.
``server`` is the real thing: gunicorn with 2 workers on a free local port, serving the bundled
``models/brief.h5``; tests that use it are marked slow. ``redis_url`` is a real redis-server of the
test's own, on a free loopback port, for the rate limits that workers share.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from app import create_app
from harness.server import child_pids, stop, wait_for_workers
from harness.server import start_gunicorn as start_gunicorn_process  # conftest's start_gunicorn wraps it
from tests.pages import PageServer

REPO = Path(__file__).resolve().parent.parent
MODEL_FILES = (REPO / "models" / "brief.h5", REPO / "models" / "brief.json")
WORKERS = 2
START_TIMEOUT = 300  # seconds; each worker loads TensorFlow, MiniLM and the LSTM (slower while training runs)


@pytest.fixture
def app(tmp_path):
    return create_app({
        "TESTING": True,
        "MODEL_PATH": str(tmp_path / "brief.h5"),
        "CARD_PATH": str(tmp_path / "brief.json"),
        "LOAD_IN_BACKGROUND": False,
    })


@pytest.fixture
def client(app):
    return app.test_client()


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    metrics_dir: Path
    log: Path

    def worker_pids(self) -> set[int]:
        """The gunicorn workers now alive (children of the master)."""
        return set(child_pids(self.process.pid))

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def wait_until_ready(server: Server, timeout: float) -> None:
    """Until every worker has said ready: each /api/ready names the worker that answered."""
    try:
        wait_for_workers(server.url, WORKERS, server.process, timeout, server.log_text)
    except RuntimeError as e:
        pytest.fail(str(e))


def start_gunicorn(log: Path, metrics_dir: Path, workers: int = WORKERS, **settings: str) -> Server:
    """gunicorn -c gunicorn.conf.py 'app:create_app()' on a free local port; ``settings`` are BRIEF_ variables."""
    env = {"BRIEF_WORKERS": str(workers), "BRIEF_THREADS": "4", "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
           **{f"BRIEF_{k}": v for k, v in settings.items()}}
    process, url = start_gunicorn_process(log, env)
    return Server(url, process, metrics_dir, log)


def stop_gunicorn(server: Server) -> None:
    stop(server.process)


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> Server:
    """gunicorn with the bundled model (or ``BRIEF_MODEL_PATH``'s), as ``make serve`` runs it."""
    missing = [str(p) for p in MODEL_FILES if not p.is_file()]
    if missing and "BRIEF_MODEL_PATH" not in os.environ:
        pytest.fail(f"the bundled model is missing ({', '.join(missing)}): run `make train` or check out models/")
    server = start_gunicorn(tmp_path_factory.mktemp("gunicorn") / "gunicorn.log", tmp_path_factory.mktemp("prometheus"))
    try:
        wait_until_ready(server, START_TIMEOUT)
        yield server
    finally:
        stop_gunicorn(server)


@pytest.fixture(scope="session")
def pages():
    """A loopback HTTP server with the test pages, redirects, a PDF, an endless and a stalled page (tests/pages.py)."""
    with PageServer() as server:
        yield server


@pytest.fixture(scope="session")
def fetching_server(tmp_path_factory):
    """gunicorn (1 worker) with BRIEF_FETCH_URLS on, 127.0.0.1 allowed, a 200 kB page limit and a 3 s timeout."""
    folder = tmp_path_factory.mktemp("fetching")
    server = start_gunicorn(folder / "gunicorn.log", folder, workers=1, FETCH_URLS="1", FETCH_ALLOW="127.0.0.1",
                            FETCH_MAX_BYTES="200000", FETCH_TIMEOUT="3")
    try:
        wait_for_workers(server.url, 1, server.process, START_TIMEOUT, server.log_text)
        yield server
    finally:
        stop_gunicorn(server)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    """A redis-server of this module's own on loopback (no persistence), stopped afterwards."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("needs redis-server (apt-get install redis-server)")
    import redis

    port = free_port()
    folder = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen([binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
                                "--dir", str(folder)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url, socket_timeout=1)
    try:
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if process.poll() is not None:
                    pytest.fail(f"redis-server exited with {process.returncode}")
                time.sleep(0.05)
        else:
            pytest.fail("redis-server did not answer PING within 5 s")
        yield url
    finally:
        client.close()
        process.terminate()
        process.wait(10)
