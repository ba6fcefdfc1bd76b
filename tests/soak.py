"""A bounded load and soak test of Brief under gunicorn, on loopback only.

    python tests/soak.py                          # starts gunicorn itself: 50 clients for 60 s
    python tests/soak.py --clients 10 --duration 10 --url http://127.0.0.1:8000 --master-pid 1234
    python tests/soak.py --keys 10 --rate-limit "50 requests/10 seconds, 4000 sentences/10 seconds"

Each client thread sends one request after another (a fresh connection each) until the time is up
or ``--max-requests`` have been sent in all, mixing valid articles of every size (one sentence to
about 800, single, batch, Luhn) with invalid requests (each must get its 4xx). Counts requests,
5xx, connection errors and wrong statuses, latency percentiles, and the RSS of the gunicorn
workers (from /proc) after warm-up and at the end. Writes JSON to ``artifacts/soak.json``.

With ``--keys N`` the server wants API keys: client ``i`` sends key ``i % N`` (plus requests with
no key and a wrong one, which must get 401); with ``--rate-limit`` it counts budgets in a
redis-server the soak starts. A scored request may then get 429 instead of its status, and the
server's request log (``--log`` for a server started elsewhere) is checked: every response's
``X-Request-ID`` is unique and in it, no client got more than its budget in any window, and every
429 came when the client's window was full.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from app.server.sample_articles import load_samples  # noqa: E402
from app.server.auth import new_key  # noqa: E402
from app.server.rate_limits import parse_budgets  # noqa: E402
from harness.machine import machine  # noqa: E402
from harness.server import child_pids, memory_mb, start_gunicorn, stop, wait_for_workers  # noqa: E402

SENTENCE = "Sentence {i} says that the {topic} of district {d} changed in {y}."
TOPICS = ["rain", "trains", "bees", "tides", "bridges", "schools", "markets", "parks", "ferries", "libraries"]


def article(n: int) -> str:
    return " ".join(SENTENCE.format(i=i, topic=TOPICS[i % 10], d=i // 10, y=1990 + i % 30) for i in range(n))


def request_mix(keys: bool = False) -> list[tuple[str, str, str, bytes, int]]:
    """(name, path, content type, body, expected status); picked with equal weight. With ``keys``,
    two more kinds send no key and a wrong one (401); the others send the client's key."""
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
        ("bad-type", "/api/evaluate", "application/xml", b"<p>x</p>", 415),  # text/html is read since issue 13
        ("bad-top", "/api/evaluate?top=0", plain, b"A sentence.", 422),
        ("too-many-sentences", "/api/evaluate", plain, article(1001).encode(), 413),
        ("too-large", "/api/evaluate", plain, b"a" * ((1 << 20) + 1), 413),
        ("health", "/api/health", "", b"", 200),
    ]
    if keys:
        mix += [("no-key", "/api/evaluate", plain, b"One short sentence.", 401),
                ("wrong-key", "/api/evaluate", plain, b"One short sentence.", 401)]
    return mix


LIMITED = "/api/evaluate"  # the one path of the mix that needs a key and is counted against budgets
WRONG_KEY = "brief_" + "0" * 43


def send(host: str, port: int, path: str, content_type: str, body: bytes, timeout: float,
         key: str | None = None) -> tuple[int, str | None, str | None]:
    """The status, ``X-Request-ID`` and error code (of a JSON error) of one request on a fresh connection."""
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        headers = {"Connection": "close"}
        if key:
            headers["Authorization"] = f"Bearer {key}"
        if body or content_type:
            headers["Content-Type"] = content_type
            conn.request("POST", path, body=body, headers=headers)
        else:
            conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        body = response.read()
        code = None
        if response.status >= 400 and response.getheader("Content-Type") == "application/json":
            code = json.loads(body)["error"]["code"]
        return response.status, response.getheader("X-Request-ID"), code
    finally:
        conn.close()


def rss_mb(pid: int) -> float:
    return memory_mb(pid)["rss_mb"]


def workers_rss(master: int) -> dict[int, float]:
    return {pid: round(rss_mb(pid), 1) for pid in child_pids(master)}


