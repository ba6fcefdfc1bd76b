"""Where a worker's start-up time and memory go, how long the 2-worker server takes to be ready, and the LSTM's cost.

    python -m bench.startup                         # -> bench/results/startup.json (about 3 minutes)
    python -m bench.startup --repo /tmp/old-brief   # the same for another checkout (run with this venv)

Three parts, each in fresh processes:
- stages: one process replays a worker's load step by step (the app's imports, the encoder, the
  LSTM with its card and the splitter, the warm-up, and the XLA compile where the checkout still
  has one), with the seconds and the memory after each (RSS, anonymous RSS, PSS from /proc), and
  whether TensorFlow is loaded by then; plus what importing TensorFlow and keras-hub costs alone;
- server: ``gunicorn -c gunicorn.conf.py 'app:create_app()'`` with ``BRIEF_WORKERS`` workers
  (default 2): seconds from start until every worker has answered ``/api/ready``, then each
  worker's RSS, PSS and anonymous memory, and whether TensorFlow's library is mapped in it;
- without_encoder: what a worker holds besides the encoder (the app's code, the LSTM, its card,
  Punkt), in a fresh interpreter: the rest of a per-worker memory budget is the encoder's;
- lstm: the served model's forward pass on the rows of real articles of ~150 sentences, one
  thread, wall and CPU time, beside the Keras model's TensorFlow graph and its XLA-compiled graph
  padded to a fixed length (what the server used until f45bfa8) on the same rows.

Each worker's threads follow ``gunicorn.conf.py`` (cores / workers); the in-process parts run on one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np

from bench.common import REPO, articles, parse_args, percentiles, write_result
from harness.machine import machine
from harness.server import child_pids, start_gunicorn, stop, wait_for_workers

XLA_LENGTHS = (16, 32, 64, 96, 160, 256)  # the one-article programs the server compiled before ready until f45bfa8
ONE_THREAD = {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1", "OMP_NUM_THREADS": "1",
              "TF_CPP_MIN_LOG_LEVEL": "3"}

# The start of each script below: this process's RSS, anonymous RSS, PSS and anonymous PSS in MiB.
MEMORY = textwrap.dedent("""
    import json, sys, time
    def memory():
        out = {}
        for path, keys in (("/proc/self/status", ("VmRSS", "RssAnon")), ("/proc/self/smaps_rollup", ("Pss", "Pss_Anon"))):
            for line in open(path):
                key, _, value = line.partition(":")
                if key in keys:
                    out[key] = round(int(value.split()[0]) / 1024, 1)
        return out
""")

# Run in a fresh interpreter from the checkout's root; prints one JSON line per stage.
STAGES = MEMORY + textwrap.dedent("""
    last = start = time.perf_counter()
    def stage(name):
        global last
        now = time.perf_counter()
        print(json.dumps({"stage": name, "seconds": round(now - last, 3), "total_seconds": round(now - start, 3),
                          "tensorflow_loaded": "tensorflow" in sys.modules, "memory_mb": memory()}), flush=True)
        last = time.perf_counter()
    import app.server.service as service
    from app.core.encoder import SentenceEncoder
    from app.core.summarizer import Summarizer
    from app.settings import resolve
    stage("imports: Flask, NumPy, the app's modules")
    encoder = SentenceEncoder()
    stage("encoder: its runtime's imports, weights, graph")
    summarizer = Summarizer(resolve("models/brief.h5"), resolve("models/brief.json"), resolve("models/nltk_data"),
                            encoder=encoder)
    stage("LSTM (.h5), card, Punkt")
    summarizer.score_texts([service.WARM_UP_TEXT])
    stage("warm-up: one article scored")
    scorer = getattr(summarizer, "scorer", None)
    if hasattr(scorer, "compile"):  # the release before app.core.numpy_lstm compiled XLA graphs before ready
        scorer.compile()
        stage("XLA compile of the LSTM, 6 lengths")
