"""Encoder benchmark: MiniLM sentences/s by batch size and sentence length, with and without XLA,
against the floor its FLOPs and this machine's measured matmul rate imply.

    python -m bench.encoder            # -> bench/results/encoder.json (about 4 minutes)

Each TensorFlow thread count (1: one worker's share of 2 cores; 2: the whole machine) runs in its
own process, since TensorFlow fixes its thread pools at start.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

from bench.common import articles, parse_args, raw_texts, sentences_of, versions, write_result
from harness.machine import machine

LENGTH_BINS = ((1, 16), (17, 32), (33, 64), (65, 128))  # tokens, [CLS] and [SEP] included
BATCH_SIZES = (1, 8, 32, 64, 128)


def best_time(fn, repeats: int) -> float:
    fn()  # warm-up: the first call traces the graph
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def encoder_flops(length: int, layers: int, dim: int, ffn: int) -> float:
    """Multiply-adds x2 of one sentence of ``length`` tokens: projections, feed-forward, attention."""
    dense = length * 2 * (4 * dim * dim + 2 * dim * ffn)
    attention = 2 * 2 * length * length * dim  # QK^T and AV
    return layers * (dense + attention)


def matmul_rate(m: int, k: int, n: int, repeats: int) -> float:
    """GFLOP/s of ``(m, k) @ (k, n)`` in float32 on this process's threads."""
    import tensorflow as tf

    a = tf.random.normal((m, k))
    b = tf.random.normal((k, n))
    seconds = best_time(lambda: tf.matmul(a, b).numpy(), repeats)
    return 2 * m * k * n / seconds / 1e9


def sentence_pool(quick: bool) -> list[str]:
    """Real sentences from the start of the data (BBC first): enough of each length bin."""
    texts = raw_texts()[: 60 if quick else 600]
    return [s for article in sentences_of(texts) for s in article]


def run_child(threads: int, quick: bool, rate_only: bool = False) -> dict:
    """All measurements on this process's ``threads`` TensorFlow threads (``rate_only``: the article mix only)."""
    import tensorflow as tf

    from app.core.encoder import SentenceEncoder

    encoder = SentenceEncoder(cache_size=0)
    backbone = encoder.backbone
    layers, dim, ffn = backbone.num_layers, backbone.hidden_dim, backbone.intermediate_dim
    per_bin = 16 if quick else 128
    repeats = 1 if quick else 2
    if rate_only:
        return {"threads": threads, "article_mix": article_mix_rate(encoder, quick, repeats, layers, dim, ffn, None)}
    pool = sentence_pool(quick)
    lengths = [len(ids) for ids in encoder.token_ids(pool)]
    bins = {}
    for low, high in LENGTH_BINS:
        chosen = [s for s, n in zip(pool, lengths) if low <= n <= high][:per_bin]
        if chosen:
            bins[f"{low}-{high}"] = chosen

    rates = {"matmul_square_1024": round(matmul_rate(1024, 1024, 1024, 3), 1),
             "matmul_ffn_2048x384x1536": round(matmul_rate(2048, dim, ffn, 5), 1)}
    rate = rates["matmul_ffn_2048x384x1536"] * 1e9  # the encoder's own shapes: its achievable rate

    by_batch = []
    for name, sentences in bins.items():
        tokens = [len(ids) for ids in encoder.token_ids(sentences)]
        flops = float(np.mean([encoder_flops(n, layers, dim, ffn) for n in tokens]))
        for batch_size in (8,) if quick else BATCH_SIZES:
            encoder.batch_size = batch_size
            seconds = best_time(lambda: encoder.encode_uncached(sentences), repeats)
            by_batch.append({
                "tokens": name, "mean_tokens": round(float(np.mean(tokens)), 1), "batch_size": batch_size,
                "sentences_per_s": round(len(sentences) / seconds, 1),
                "floor_sentences_per_s": round(rate / flops, 1),  # every FLOP at the measured matmul rate
                "gflops_per_s": round(len(sentences) * flops / seconds / 1e9, 1),
            })
    encoder.batch_size = 64

    article_mix = article_mix_rate(encoder, quick, repeats, layers, dim, ffn, rate)

    # XLA: the same backbone at fixed shapes, compiled with and without jit_compile.
    xla = []
    for batch, length in ((8, 32),) if quick else ((64, 32), (64, 64), (16, 128)):
        ids = np.random.default_rng(0).integers(1000, 30000, size=(batch, length)).astype(np.int32)
        mask = np.ones((batch, length), dtype=bool)
        inputs = {"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": mask}
        row = {"batch": batch, "length": length}
        outputs = {}
        for jit in (False, True):
            forward = tf.function(lambda x: backbone(x, training=False)["sequence_output"], jit_compile=jit)
            started = time.perf_counter()
            outputs[jit] = forward(inputs).numpy()
            first = time.perf_counter() - started
            seconds = best_time(lambda: forward(inputs).numpy(), repeats + 1)
            key = "xla" if jit else "graph"
            row[f"{key}_sentences_per_s"] = round(batch / seconds, 1)
            row[f"{key}_first_call_s"] = round(first, 2)
        row["xla_speedup"] = round(row["xla_sentences_per_s"] / row["graph_sentences_per_s"], 3)
        row["max_abs_difference"] = float(np.abs(outputs[True] - outputs[False]).max())
        xla.append(row)

    return {"threads": threads, "versions": versions(), "model": {"layers": layers, "dim": dim, "ffn": ffn},
            "matmul_gflops_per_s": rates, "by_length_and_batch": by_batch, "article_mix": article_mix, "xla": xla}


