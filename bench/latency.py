"""End-to-end latency of ``POST /api/evaluate`` against a real gunicorn on localhost, and where it goes.

    python -m bench.latency            # -> bench/results/latency.json (about 5 minutes)

One client, one request at a time, to gunicorn as deployed (``gunicorn.conf.py``: 2 workers, each
with 1 TensorFlow thread on 2 cores). Short (~10 sentences), medium (~30) and long (~150) articles;
every timed request is a different article, so the encoder's cache does not flatter the figures
(re-submitted articles are timed apart, as "cached"). The server-side breakdown comes from the
``Server-Timing`` header of ``bench/instrumented.py``; "http" is what the client waits beyond the
Flask handler (gunicorn, sockets, the client's JSON parsing).
"""

from __future__ import annotations

import os
import time

import numpy as np
import requests

from bench.common import Server, articles, parse_args, percentiles, server_timing, write_result
from harness.machine import machine

WORKERS = 2
REQUESTS = {"short": 200, "medium": 100, "long": 40}
WARM_UP = 3  # requests per size before timing, on articles not timed after
KEYWORDS = 10  # key phrases asked for in the runs that time them (cached articles, so the rest is as cheap as can be)
CACHED = 10  # articles of each size re-submitted once all their sentences are cached


def post(session: requests.Session, url: str, text: str, method: str = "lstm", keywords: int = 0
         ) -> tuple[float, dict, int]:
    """(client seconds, server timings in ms, sentences) for one article."""
    started = time.perf_counter()
    params = {"model": method, **({"keywords": keywords} if keywords else {})}
    r = session.post(f"{url}/api/evaluate", params=params, data=text.encode("utf-8"),
                     headers={"Content-Type": "text/plain; charset=utf-8"}, timeout=120)
    body = r.json()
    seconds = time.perf_counter() - started
    r.raise_for_status()
    return seconds, server_timing(r.headers.get("Server-Timing", "")), len(body["scored_article_sentences"])


def summarise(runs: list[tuple[float, dict, int]]) -> dict:
    """Client percentiles, mean server breakdown (ms) and latency over the encoder's own time."""
    latencies = [r[0] for r in runs]
    stages = {k: [r[1].get(k, 0.0) for r in runs] for k in ("split", "encode", "featurize", "lstm", "keywords", "app")}
    breakdown = {k: round(float(np.mean(v)), 2) for k, v in stages.items() if k != "app"}
    breakdown["parse_build_serialise"] = round(float(np.mean(stages["app"]) - sum(breakdown.values())), 2)
    breakdown["http_gunicorn_client"] = round(float(np.mean(latencies) * 1e3 - np.mean(stages["app"])), 2)
    ratios = [r[0] * 1e3 / r[1]["encode"] for r in runs if r[1].get("encode")]
    return {
        "sentences_mean": round(float(np.mean([r[2] for r in runs])), 1),
        "latency_ms": percentiles(latencies),
        "breakdown_mean_ms": breakdown,
        "lstm_ms": percentiles([s / 1e3 for s in stages["lstm"]]),
        "encode_ms": percentiles([s / 1e3 for s in stages["encode"]]),
        "latency_over_encode_p50": round(float(np.median(ratios)), 3) if ratios else None,
        "latency_over_encode_mean": round(float(np.mean(latencies) * 1e3 / np.mean(stages["encode"])), 3)
        if np.mean(stages["encode"]) else None,
    }


def main() -> None:
    args = parse_args(__doc__)
    counts = {"short": 6, "medium": 3} if args.quick else REQUESTS
    workers = 1 if args.quick else WORKERS
    warm_up = 1 if args.quick else WARM_UP
    pools = {size: articles(size, warm_up + n) for size, n in counts.items()}
    result = {"benchmark": "latency", "machine": machine(), "quick": args.quick, "workers": workers,
              "requests": counts, "sizes": {}}
    with Server(workers=workers) as server, requests.Session() as session:
        result["ready_seconds"] = round(server.ready_seconds, 2)
        for size, texts in pools.items():
            for text in texts[:warm_up]:
                post(session, server.url, text)
            timed = [post(session, server.url, text) for text in texts[warm_up:]]
            cached = [post(session, server.url, text) for text in texts[warm_up : warm_up + CACHED]]
            luhn = [post(session, server.url, text, "luhn") for text in texts[warm_up : warm_up + CACHED]]
            with_keywords = [post(session, server.url, text, keywords=KEYWORDS)
                             for text in texts[warm_up : warm_up + CACHED]]
            result["sizes"][size] = {
                "lstm": summarise(timed),
                "lstm_cached_resubmission": summarise(cached),
                "luhn": {"latency_ms": percentiles([r[0] for r in luhn])},
                f"lstm_cached_keywords_{KEYWORDS}": summarise(with_keywords),
            }
            s = result["sizes"][size]["lstm"]
            print(f"{size}: {s['sentences_mean']} sentences, p50 {s['latency_ms']['p50']} ms, "
                  f"p99 {s['latency_ms']['p99']} ms, breakdown {s['breakdown_mean_ms']}, "
                  f"latency/encode {s['latency_over_encode_p50']}")
    result["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    write_result("latency", result, args.out)


if __name__ == "__main__":
    main()
