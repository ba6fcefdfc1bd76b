"""A bounded load and soak test of Brief under gunicorn, on loopback only.

    python tests/soak.py                          # starts gunicorn itself: 50 clients for 60 s
    python tests/soak.py --clients 10 --duration 10 --url http://127.0.0.1:8000 --master-pid 1234

Each client thread sends one request after another (a fresh connection each) until the time is up
or ``--max-requests`` have been sent in all, mixing valid articles of every size (one sentence to
about 800, single, batch, Luhn) with invalid requests (each must get its 4xx). Counts requests,
5xx, connection errors and wrong statuses, latency percentiles, and the RSS of the gunicorn
workers (from /proc) after warm-up and at the end. Writes JSON to ``artifacts/soak.json``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from app.sample_articles import load_samples  # noqa: E402
from bench.common import machine  # noqa: E402
from bench.proc import child_pids, memory_mb, start_gunicorn, stop, wait_for_workers  # noqa: E402

SENTENCE = "Sentence {i} says that the {topic} of district {d} changed in {y}."
TOPICS = ["rain", "trains", "bees", "tides", "bridges", "schools", "markets", "parks", "ferries", "libraries"]


def article(n: int) -> str:
    return " ".join(SENTENCE.format(i=i, topic=TOPICS[i % 10], d=i // 10, y=1990 + i % 30) for i in range(n))


def request_mix() -> list[tuple[str, str, str, bytes, int]]:
    """(name, path, content type, body, expected status); picked with equal weight."""
    samples = load_samples()
    plain, js = "text/plain; charset=utf-8", "application/json"
    mix = [
        ("tiny", "/api/evaluate", plain, b"One short sentence.", 200),
        ("small", "/api/evaluate", plain, article(8).encode(), 200),
        ("sample", "/api/evaluate?top=3", plain, samples[0]["text"].encode(), 200),
        ("medium-json", "/api/evaluate", js, json.dumps({"text": article(60), "title": "t"}).encode(), 200),
        ("large", "/api/evaluate", plain, article(300).encode(), 200),
        ("huge", "/api/evaluate", plain, article(800).encode(), 200),
        ("batch", "/api/evaluate", js, json.dumps({"articles": [{"text": s["text"]} for s in samples]}).encode(), 200),
        ("luhn", "/api/evaluate?model=luhn", plain, samples[-1]["text"].encode(), 200),
        ("bad-empty", "/api/evaluate", plain, b"   ", 422),
        ("bad-json", "/api/evaluate", js, b'{"text": ', 400),
        ("bad-utf8", "/api/evaluate", plain, "caf\u00e9.".encode("latin-1"), 400),
        ("bad-type", "/api/evaluate", "text/html", b"<p>x</p>", 415),
        ("bad-top", "/api/evaluate?top=0", plain, b"A sentence.", 422),
        ("too-many-sentences", "/api/evaluate", plain, article(1001).encode(), 413),
        ("too-large", "/api/evaluate", plain, b"a" * ((1 << 20) + 1), 413),
        ("health", "/api/health", "", b"", 200),
    ]
    return mix


def send(host: str, port: int, path: str, content_type: str, body: bytes, timeout: float) -> int:
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        headers = {"Connection": "close"}
        if body or content_type:
            headers["Content-Type"] = content_type
            conn.request("POST", path, body=body, headers=headers)
        else:
            conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def rss_mb(pid: int) -> float:
    return memory_mb(pid)["rss_mb"]


def workers_rss(master: int) -> dict[int, float]:
    return {pid: round(rss_mb(pid), 1) for pid in child_pids(master)}


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_load(url: str, clients: int, duration: float, max_requests: int, timeout: float, seed: int) -> dict:
    """``clients`` threads send the mix until ``duration`` seconds pass or ``max_requests`` are sent."""
    parts = urlsplit(url)
    host, port = parts.hostname, parts.port
    assert host in ("127.0.0.1", "localhost", "::1"), "the soak test only runs against loopback"
    mix = request_mix()
    lock = threading.Lock()
    sent = 0
    results: list[tuple[str, int | None, float, str | None]] = []  # name, status, seconds, error
    deadline = time.monotonic() + duration

    def client(index: int) -> None:
        nonlocal sent
        rng = random.Random(seed + index)
        while time.monotonic() < deadline:
            with lock:
                if sent >= max_requests:
                    return
                sent += 1
            name, path, content_type, body, _ = rng.choice(mix)
            started = time.perf_counter()
            status, error = None, None
            try:
                status = send(host, port, path, content_type, body, timeout)
            except (OSError, http.client.HTTPException) as e:
                error = f"{type(e).__name__}: {e}"
            with lock:
                results.append((name, status, time.perf_counter() - started, error))

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(duration + timeout + 30)
    elapsed = time.monotonic() - started

    expected = {name: status for name, _, _, _, status in mix}
    latencies = [seconds for _, status, seconds, _ in results if status is not None]
    by_kind: dict[str, dict] = {}
    for name, status, seconds, error in results:
        kind = by_kind.setdefault(name, {"n": 0, "statuses": {}, "max_s": 0.0})
        kind["n"] += 1
        key = str(status) if status is not None else "connection_error"
        kind["statuses"][key] = kind["statuses"].get(key, 0) + 1
        kind["max_s"] = round(max(kind["max_s"], seconds), 3)
    return {
        "clients": clients,
        "duration_s": duration,
        "elapsed_s": round(elapsed, 1),
        "requests": len(results),
        "served": len(latencies),
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "status_5xx": sum(1 for _, status, _, _ in results if status is not None and status >= 500),
        "connection_errors": sum(1 for _, status, _, _ in results if status is None),
        "unexpected_status": sum(1 for name, status, _, _ in results if status is not None and status != expected[name]),
        "errors_sample": sorted({e for _, _, _, e in results if e})[:5],
        "latency_s": {q: round(percentile(latencies, v), 3) for q, v in
                      (("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("max", 1.0))},
        "by_kind": by_kind,
    }


def soak(url: str, master: int, clients: int, duration: float, max_requests: int, timeout: float, seed: int) -> dict:
    rss_ready = workers_rss(master)
    # Warm-up: every kind of request a few times, so each worker has traced every padded length it will see.
    warm = run_load(url, clients=4, duration=60, max_requests=4 * len(request_mix()), timeout=timeout, seed=seed + 1000)
    rss_start = workers_rss(master)
    load = run_load(url, clients, duration, max_requests, timeout, seed)
    rss_end = workers_rss(master)
    growth = {str(pid): round(100 * (rss_end[pid] - rss_start[pid]) / rss_start[pid], 2)
              for pid in rss_start if pid in rss_end}
    total_start, total_end = sum(rss_start.values()), sum(rss_end.values())
    return {
        **load,
        "warm_up": {k: warm[k] for k in ("requests", "status_5xx", "connection_errors", "unexpected_status")},
        "rss_mb": {"after_ready": rss_ready, "start": rss_start, "end": rss_end,
                   "total_start": round(total_start, 1), "total_end": round(total_end, 1),
                   "growth_percent_by_worker": growth,
                   "growth_percent_total": round(100 * (total_end - total_start) / total_start, 2) if total_start else None,
                   "workers_replaced": sorted(set(rss_start) ^ set(rss_end))},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load (after warm-up)")
    parser.add_argument("--max-requests", type=int, default=100_000, help="stop after this many in all")
    parser.add_argument("--timeout", type=float, default=120.0, help="client timeout per request, seconds")
    parser.add_argument("--url", help="an already running Brief on loopback (else gunicorn is started)")
    parser.add_argument("--master-pid", type=int, help="its gunicorn master's pid (for the workers' RSS)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--out", default=str(REPO / "artifacts" / "soak.json"))
    args = parser.parse_args(argv)

    process = None
    if args.url:
        if not args.master_pid:
            parser.error("--url needs --master-pid")
        url, master = args.url, args.master_pid
    else:
        log = Path(args.out).with_suffix(".gunicorn.log")
        log.parent.mkdir(parents=True, exist_ok=True)
        process, url = start_gunicorn(log, {"BRIEF_WORKERS": str(args.workers), "BRIEF_THREADS": str(args.threads),
                                            "BRIEF_ACCESS_LOG": os.devnull, "PROMETHEUS_MULTIPROC_DIR": None})
        master = process.pid
    try:
        if process:
            wait_for_workers(url, args.workers, process, 300, lambda: log.read_text(errors="replace"))
        report = {
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "machine": machine(),
            "load_average_before": [round(x, 2) for x in os.getloadavg()],
            "server": {"url": url, "workers": len(child_pids(master)), "threads": args.threads},
            **soak(url, master, args.clients, args.duration, args.max_requests, args.timeout, args.seed),
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        }
    finally:
        if process:
            stop(process, timeout=60)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    summary = {k: report[k] for k in ("requests", "served", "status_5xx", "connection_errors", "unexpected_status",
                                      "latency_s")}
    print(json.dumps({**summary, "rss_growth_percent": report["rss_mb"]["growth_percent_total"]}, indent=2))
    ok = (report["status_5xx"] == 0 and report["connection_errors"] == 0 and report["unexpected_status"] == 0
          and all(g < 10 for g in report["rss_mb"]["growth_percent_by_worker"].values()))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