def workers_pss(master: int) -> dict[int, float]:
    return {pid: memory_mb(pid)["pss_mb"] for pid in child_pids(master)}


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run_load(url: str, clients: int, duration: float, max_requests: int, timeout: float, seed: int,
             keys: list[str] | None = None) -> dict:
    """``clients`` threads send the mix until ``duration`` seconds pass or ``max_requests`` are sent."""
    parts = urlsplit(url)
    host, port = parts.hostname, parts.port
    assert host in ("127.0.0.1", "localhost", "::1"), "the soak test only runs against loopback"
    mix = request_mix(keys=bool(keys))
    lock = threading.Lock()
    sent = 0
    # name, status, seconds, error, request id, error code
    results: list[tuple[str, int | None, float, str | None, str | None, str | None]] = []
    deadline = time.monotonic() + duration

    def client(index: int) -> None:
        nonlocal sent
        rng = random.Random(seed + index)
        own_key = keys[index % len(keys)] if keys else None
        while time.monotonic() < deadline:
            with lock:
                if sent >= max_requests:
                    return
                sent += 1
            name, path, content_type, body, _ = rng.choice(mix)
            key = {"no-key": None, "wrong-key": WRONG_KEY}.get(name, own_key)
            started = time.perf_counter()
            status, error, request_id, code = None, None, None, None
            try:
                status, request_id, code = send(host, port, path, content_type, body, timeout, key)
            except (OSError, http.client.HTTPException) as e:
                error = f"{type(e).__name__}: {e}"
            with lock:
                results.append((name, status, time.perf_counter() - started, error, request_id, code))

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(duration + timeout + 30)
    elapsed = time.monotonic() - started

    expected = {name: status for name, _, _, _, status in mix}
    paths = {name: path for name, path, _, _, _ in mix}

    def as_expected(name: str, status: int, code: str | None) -> bool:
        # Over its budget, a counted request gets 429 instead (its key was checked first: 401 stays 401);
        # an article with more sentences than a whole budget gets 413.
        limited = urlsplit(paths[name]).path == LIMITED and expected[name] != 401
        return (status == expected[name] or (status == 429 and code == "rate_limited" and limited)
                or (status == 413 and code == "too_many_sentences" and limited and expected[name] == 200))

    latencies = [seconds for _, status, seconds, _, _, _ in results if status is not None]
    ids = [request_id for _, status, _, _, request_id, _ in results if status is not None]
    by_kind: dict[str, dict] = {}
    for name, status, seconds, error, _, _ in results:
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
        "status_5xx": sum(1 for _, status, _, _, _, _ in results if status is not None and status >= 500),
        "status_429": sum(1 for _, status, _, _, _, _ in results if status == 429),
        "connection_errors": sum(1 for _, status, _, _, _, _ in results if status is None),
        "unexpected_status": sum(1 for name, status, _, _, _, code in results
                                 if status is not None and not as_expected(name, status, code)),
        "request_ids_missing": sum(1 for i in ids if not i),
        "request_ids_repeated": len(ids) - len(set(ids)),
        "errors_sample": sorted({f"{name}: {e}" for name, _, _, e, _, _ in results if e})[:5],
        "latency_s": {q: round(percentile(latencies, v), 3) for q, v in
                      (("p50", 0.5), ("p90", 0.9), ("p99", 0.99), ("max", 1.0))},
        "by_kind": by_kind,
        "request_ids": ids,
    }


def read_request_log(text: str) -> list[dict]:
    """The server's JSON request-log lines, each with ``start`` and ``end`` in epoch seconds."""
    lines = []
    for line in text.splitlines():
        if line.startswith('{"time"'):
            record = json.loads(line)
            record["end"] = datetime.fromisoformat(record["time"]).timestamp()
            record["start"] = record["end"] - record["ms"] / 1000
            lines.append(record)
    return lines


