"""A running gunicorn seen from outside: its workers, their memory, and when every one is ready.

One home for what the test fixtures (``tests/conftest.py``), the soak (``tests/soak.py``) and the
benchmarks (``bench/``, which run the server as the tests do) need to know about a real server.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parent.parent


def start_gunicorn(log: Path, env: dict[str, str | None], app: str = "app:create_app()", repo: Path = REPO,
                   python: str = sys.executable) -> tuple[subprocess.Popen, str]:
    """``gunicorn -c gunicorn.conf.py APP`` on a free loopback port, output to ``log``; returns it and its URL.

    ``env`` is laid over this process's environment (``BRIEF_WORKERS``, ...); a ``None`` value removes
    a variable. The server is in a session of its own, so signals to the caller do not reach it.
    ``repo``: the checkout it serves (``bench.startup`` measures an older one beside this).
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    merged = {**os.environ, "BRIEF_BIND": f"127.0.0.1:{port}", "TF_CPP_MIN_LOG_LEVEL": "3", **env}
    merged = {k: v for k, v in merged.items() if v is not None}
    with open(log, "wb") as out:
        process = subprocess.Popen([python, "-m", "gunicorn", "-c", "gunicorn.conf.py", app],
                                   cwd=repo, env=merged, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    return process, f"http://127.0.0.1:{port}"


def child_pids(parent: int) -> list[int]:
    """The processes whose parent is ``parent`` (a gunicorn master's workers), sorted."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()  # after the command name: state, ppid, ...
        except OSError:
            continue
        if int(fields[1]) == parent:
            pids.append(int(stat.parent.name))
    return sorted(pids)


def memory_mb(pid: int) -> dict:
    """Resident memory now and at its peak (VmRSS, VmHWM), and its proportional share (PSS: pages shared
    with the master and the other workers count a share each), in MB."""
    status = {}
    for path in (f"/proc/{pid}/status", f"/proc/{pid}/smaps_rollup"):
        for line in Path(path).read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM", "Pss"):
                status[key] = round(int(value.split()[0]) / 1024, 1)
    return {"rss_mb": status.get("VmRSS"), "peak_rss_mb": status.get("VmHWM"), "pss_mb": status.get("Pss")}


def wait_for_workers(url: str, workers: int, process: subprocess.Popen | None, timeout: float,
                     log_tail: Callable[[], str] = lambda: "") -> None:
    """Until ``workers`` different workers have answered ``/api/ready`` with 200 (each names itself).

    Raises ``RuntimeError`` with the end of the server's log if it exits (when ``process`` is given)
    or the time runs out.
    """
    import requests

    ready: set[int] = set()
    deadline = time.monotonic() + timeout

    def ask(_):
        try:
            r = requests.get(url + "/api/ready", timeout=5)
        except (requests.ConnectionError, requests.Timeout):  # no worker accepts before its model is loaded
            return None
        return r.json().get("worker") if r.status_code == 200 else None

    with ThreadPoolExecutor(8) as pool:
        while len(ready) < workers:
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {process.returncode}:\n{log_tail()[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn not ready after {timeout}s:\n{log_tail()[-3000:]}")
            ready |= {w for w in pool.map(ask, range(2 * workers + 2)) if w}
            time.sleep(0.1)


def stop(process: subprocess.Popen, timeout: float = 40) -> None:
    """SIGTERM (gunicorn's graceful stop), then SIGKILL if it has not exited after ``timeout`` s."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