def article_mix_rate(encoder, quick: bool, repeats: int, layers: int, dim: int, ffn: int, rate: float | None) -> dict:
    """Sentences/s on the sentences of real articles in their natural mix: the rate the service meets."""
    mix = [s for article in sentences_of(articles("medium", 4 if quick else 20)) for s in article]
    tokens = [len(ids) for ids in encoder.token_ids(mix)]
    seconds = best_time(lambda: encoder.encode_uncached(mix), repeats)
    out = {
        "sentences": len(mix), "mean_tokens": round(float(np.mean(tokens)), 1), "batch_size": encoder.batch_size,
        "sentences_per_s": round(len(mix) / seconds, 1),
        "tokenize_ms_per_sentence": round(best_time(lambda: encoder.token_ids(mix), repeats) / len(mix) * 1e3, 3),
    }
    if rate:
        flops = float(np.mean([encoder_flops(n, layers, dim, ffn) for n in tokens]))
        out["floor_sentences_per_s"] = round(rate / flops, 1)
        out["share_of_floor"] = round(out["sentences_per_s"] / out["floor_sentences_per_s"], 3)
    return out


def encoder_rate(threads: int, quick: bool = False, rate_only: bool = False) -> dict:
    """Run the measurements in a fresh process with ``threads`` TensorFlow threads."""
    env = dict(os.environ, TF_NUM_INTRAOP_THREADS=str(threads), TF_NUM_INTEROP_THREADS=str(threads),
               OMP_NUM_THREADS=str(threads), TF_CPP_MIN_LOG_LEVEL="3")
    command = [sys.executable, "-m", "bench.encoder", "--child", str(threads)]
    command += (["--quick"] if quick else []) + (["--rate-only"] if rate_only else [])
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    def flags(parser):
        parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
        parser.add_argument("--rate-only", action="store_true", help=argparse.SUPPRESS)

    args = parse_args(__doc__, flags)
    if args.child:
        print(json.dumps(run_child(args.child, args.quick, args.rate_only)))
        return
    result = {"benchmark": "encoder", "machine": machine(), "quick": args.quick,
              "runs": [encoder_rate(t, args.quick) for t in ((1,) if args.quick else (1, 2))]}
    result["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    write_result("encoder", result, args.out)
    for run in result["runs"]:
        mix = run["article_mix"]
        print(f"{run['threads']} thread(s): {mix['sentences_per_s']} sentences/s on article sentences "
              f"({mix['share_of_floor']:.0%} of the {mix['floor_sentences_per_s']}/s floor); "
              f"matmul {run['matmul_gflops_per_s']}")


if __name__ == "__main__":
    main()
