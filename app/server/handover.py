"""Workers replaced without a dropped request: an old worker serves until its replacement is ready.

gunicorn stops a worker first and starts its replacement after, so for as long as the new one
takes to load TensorFlow and the model (30 s and more) there is one server fewer, or none: at a
reload (``kill -HUP`` of the master, the way to roll out a new model) all old workers stop at once,
and ``max_requests`` stops a worker before the next one is started. Here the master's
``Supervisor`` does it the other way round:

* a worker to replace is marked *retiring*: at a reload every worker alive then; for recycling, a
  worker that has served ``BRIEF_MAX_REQUESTS`` requests marks itself (``ask_to_retire``);
* the master keeps ``workers`` *plus* the retiring ones, so gunicorn starts their replacements
  beside them;
* a retiring worker gets SIGTERM (it stops accepting and finishes the requests it holds, within
  ``graceful_timeout``) once enough fresh workers are ready to take its place; one that is not
  ready itself goes at once (one still loading stops without finishing the load:
  ``gunicorn.conf.py``'s ``beat_while_loading``). There is no deadline: a new model that cannot
  load leaves the old workers serving beside the new ones (which answer 503 with the reason)
  until a model that loads is rolled out.

A new worker takes no connection before its model is loaded (it loads in ``create_app``, before
gunicorn lets it accept) and says it is ready in its record (``app.server.workers``).

The Supervisor lives in the gunicorn master: its thread polls the records; it and the master's own
hooks (``on_reload``, ``child_exit``, which gunicorn runs on the master's main thread) change the
count of workers the master keeps under one lock. The master re-reads that count on every loop.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

from app.server.workers import read_worker, retiring

POLL = 0.2  # seconds between looks at the workers' records

_supervisor: "Supervisor | None" = None  # one per master, kept across reloads (gunicorn re-reads its config)


def supervise(server, folder: Path) -> "Supervisor":
    """From gunicorn's ``when_ready(server)`` (at start and at each reload): the master's Supervisor."""
    global _supervisor
    if _supervisor is None:
        _supervisor = Supervisor(server, folder)
        threading.Thread(target=_supervisor.run, name="brief-handover", daemon=True).start()
    return _supervisor


def supervisor() -> "Supervisor | None":
    return _supervisor


class Supervisor:
    def __init__(self, server, folder: Path):
        self.server, self.folder = server, folder
        self.lock = threading.Lock()
        self.retiring: set[int] = set()  # to replace: each serves until its replacement is ready
        self.stopping: set[int] = set()  # sent SIGTERM, finishing what they hold

    def retire_all(self) -> None:
        """At a reload (``on_reload``, before gunicorn starts the new workers): replace every worker alive now."""
        with self.lock:
            self.retiring |= set(self.server.WORKERS) - self.stopping
            self.keep_count()

    def forget(self, pid: int) -> None:
        """A worker has exited (``child_exit``): no longer count it."""
        with self.lock:
            self.retiring.discard(pid)
            self.stopping.discard(pid)
            self.keep_count()

    def keep_count(self) -> None:
        # Retiring and stopping workers are kept on top of the configured number, so that gunicorn
        # starts the replacements beside them and kills none of the others to make room.
        self.server.num_workers = self.server.cfg.workers + len(self.retiring) + len(self.stopping)

    def run(self) -> None:
        while True:
            try:
                self.step()
            except Exception:  # noqa: BLE001 - a bug here must not end hand-overs for the master's life
                self.server.log.exception("brief hand-over: unexpected error")
            time.sleep(POLL)

    def step(self) -> None:
        workers = dict(self.server.WORKERS)  # a copy: the master's loop changes the table meanwhile
        with self.lock:
            for pid in workers:
                if pid not in self.retiring and pid not in self.stopping and retiring(self.folder, pid):
                    self.retiring.add(pid)
                    self.server.log.info("worker %s recycles: it serves until its replacement is ready", pid)
            records = {pid: read_worker(self.folder, pid) for pid in workers}
            ready = {pid for pid, record in records.items() if record and record["ready"]}
            fresh_ready = [pid for pid in ready if pid not in self.retiring and pid not in self.stopping]
            serving = sorted((pid for pid in self.retiring if pid in ready), key=lambda pid: workers[pid].age)
            leaving = [pid for pid in self.retiring if pid in workers and pid not in ready]  # serves nothing
            spare = len(fresh_ready) + len(serving) - self.server.cfg.workers  # ready workers beyond the number
            leaving += serving[:max(0, spare)]
            for pid in leaving:
                self.retiring.discard(pid)
                self.stopping.add(pid)
                try:
                    os.kill(pid, signal.SIGTERM)  # graceful: it finishes the requests it holds
                except ProcessLookupError:
                    pass
            self.retiring &= set(self.server.WORKERS)  # any that exited meanwhile
            if leaving:
                self.server.log.info("workers %s replaced (or serving nothing): stopping them gracefully", leaving)
            self.keep_count()
