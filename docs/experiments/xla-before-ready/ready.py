"""Seconds from gunicorn's start to every worker ready, and to every worker's XLA graphs built.

    python docs/experiments/xla-before-ready/ready.py      # from the project root, after make setup

Starts the bench's real gunicorn (bench/common.py Server) with 1, 2, 1 and 2 workers in turn.
Since a worker compiles its LSTM graphs before it declares itself ready, the two figures are equal.
Runs against the code of its time (`git checkout f45bfa8`): the service no longer compiles XLA graphs
(docs/startup.md); `python -m bench.startup` measures ready time now.
"""
import os
import sys

sys.path.insert(0, os.getcwd())
from bench.common import Server  # noqa: E402

for workers in (1, 2, 1, 2):
    with Server(workers=workers) as server:
        print(f"{workers} worker(s): ready {server.ready_seconds:.2f} s, compiled {server.compiled_seconds:.2f} s", flush=True)
