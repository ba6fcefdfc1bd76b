"""Several threads' work in one call: how the request threads of a worker share encoder batches."""

from __future__ import annotations

import threading
from typing import Sequence

import numpy as np


class Coalescer:
    """Calls ``fn`` on the items of every thread waiting at the same time, in one call.

    One caller at a time runs ``fn`` (the encoder has cores for one); callers that arrive meanwhile
    queue, and the next free caller runs the whole queue (up to ``max_items``) as one list. Several
    requests in a worker thus share encoder batches, which are cheaper per sentence than small ones,
    and no thread waits for a timer: a lone request runs at once.
    ``fn(items) -> array`` must return one row per item, in order.
    """

    def __init__(self, fn, max_items: int):
        self._fn = fn
        self._max_items = max_items
        self._changed = threading.Condition()
        self._queue: list[_Job] = []
        self._running = False
        self.calls = 0  # how many times fn ran...
        self.jobs = 0  # ...for how many callers

    def __call__(self, items: Sequence) -> np.ndarray:
        job = _Job(list(items))
        with self._changed:
            self._queue.append(job)
        while True:
            with self._changed:
                while self._running and not job.done:
                    self._changed.wait()
                if job.done:
                    break
                self._running = True
                batch = self._take()
            self._run(batch)
        if job.error is not None:
            raise job.error
        return job.result

    def _take(self) -> list[_Job]:
        """The oldest waiting jobs, as many as fit in ``max_items`` (at least one)."""
        size, count = 0, 0
        for job in self._queue:
            if count and size + len(job.items) > self._max_items:
                break
            size, count = size + len(job.items), count + 1
        batch, self._queue = self._queue[:count], self._queue[count:]
        return batch

    def _run(self, batch: list[_Job]) -> None:
        try:
            out = self._fn([item for job in batch for item in job.items])
            offset = 0
            for job in batch:
                job.result = out[offset : offset + len(job.items)]
                offset += len(job.items)
        except BaseException as e:  # every caller of the batch sees its failure
            for job in batch:
                job.error = e
        finally:
            with self._changed:
                for job in batch:
                    job.done = True
                self.calls += 1
                self.jobs += len(batch)
                self._running = False
                self._changed.notify_all()


class _Job:
    __slots__ = ("items", "result", "error", "done")

    def __init__(self, items: list):
        self.items, self.result, self.error, self.done = items, None, None, False
