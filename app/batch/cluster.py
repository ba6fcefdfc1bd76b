"""Where a batch job's Ray runs: an existing cluster (``--address`` or ``RAY_ADDRESS``), else Ray embedded
in this process on this machine. ``brief batch`` and ``python -m training.encode --ray`` both start here."""

from __future__ import annotations

import logging
import os
import time
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def ray_session(address: str | None) -> Iterator[float]:
    """Ray connected for the block: to the cluster at ``address``, or started embedded (every core of this
    machine, no dashboard) and stopped after it. A session already open in this process is used as it is.
    Yields the seconds that starting or connecting took.

    On a cluster, every node needs Brief installed as here (the same image), and INPUT, OUTPUT and the
    model must be at paths every node can read.
    """
    import ray
    from ray.data import DataContext

    started = time.perf_counter()
    owned = not ray.is_initialized()
    if owned:
        common = {"include_dashboard": False, "logging_level": logging.WARNING, "log_to_driver": True}
        if address:
            ray.init(address=address, **common)
        else:
            ray.init(address="local", num_cpus=cpu_count(), **common)
    context = DataContext.get_current()
    context.enable_progress_bars = False  # the job shows its own: articles, rate and ETA
    context.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    try:
        yield time.perf_counter() - started
    finally:
        if owned:
            ray.shutdown()


def cpu_count() -> int:
    """The cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