def check_budgets(lines: list[dict], rate_limit: str) -> dict:
    """From the request log: windows where a client got more than its budget, and 429s given while it had room.

    When a request was charged is known only to lie between its start and its end in the log (the
    request budget is charged soon after the start, the sentence budget once the text is split). So a
    window counts as over budget only if it holds more than the budget in requests whose whole span
    lies in it, and a 429 as wrong only if even every charge that may have been in its window leaves
    room for it. A request refused by the request budget has no sentence count; one refused by the
    sentence budget has its count, and its request was charged.
    """
    budgets = parse_budgets(rate_limit)
    over, wrong = [], []
    by_client: dict[str, list[dict]] = {}
    for line in lines:
        if line["client"] and line["path"] == LIMITED and line["status"] != 401:
            by_client.setdefault(line["client"], []).append(line)
    for client, own in by_client.items():
        charged = {"requests": [], "sentences": []}  # (earliest, latest charge time, cost)
        refused = {"requests": [], "sentences": []}
        for line in own:
            span = (line["start"], line["end"])
            if line["status"] == 429 and line["sentences"] is None:
                refused["requests"].append((*span, 1))
                continue
            charged["requests"].append((*span, 1))
            if line["sentences"] is not None and line["status"] != 413:  # 413: more than a whole budget, not charged
                (refused if line["status"] == 429 else charged)["sentences"].append((*span, line["sentences"]))
        for kind, limit in budgets.items():
            window, amount = limit.get_expiry(), limit.amount
            events = sorted(charged[kind])
            for first, _, _ in events:  # the windows that start at a charge hold the worst case
                inside = sum(cost for early, late, cost in events if early >= first and late <= first + window)
                if inside > amount:
                    over.append({"client": client, "kind": kind, "from": first, "charged": inside})
                    break
            for early, late, cost in refused[kind]:
                possible = sum(c for e, l, c in events if l > early - window and e <= late)
                if possible + cost <= amount:
                    wrong.append({"client": client, "kind": kind, "at": early, "in_window_at_most": possible})
    return {"clients": len(by_client), "windows_over_budget": over, "refusals_with_room": wrong}


def soak(url: str, master: int, clients: int, duration: float, max_requests: int, timeout: float, seed: int,
         keys: list[str] | None = None) -> dict:
    rss_ready, pss_ready = workers_rss(master), workers_pss(master)
    # Warm-up: every kind of request a few times, at the run's concurrency, so each worker has met every
    # padded length it will see and held as many requests at once as it will (the memory a worker keeps
    # for its busiest moment is reached here, not counted as growth during the run).
    warm = run_load(url, clients=clients, duration=60, max_requests=4 * len(request_mix(bool(keys))),
                    timeout=timeout, seed=seed + 1000, keys=keys)
    rss_start = workers_rss(master)
    load = run_load(url, clients, duration, max_requests, timeout, seed, keys)
    rss_end, pss_end = workers_rss(master), workers_pss(master)
    growth = {str(pid): round(100 * (rss_end[pid] - rss_start[pid]) / rss_start[pid], 2)
              for pid in rss_start if pid in rss_end}
    total_start, total_end = sum(rss_start.values()), sum(rss_end.values())
    return {
        **load,
        "warm_up": {k: warm[k] for k in ("requests", "status_5xx", "connection_errors", "unexpected_status",
                                         "request_ids")},
        "rss_mb": {"after_ready": rss_ready, "start": rss_start, "end": rss_end,
                   "total_start": round(total_start, 1), "total_end": round(total_end, 1),
                   "growth_percent_by_worker": growth,
                   "growth_percent_total": round(100 * (total_end - total_start) / total_start, 2) if total_start else None,
                   "workers_replaced": sorted(set(rss_start) ^ set(rss_end))},
        "pss_mb": {"after_ready": pss_ready, "end": pss_end},
    }