""")

# Everything a worker holds but the encoder (the app's code, the LSTM, its card, Punkt), in a fresh
# interpreter: what the encoder's runtime may add within a per-worker budget. This checkout only.
WITHOUT_ENCODER = MEMORY + textwrap.dedent("""
    started = time.perf_counter()
    import numpy as np
    import app.server.routes
    from app.core.card import EncoderCard, load_model_with_card
    from app.core.encoder import DIM
    from app.core.features import FEATURES
    from app.core.model_file import load_scoring_model
    from app.core.scorer import predict_rows
    from app.core.sentences import SentenceSplitter
    from app.core.summarizer import featurize_articles
    from app.settings import resolve
    splitter = SentenceSplitter(resolve("models/nltk_data"))
    card, model = load_model_with_card(resolve("models/brief.h5"), resolve("models/brief.json"), FEATURES,
                                       EncoderCard.describe(), load_scoring_model)
    sentences = splitter.split("Brief is starting. This sentence warms up the model. It is never shown.")
    vectors = np.random.default_rng(0).normal(size=(len(sentences), DIM)).astype(np.float32)
    predict_rows(model, featurize_articles([sentences], vectors))
    print(json.dumps({"seconds": round(time.perf_counter() - started, 3), "memory_mb": memory(),
                      "tensorflow_loaded": "tensorflow" in sys.modules, "keras_loaded": "keras" in sys.modules}))
""")

IMPORT_ALONE = textwrap.dedent("""
    import sys, time
    started = time.perf_counter()
    __import__(sys.argv[1])
    seconds = time.perf_counter() - started
    rss = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("RssAnon"))
    print(round(seconds, 3), round(rss / 1024, 1))
""")


def python_of(repo: Path) -> str:
    own = repo / ".venv" / "bin" / "python"
    return str(own) if own.is_file() else sys.executable


def run_stages(repo: Path) -> list[dict]:
    result = subprocess.run([python_of(repo), "-c", STAGES], cwd=repo, env={**os.environ, **ONE_THREAD},
                            capture_output=True, text=True, timeout=600)
    if result.returncode:
        raise RuntimeError(result.stderr[-3000:])
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def import_alone(repo: Path, module: str) -> dict:
    result = subprocess.run([python_of(repo), "-c", IMPORT_ALONE, module], cwd=repo, env={**os.environ, **ONE_THREAD},
                            capture_output=True, text=True, timeout=300)
    if result.returncode:
        return {"error": result.stderr.strip().splitlines()[-1]}
    seconds, anon = result.stdout.split()
    return {"seconds": float(seconds), "anon_rss_mb": float(anon)}


def without_encoder() -> dict:
    result = subprocess.run([sys.executable, "-c", WITHOUT_ENCODER], cwd=REPO, env={**os.environ, **ONE_THREAD},
                            capture_output=True, text=True, timeout=300)
    if result.returncode:
        raise RuntimeError(result.stderr[-3000:])
    return json.loads(result.stdout.splitlines()[-1])


def worker_memory(pid: int) -> dict:
    """RSS, anonymous RSS, PSS and its anonymous part (MB); whether TensorFlow's library is mapped."""
    out = {}
    for path, keys in ((f"/proc/{pid}/status", ("VmRSS", "RssAnon")), (f"/proc/{pid}/smaps_rollup", ("Pss", "Pss_Anon"))):
        for line in Path(path).read_text().splitlines():
            key, _, value = line.partition(":")
            if key in keys:
                out[key] = round(int(value.split()[0]) / 1024, 1)
    out["tensorflow_mapped"] = "libtensorflow" in Path(f"/proc/{pid}/maps").read_text()
    return out


def measure_server(repo: Path, workers: int) -> dict:
    log = Path(f"/tmp/brief-bench-startup-{os.getpid()}.log")
    env = {"BRIEF_WORKERS": str(workers), "PROMETHEUS_MULTIPROC_DIR": None, "BRIEF_WORKERS_DIR": None}
    started = time.perf_counter()
    process, url = start_gunicorn(log, env, repo=repo, python=python_of(repo))
    try:
        wait_for_workers(url, workers, process, 300, lambda: log.read_text(errors="replace"))
        ready = time.perf_counter() - started
        return {"workers": workers, "ready_seconds": round(ready, 2),
                "worker_memory_mb": [worker_memory(pid) for pid in child_pids(process.pid)]}
    finally:
        stop(process)
        log.unlink(missing_ok=True)


