"""Seconds to ready for two models in turn, in one run:

    python docs/experiments/three-lstm-serving/ready_ab.py OLD.h5 NEW.h5

From the project root, after make setup; each model's card is the .json beside it. On 2026-12-07 OLD was
`git show b31b419:models/brief.h5` (two LSTMs) and NEW `git show cfa4c13:models/brief.h5` (three), each with its
brief.json. Starts the bench's real gunicorn (bench.common.Server, which serves bench.common.MODEL_PATH) with
1 and 2 workers for each model, twice.
"""
import os, sys
sys.path.insert(0, os.getcwd())
from pathlib import Path
import bench.common as bc

models = {name: Path(path) for name, path in zip(("old", "new"), sys.argv[1:3])}
for _ in range(2):
    for name, model in models.items():
        bc.MODEL_PATH, bc.CARD_PATH = model, model.with_suffix(".json")
        for workers in (1, 2):
            with bc.Server(workers=workers) as server:
                print(f"{name} {workers} worker(s): ready {server.ready_seconds:.2f} s", flush=True)
