"""The benchmarks still run: each script in its tiny ``--quick`` mode writes JSON with its figures.

All six start at once (they spend most of their time loading TensorFlow and the model, which
overlaps well), so the whole check takes about a minute.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# script -> keys its JSON must have besides "benchmark" and "machine"
BENCHMARKS = {
    "encoder": ("runs",),
    "latency": ("sizes", "ready_seconds"),
    "throughput": ("servers", "encoder_alone_2_threads"),
    "baselines": ("sizes",),
    "training": ("pipeline", "lstm_fit"),
    "startup": ("stages", "server", "lstm"),
    "batch": ("service", "batch"),
}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Start every benchmark in --quick mode; yield {name: (process, json path)}."""
    folder = tmp_path_factory.mktemp("bench")
    started = {}
    for name in BENCHMARKS:
        out = folder / f"{name}.json"
        process = subprocess.Popen(
            [sys.executable, "-m", f"bench.{name}", "--quick", "--out", str(out)],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        started[name] = (process, out)
    yield started
    for process, _ in started.values():
        if process.poll() is None:
            process.kill()
            process.wait()


@pytest.mark.parametrize("name", BENCHMARKS)
def test_benchmark_writes_json_with_its_figures(runs, name):
    process, out = runs[name]
    log, _ = process.communicate(timeout=300)
    assert process.returncode == 0, log[-3000:]
    result = json.loads(out.read_text())
    assert result["benchmark"] == name and result["quick"] is True
    assert result["machine"]["cores"] >= 1 and result["machine"]["date"]
    for key in BENCHMARKS[name]:
        assert result[key], f"{name}: {key} is empty"