def measure_lstm(n_articles: int, repeats: int) -> dict:
    """The served forward pass against the Keras graph and its XLA compile, one thread, the same rows."""
    os.environ.update(ONE_THREAD)
    import tensorflow as tf

    from app.core.encoder import SentenceEncoder
    from app.core.model_file import load_keras_model, load_scoring_model
    from app.core.scorer import ModelScorer, scorer_for
    from app.core.summarizer import featurize_articles
    from app.core.sentences import SentenceSplitter
    from app.settings import resolve

    splitter = SentenceSplitter(resolve("models/nltk_data"))
    texts = [splitter.split(t) for t in articles("long", n_articles)]
    rows = featurize_articles(texts, SentenceEncoder(cache_size=0).encode([s.text for a in texts for s in a]))
    served = scorer_for(load_scoring_model(resolve("models/brief.h5")))
    keras_model = load_keras_model(resolve("models/brief.h5"))
    xla = tf.function(lambda x, mask: keras_model([x, mask], training=False), jit_compile=True)

    def xla_padded(x: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """As the server ran it until f45bfa8: padded to the next of its compiled lengths, one program each."""
        length = next(n for n in XLA_LENGTHS if n >= x.shape[1])
        padded, padded_mask = np.zeros((1, length, x.shape[2]), np.float32), np.zeros((1, length), np.float32)
        padded[:, : x.shape[1]], padded_mask[:, : x.shape[1]] = x, mask
        return xla(padded, padded_mask).numpy()[:, : x.shape[1]]

    forwards = {"served (" + type(served).__name__ + ")": served, "keras_tensorflow_graph": ModelScorer(keras_model),
                "keras_xla": xla_padded}
    out = {"sentences_mean": round(float(np.mean([len(r) for r in rows])), 1), "threads": 1}
    inputs = [(r[None], np.ones((1, len(r)), np.float32)) for r in rows]
    reference = None
    for name, forward in forwards.items():
        started = time.perf_counter()
        forward(*inputs[0])  # a first call: tracing, or XLA's compile
        first = time.perf_counter() - started
        seconds, cpu = [], []
        for _ in range(repeats):
            for x, mask in inputs:
                started, started_cpu = time.perf_counter(), time.process_time()
                scores = forward(x, mask)
                seconds.append(time.perf_counter() - started)
                cpu.append(time.process_time() - started_cpu)
        reference = scores if reference is None else reference
        # CPU time is what a crowded host does not inflate (wall time includes waiting for a core)
        out[name] = {"first_call_ms": round(first * 1e3, 1), "ms": percentiles(seconds), "cpu_ms": percentiles(cpu),
                     "max_abs_difference_to_served": float(np.abs(scores - reference).max())}
    return out


def main() -> None:
    args = parse_args(__doc__, lambda p: (
        p.add_argument("--repo", type=Path, default=REPO, help="the checkout to measure (default: this one)"),
        p.add_argument("--workers", type=int, default=2)))
    repo = args.repo.resolve()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=repo, capture_output=True, text=True).stdout.strip()
    result = {"benchmark": "startup", "machine": machine(), "quick": args.quick, "repo": str(repo), "repo_commit": commit}
    result["stages"] = run_stages(repo)
    for s in result["stages"]:
        print(f"{s['stage']:45s} {s['seconds']:6.2f} s  anon {s['memory_mb']['RssAnon']:6.0f} MB  "
              f"PSS {s['memory_mb']['Pss']:6.0f} MB  TensorFlow {'yes' if s['tensorflow_loaded'] else 'no'}")
    if not args.quick:
        result["imports_alone"] = {m: import_alone(repo, m) for m in ("tensorflow", "keras_hub")}
        print("imports alone:", result["imports_alone"])
    result["server"] = measure_server(repo, 1 if args.quick else args.workers)
    print(f"server: {result['server']}")
    if repo == REPO:
        result["without_encoder"] = without_encoder()
        print(f"everything but the encoder: {result['without_encoder']}")
        result["lstm"] = measure_lstm(1 if args.quick else 10, 1 if args.quick else 5)
        print(f"lstm: {json.dumps(result['lstm'])}")
    result["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    write_result("startup", result, args.out)


if __name__ == "__main__":
    main()