def start_redis(folder: Path) -> tuple[subprocess.Popen, str]:
    """A redis-server of the soak's own on a free loopback port (no persistence), and its URL."""
    import redis

    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("--rate-limit needs redis-server (apt-get install redis-server)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen([binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
                                "--dir", str(folder)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url, socket_timeout=1)
    for _ in range(100):
        try:
            client.ping()
            return process, url
        except redis.ConnectionError:
            time.sleep(0.05)
    process.terminate()
    raise SystemExit("redis-server did not answer PING within 5 s")


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
    parser.add_argument("--keys", type=int, default=0, help="API keys to make and share among the clients (0: none)")
    parser.add_argument("--keys-file", help="with --url: the server's keys, one 'KEY' per line, to share among clients")
    parser.add_argument("--rate-limit", default="", help="budgets, as BRIEF_RATE_LIMIT: the server started here counts them in a Redis "
                        "started here; with --url, the running server's, to check its log against")
    parser.add_argument("--log", help="with --url: the server's log, to check request ids and budgets in")
    parser.add_argument("--out", default=str(REPO / "artifacts" / "soak.json"))
    args = parser.parse_args(argv)

    process = redis_process = None
    keys: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="brief-soak-"))
    log = Path(args.log) if args.log else None
    try:
        if args.url:
            if not args.master_pid:
                parser.error("--url needs --master-pid")
            url, master = args.url, args.master_pid
            if args.keys_file:
                keys = [line.strip() for line in Path(args.keys_file).read_text().splitlines() if line.strip()]
        else:
            log = Path(args.out).with_suffix(".gunicorn.log")
            log.parent.mkdir(parents=True, exist_ok=True)
            env = {"BRIEF_WORKERS": str(args.workers), "BRIEF_THREADS": str(args.threads),
                   "BRIEF_ACCESS_LOG": None, "PROMETHEUS_MULTIPROC_DIR": None}
            if args.keys:
                made = [new_key(f"soak-{i}") for i in range(args.keys)]
                keys = [key for key, _ in made]
                (folder / "keys").write_text("".join(line + "\n" for _, line in made))
                env["BRIEF_API_KEYS_FILE"] = str(folder / "keys")
            if args.rate_limit:
                redis_process, redis_url = start_redis(folder)
                env.update(BRIEF_RATE_LIMIT=args.rate_limit, BRIEF_RATE_LIMIT_STORAGE=redis_url)
            process, url = start_gunicorn(log, env)
            master = process.pid
            wait_for_workers(url, args.workers, process, 300, lambda: log.read_text(errors="replace"))
        report = {
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "machine": machine(),
            "load_average_before": [round(x, 2) for x in os.getloadavg()],
            "server": {"url": url, "workers": len(child_pids(master)), "threads": args.threads,
                       "keys": len(keys), "rate_limit": args.rate_limit or None},
            **soak(url, master, args.clients, args.duration, args.max_requests, args.timeout, args.seed, keys or None),
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        }
    finally:
        if process:
            stop(process, timeout=60)
        if redis_process:
            redis_process.terminate()
            redis_process.wait(10)
        shutil.rmtree(folder, ignore_errors=True)
    ids = report.pop("request_ids") + report["warm_up"].pop("request_ids")
    if log is not None:
        lines = read_request_log(log.read_text(errors="replace"))
        logged = {line["request_id"] for line in lines}
        report["request_log"] = {"lines": len(lines), "ids_not_in_log": sum(1 for i in ids if i not in logged),
                                 "ids_repeated_in_log": len(lines) - len(logged)}
        if args.rate_limit:
            report["budgets"] = check_budgets(lines, args.rate_limit)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    summary = {k: report[k] for k in ("requests", "served", "status_5xx", "status_429", "connection_errors",
                                      "unexpected_status", "errors_sample", "request_ids_missing", "request_ids_repeated",
                                      "latency_s")}
    checks = {k: report[k] for k in ("request_log", "budgets") if k in report}
    if "budgets" in checks:
        checks["budgets"] = {k: v if isinstance(v, int) else len(v) for k, v in checks["budgets"].items()}
    print(json.dumps({**summary, **checks, "rss_growth_percent": report["rss_mb"]["growth_percent_total"]}, indent=2))
    ok = (report["status_5xx"] == 0 and report["connection_errors"] == 0 and report["unexpected_status"] == 0
          and report["request_ids_missing"] == 0 and report["request_ids_repeated"] == 0
          and all(g < 10 for g in report["rss_mb"]["growth_percent_by_worker"].values()))
    if "request_log" in report:
        ok = ok and report["request_log"]["ids_not_in_log"] == 0 and report["request_log"]["ids_repeated_in_log"] == 0
    if "budgets" in report:
        ok = ok and not report["budgets"]["windows_over_budget"] and not report["budgets"]["refusals_with_room"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
