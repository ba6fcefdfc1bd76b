"""Multi-worker training (training/distributed.py): 2 worker processes on loopback, on the CPU.

They fit a small model on a slice of BBC to completion, and only the chief writes the model, which
loads and scores like a single-worker one; a worker killed mid-fit makes the run fail, with one line
that says so, instead of hanging. Both runs read the vector cache that ``training.train`` made of
the same articles, as after ``make train``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from app.core.checksums import file_sha256
from harness.server import child_pids

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
SETS = ["--train", "bbc:train[:24]", "--validation", "bbc:validation[:8]", "--test", "bbc:test[:4]"]
DATA = [*SETS, "--units", "16", "--batch-size", "8"]
TIMEOUT = 30  # --timeout: seconds a collective waits for the other worker


def distributed(out: Path, cache: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "KERAS_BACKEND": "tensorflow"}
    return subprocess.Popen([sys.executable, "-m", "training.distributed", "--local", "2", *DATA,
                             "--cache", str(cache / "vectors.h5"), "--out", str(out), "--timeout", str(TIMEOUT), *args],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.fixture(scope="module")
def cache(tmp_path_factory) -> Path:
    """A folder whose ``vectors.h5`` is the cache a one-fit ``training.train`` run made of the same articles."""
    folder = tmp_path_factory.mktemp("vectors")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    run = subprocess.run([sys.executable, "-m", "training.train", *SETS, "--cache", str(folder / "vectors.h5"),
                          "--out", str(folder / "single.h5"), "--runs", str(folder / "runs"), "--units", "8",
                          "--epochs", "1", "--restarts", "1", "--jobs", "1", "--average-with"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=1500)
    assert run.returncode == 0, run.stderr[-4000:]
    return folder


def test_two_workers_fit_to_completion_and_only_the_chief_writes_a_servable_model(tmp_path, cache):
    out = tmp_path / "models" / "mw.h5"
    made_by_train = file_sha256(cache / "vectors.h5")
    run = distributed(out, cache, "--epochs", "3", "--patience", "3")
    output, _ = run.communicate(timeout=1500)
    assert run.returncode == 0, output[-4000:]
    assert file_sha256(cache / "vectors.h5") == made_by_train  # the chief read every vector from it, encoding none
    for worker in (0, 1):
        assert f"worker {worker}: epoch 3/3" in output
    assert "worker 1: done; the chief writes" in output
    assert sorted(p.name for p in out.parent.iterdir()) == ["mw.h5", "mw.json"]  # nothing else, from no one else

    import keras

    from app.core.scorer import predict_rows
    from training.model import build_model
    from training.recipe import ModelConfig

    card = json.loads(out.with_suffix(".json").read_text())
    assert card["model_sha256"] == file_sha256(out) and card["distributed"]["workers"] == 2
    assert len(card["distributed"]["history"]["loss"]) == 3
    model = keras.saving.load_model(out, compile=False)
    single = build_model(ModelConfig(units=16), card["input_dim"])  # the recipe's, as the workers built it
    assert [type(layer).__name__ for layer in model.layers] == [type(layer).__name__ for layer in single.layers]
    assert [w.shape for w in model.get_weights()] == [w.shape for w in single.get_weights()]
    scores = predict_rows(model, [np.full((5, card["input_dim"]), 0.1, dtype=np.float32)])
    assert scores[0].shape == (5,) and all(0 <= s <= 1 for s in scores[0])


def test_a_worker_killed_mid_fit_fails_the_run_with_a_clear_message(tmp_path, cache):
    out = tmp_path / "models" / "mw.h5"
    run = distributed(out, cache, "--epochs", "200", "--patience", "200")
    lines = []
    started = time.monotonic()
    for line in run.stdout:  # until worker 1 is fitting
        lines.append(line)
        if "worker 1: epoch 1/200" in line:
            break
        assert time.monotonic() - started < 1500, "".join(lines)[-4000:]
    worker = next(pid for pid in child_pids(run.pid) if "--index 1" in cmdline(pid))
    os.kill(worker, signal.SIGKILL)
    killed = time.monotonic()
    rest, _ = run.communicate(timeout=TIMEOUT + 120)  # no hang: the chief notices within the timeout
    output = "".join(lines) + rest
    print(f"\nthe run ended {time.monotonic() - killed:.1f} s after the kill")
    assert run.returncode != 0
    assert "worker 0 of 2 lost the other workers mid-fit" in output and "Nothing was saved" in output, output[-3000:]
    assert "worker 1 exited with status -9" in output
    assert not out.exists() and not out.with_suffix(".json").exists()


def cmdline(pid: int) -> str:
    return (Path("/proc") / str(pid) / "cmdline").read_text().replace("\0", " ")
