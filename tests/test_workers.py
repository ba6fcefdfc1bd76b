"""The workers' shared records (app/server/workers.py): what GET /api/model and the master's hand-over read."""

from __future__ import annotations

import os
import subprocess
import sys

from app.server.workers import ask_to_retire, forget_worker, list_workers, read_worker, record_worker, retiring


def test_a_record_says_what_the_worker_serves_and_is_never_seen_half_written(tmp_path):
    record_worker(tmp_path, os.getpid(), "brief-1", "ready")
    entry = read_worker(tmp_path, os.getpid())
    assert entry["model"] == "brief-1" and entry["ready"] is True and entry["status"] == "ready"
    assert not list(tmp_path.glob(".*"))  # the temporary file was renamed into place


def test_a_worker_that_cannot_serve_records_why(tmp_path):
    record_worker(tmp_path, os.getpid(), None, "model not loaded: no brief.h5")
    assert list_workers(tmp_path) == [{**read_worker(tmp_path, os.getpid()), "retiring": False}]
    assert list_workers(tmp_path)[0]["ready"] is False and "brief.h5" in list_workers(tmp_path)[0]["status"]


def test_records_of_dead_processes_are_not_listed(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    record_worker(tmp_path, int(dead.stdout), "brief-old", "ready")
    record_worker(tmp_path, os.getpid(), "brief-new", "ready")
    assert [w["model"] for w in list_workers(tmp_path)] == ["brief-new"]


def test_retiring_marks_and_forgetting_removes_everything(tmp_path):
    record_worker(tmp_path, os.getpid(), "brief-1", "ready")
    assert not retiring(tmp_path, os.getpid())
    ask_to_retire(tmp_path, os.getpid())
    assert retiring(tmp_path, os.getpid()) and list_workers(tmp_path)[0]["retiring"] is True
    forget_worker(tmp_path, os.getpid())
    assert list(tmp_path.iterdir()) == [] and read_worker(tmp_path, os.getpid()) is None
