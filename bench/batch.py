"""`brief batch` (Ray Data, embedded on this machine) against the 2-worker service fed by 8 concurrent
clients, on the same 1,000 CNN/DailyMail validation stories, side by side in one run.

    python -m bench.batch          # -> bench/results/batch.json (make bench-batch; about 6 minutes idle)

The service: gunicorn with BRIEF_WORKERS=2 (``gunicorn.conf.py``, as served), timed after every worker
has compiled its graphs; 8 client threads post the stories one each, each story once; the rate is the
sentences answered over the wall time from the first request to the last answer. The batch job: the
installed ``brief batch`` command on the same stories as JSON Lines, started after the service has
stopped; its rate is the sentences over the time from its first actor ready to its last row written
(``--report``), and Ray's start-up (starting Ray, then loading the model in every actor) is reported apart,
as is the whole command's wall time. Both answer with ``top=3``. The bar: batch >= 90% of the service.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

from bench.common import CNNDM, Server, parse_args, write_result
from harness.machine import machine

STORIES = 1000
VALIDATION = (CNNDM, CNNDM.with_name("validation_cased.jsonl"))
CLIENTS = 8
WORKERS = 2
TOP = 3
BAR = 0.9


def stories(n: int) -> list[dict]:
    """``n`` CNN/DailyMail validation stories as ``{"id", "text"}`` rows: ``validation.jsonl`` (668), then
    ``validation_cased.jsonl`` (341 others of the same split, with their case)."""
    rows = []
    for path in VALIDATION:
        with open(path, encoding="utf-8") as f:
            for line in f:
                story = json.loads(line)
                rows.append({"id": story["id"], "text": story["article"]})
                if len(rows) == n:
                    return rows
    raise RuntimeError(f"only {len(rows)} validation stories in {', '.join(map(str, VALIDATION))}")


def serve(rows: list[dict], clients: int) -> dict:
    """Every story posted once to a 2-worker gunicorn by ``clients`` threads: sentences/s over the wall time."""
    queue = list(reversed(rows))
    lock = threading.Lock()
    done = {"articles": 0, "sentences": 0, "errors": 0}

    def client(url: str) -> None:
        with requests.Session() as session:
            while True:
                with lock:
                    if not queue:
                        return
                    row = queue.pop()
                r = session.post(f"{url}/api/evaluate?top={TOP}", data=row["text"].encode("utf-8"),
                                 headers={"Content-Type": "text/plain; charset=utf-8"}, timeout=600)
                with lock:
                    if r.ok:
                        done["articles"] += 1
                        done["sentences"] += len(r.json()["scored_article_sentences"])
                    else:
                        done["errors"] += 1

    with Server(workers=WORKERS) as server:
        threads = [threading.Thread(target=client, args=(server.url,)) for _ in range(clients)]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        seconds = time.perf_counter() - started
        ready = round(server.ready_seconds, 2)
    return {"workers": WORKERS, "clients": clients, **done, "seconds": round(seconds, 2),
            "sentences_per_s": round(done["sentences"] / seconds, 1), "start_to_ready_s": ready}


def batch(rows: list[dict], folder: Path) -> dict:
    """``brief batch IN OUT --top 3`` on the stories, embedded Ray; its own report plus the command's wall time."""
    source, output, report = folder / "in.jsonl", folder / "out.jsonl", folder / "report.json"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows))
    brief = Path(sys.executable).parent / "brief"
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    started = time.perf_counter()
    subprocess.run([str(brief), "batch", str(source), str(output), "--top", str(TOP), "--no-progress",
                    "--report", str(report)], check=True, env={**env, "TF_CPP_MIN_LOG_LEVEL": "3"})
    wall = time.perf_counter() - started
    figures = json.loads(report.read_text())
    return {**figures, "command_wall_s": round(wall, 2)}


def options(parser) -> None:
    parser.add_argument("--stories", type=int, default=STORIES, help="how many stories (default %(default)s)")
    parser.add_argument("--batch-first", action="store_true",
                        help="run the batch job before the service: on a shared host, whether the order decides the ratio")


def main() -> None:
    args = parse_args(__doc__, options)
    rows = stories(40 if args.quick else args.stories)
    result = {"benchmark": "batch", "machine": machine(), "quick": args.quick, "stories": len(rows),
              "source": [str(p) for p in VALIDATION], "top": TOP, "batch_first": args.batch_first}
    for side in ("batch", "service") if args.batch_first else ("service", "batch"):
        if side == "service":
            result["service"] = serve(rows, CLIENTS)
        else:
            with tempfile.TemporaryDirectory(prefix="brief-bench-batch-") as folder:
                result["batch"] = batch(rows, Path(folder))
        print(f"{side}: {result[side]}")
    ratio = result["batch"]["sentences_per_s"] / result["service"]["sentences_per_s"]
    result["batch_over_service"] = round(ratio, 3)
    result["bar"] = BAR
    result["met"] = ratio >= BAR
    result["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    write_result("batch", result, args.out)


if __name__ == "__main__":
    main()
