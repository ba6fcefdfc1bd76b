import os, sys
sys.path.insert(0, os.getcwd())
from pathlib import Path
import bench.common as bc
new = (bc.MODEL_PATH, bc.CARD_PATH)
old = (Path("/tmp/old/brief.h5"), Path("/tmp/old/brief.json"))
for rnd in range(2):
    for name, (m, c) in (("two-LSTM", old), ("three-LSTM", new)):
        bc.MODEL_PATH, bc.CARD_PATH = m, c
        for workers in (1, 2):
            with bc.Server(workers=workers) as server:
                print(f"{name} {workers} worker(s): ready {server.ready_seconds:.2f} s", flush=True)
