"""Throughput under concurrent clients, for 1 and 2 gunicorn workers and for the batch endpoint;
memory per worker; time from start to ready.

    python -m bench.throughput         # -> bench/results/throughput.json (about 5 minutes)

Each client posts a different article each time (articles of 5 to 80 sentences, as they come in
the data), so the encoder's cache does not flatter the figures. The reference is the encoder
alone on both cores (one process, 2 TensorFlow threads) on the same kind of sentences.
"""

from __future__ import annotations

import itertools
import os
import threading
import time

import requests

from bench.common import Server, articles, parse_args, write_result
from harness.machine import machine
from harness.server import memory_mb
from bench.encoder import encoder_rate

WORKER_COUNTS = (1, 2)
CLIENTS = (1, 2, 4, 8)
SECONDS = 12.0  # per measurement, after each client's first request
BATCH = 8  # articles per batch request


def load(url: str, texts, clients: int, seconds: float, batch: int = 0) -> dict:
    """``clients`` threads posting for ``seconds``: articles/s and sentences/s completed in the window."""
    lock = threading.Lock()
    done = {"articles": 0, "sentences": 0, "requests": 0, "errors": 0}
    deadline = [0.0]
    started = threading.Barrier(clients + 1)

    def next_texts():
        with lock:
            return [next(texts) for _ in range(batch or 1)]

    def client():
        with requests.Session() as session:
            def send():
                chunk = next_texts()
                if batch:
                    r = session.post(f"{url}/api/evaluate", json={"articles": [{"text": t} for t in chunk]}, timeout=300)
                    results = r.json().get("results", []) if r.ok else []
                else:
                    r = session.post(f"{url}/api/evaluate", data=chunk[0].encode("utf-8"),
                                     headers={"Content-Type": "text/plain; charset=utf-8"}, timeout=300)
                    results = [r.json()] if r.ok else []
                return r.ok, results

            send()  # warm-up: not counted
            started.wait()
            while True:
                ok, results = send()
                with lock:
                    if time.perf_counter() > deadline[0]:
                        return
                    done["requests"] += 1
                    done["errors"] += not ok
                    done["articles"] += len(results)
                    done["sentences"] += sum(len(x["scored_article_sentences"]) for x in results)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    started.wait()
    begin = time.perf_counter()
    deadline[0] = begin + seconds
    for t in threads:
        t.join()
    elapsed = min(time.perf_counter(), deadline[0]) - begin
    return {"clients": clients, "batch": batch or None, **done,
            "articles_per_s": round(done["articles"] / elapsed, 2),
            "sentences_per_s": round(done["sentences"] / elapsed, 1)}


def main() -> None:
    args = parse_args(__doc__)
    worker_counts, clients, seconds = ((1,), (2,), 2.0) if args.quick else (WORKER_COUNTS, CLIENTS, SECONDS)
    texts = articles("any", 40 if args.quick else 2400)
    result = {"benchmark": "throughput", "machine": machine(), "quick": args.quick, "seconds_per_point": seconds,
              "servers": []}
    if args.quick:  # one TensorFlow start fewer; bench.encoder's own smoke run covers the reference
        result["encoder_alone_2_threads"] = {"skipped": "--quick", "sentences_per_s": None}
    else:
        result["encoder_alone_2_threads"] = encoder_rate(2, rate_only=True)["article_mix"]
    reference = result["encoder_alone_2_threads"]["sentences_per_s"]
    for workers in worker_counts:
        pool = itertools.cycle(texts)  # cycling back only happens in --quick
        with Server(workers=workers) as server:
            run = {"workers": workers, "ready_seconds": round(server.ready_seconds, 2),
                   "rss_after_ready": [memory_mb(p) for p in server.worker_pids()], "points": []}
            for n in clients:
                run["points"].append(load(server.url, pool, n, seconds))
                print(f"{workers} worker(s), {n} client(s): {run['points'][-1]}")
            run["points"].append(load(server.url, pool, 2, seconds, batch=2 if args.quick else BATCH))
            print(f"{workers} worker(s), batch: {run['points'][-1]}")
            run["rss_after_load"] = [memory_mb(p) for p in server.worker_pids()]
            best = max(p["sentences_per_s"] for p in run["points"])
            run["best_sentences_per_s"] = best
            run["share_of_encoder_alone_2_threads"] = round(best / reference, 3) if reference else None
        result["servers"].append(run)
    result["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    write_result("throughput", result, args.out)


if __name__ == "__main__":
    main()
