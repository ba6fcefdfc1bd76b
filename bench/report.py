"""The targets of issue 4 against bench/results/*.json, as the markdown table in bench/README.md.

    python -m bench.report
"""

from __future__ import annotations

import json

from bench.common import RESULTS


def load(name: str) -> dict:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def rows() -> list[tuple[str, str, str]]:
    """(target, measured, met?) for each target whose benchmark has results."""
    latency, throughput, startup = load("latency"), load("throughput"), load("startup")
    out = []
    if latency:
        ratios = {size: s["lstm"]["latency_over_encode_p50"] for size, s in latency["sizes"].items()}
        worst = max(ratios.values())
        out.append(("End-to-end latency of one article <= 1.25x the encoder's own time for its sentences",
                    ", ".join(f"{k} {v:.2f}x" for k, v in ratios.items()) + " (p50 of latency / encode)",
                    "yes" if worst <= 1.25 else f"no (worst {worst:.2f}x)"))
        long_ = latency["sizes"].get("long")
        if long_:
            lstm = long_["lstm"]["lstm_ms"]
            out.append(("LSTM scoring of a 150-sentence article < 10 ms after warm-up",
                        f"p50 {lstm['p50']} ms, p99 {lstm['p99']} ms ({long_['lstm']['sentences_mean']} sentences)",
                        "yes" if lstm["p50"] < 10 else f"no ({lstm['p50'] / 10:.1f}x)"))
        cached = {size: s["lstm_cached_resubmission"]["breakdown_mean_ms"]["encode"] for size, s in latency["sizes"].items()}
        fresh = {size: s["lstm"]["breakdown_mean_ms"]["encode"] for size, s in latency["sizes"].items()}
        out.append(("Repeated sentences are not re-encoded (bounded cache)",
                    "re-submitted article: encode " + ", ".join(f"{k} {cached[k]} ms (fresh {fresh[k]} ms)" for k in cached),
                    "yes" if all(cached[k] < 0.2 * fresh[k] for k in cached) else "no"))
    if throughput:
        two = next((s for s in throughput["servers"] if s["workers"] == 2), None)
        if two and two.get("share_of_encoder_alone_2_threads"):
            share = two["share_of_encoder_alone_2_threads"]
            out.append(("2 workers on 2 cores >= 80% of the 2-core encoder rate (sentences/s)",
                        f"{two['best_sentences_per_s']} vs {throughput['encoder_alone_2_threads']['sentences_per_s']} "
                        f"sentences/s = {share:.0%}", "yes" if share >= 0.8 else "no"))
        ready = max(s["ready_seconds"] for s in throughput["servers"])
        rss = max(max(w["peak_rss_mb"] for w in s["rss_after_load"]) for s in throughput["servers"])
        out.append(("Ready within 20 s of start", f"{ready:.1f} s (slowest server start)", "yes" if ready <= 20 else "no"))
        out.append(("Each worker < 1.5 GB RSS", f"peak {rss:.0f} MB", "yes" if rss < 1536 else "no"))
    if startup:
        server = startup["server"]
        pss = max(w["Pss"] for w in server["worker_memory_mb"])
        out.append((f"Ready (every worker answering /api/ready) <= 5 s with 2 workers (issue 31)",
                    f"{server['ready_seconds']:.1f} s with {server['workers']}", "yes" if server["ready_seconds"] <= 5 else "no"))
        out.append(("PSS per worker <= 600 MB (issue 31; after ready, bench.startup)", f"largest {pss:.0f} MB",
                    "yes" if pss <= 600 else "no"))
    return out


def main() -> None:
    print("| target | measured | met? |\n|---|---|---|")
    for target, measured, met in rows():
        print(f"| {target} | {measured} | {met} |")


if __name__ == "__main__":
    main()
