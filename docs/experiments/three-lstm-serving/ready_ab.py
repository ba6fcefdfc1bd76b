"""Seconds to ready for two models in turn, in one run: python docs/experiments/three-lstm-serving/ready_ab.py

From the project root, after make setup. "new" is the model in models/; "old" is read from /tmp/old, written first with
    mkdir -p /tmp/old && git show b31b419:models/brief.h5 > /tmp/old/brief.h5 && git show b31b419:models/brief.json > /tmp/old/brief.json
(on 2026-12-07 models/ held the three-LSTM model; to repeat the comparison now, put `git show cfa4c13:models/brief.h5` there).
Starts the bench's real gunicorn (bench.common.Server) with 1 and 2 workers for each model, twice.
"""
import os, sys
sys.path.insert(0, os.getcwd())
from pathlib import Path
import bench.common as bc
new = (bc.MODEL_PATH, bc.CARD_PATH)
old = (Path("/tmp/old/brief.h5"), Path("/tmp/old/brief.json"))
for rnd in range(2):
    for name, (m, c) in (("old (two-LSTM)", old), ("new (three-LSTM)", new)):
        bc.MODEL_PATH, bc.CARD_PATH = m, c
        for workers in (1, 2):
            with bc.Server(workers=workers) as server:
                print(f"{name} {workers} worker(s): ready {server.ready_seconds:.2f} s", flush=True)
