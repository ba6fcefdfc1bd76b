"""Encoder benchmark: every path Brief ships against TensorFlow float32, side by side in one run.

    python -m bench.encoder            # -> bench/results/encoder.json (about 6 minutes on 2 cores)

Paths: keras-hub's backbone under TensorFlow in float32 (the reference, what Brief ran before),
OpenVINO float32, and OpenVINO bfloat16 where the CPU has it (AMX or AVX512_BF16 and OpenVINO's
BF16 capability). Each is timed on the sentences of real articles in their natural mix, the paths
interleaved, best of the repeats, in one process per thread count (1: one worker's share of 2
cores; every core). Every BBC test sentence is encoded by each path and its cosine to TensorFlow
float32 reported (``--quick``: 64 of them): the bar is 0.9999 for all (app/core/probes.py).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

from app.core.probes import MIN_COSINE, probe_cosines
from bench.common import articles, parse_args, sentences_of, write_result
from harness.machine import machine

REFERENCE = "tensorflow float32"
CPU_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_tile", "amx_bf16", "amx_int8")  # what decides the paths


def best_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def bbc_test_sentences(quick: bool) -> list[str]:
    """The distinct sentences of the BBC test split (Brief's splitter), in article order."""
    from app.core.sentences import SentenceSplitter
    from app.settings import DATA_ROOT, NLTK_DATA, resolve
    from training.data import LoadReport, load_dataset

    splitter = SentenceSplitter(resolve(NLTK_DATA))
    found = load_dataset("bbc:test", DATA_ROOT, LoadReport(), dedupe=False)
    sentences = list(dict.fromkeys(s.text for a in found for s in splitter.split(a.text)))
    return sentences[:64] if quick else sentences


def forwards(threads: int) -> dict:
    """``{path: forward}``: the reference and every OpenVINO precision this CPU runs natively."""
    import tempfile

    from app.core.encoder_runtime import OpenVINOForward, choose_precision, tf_float32_forward
    from app.core.weights import weights_dir

    paths = {REFERENCE: tf_float32_forward(weights_dir())}
    # converted afresh (no old cache), and the folder removed once compiled: the models live in memory
    with tempfile.TemporaryDirectory(prefix="brief-bench-encoder-") as cache:
        for precision in ("float32", "bfloat16") if choose_precision("auto") == "bfloat16" else ("float32",):
            paths[f"openvino {precision}"] = OpenVINOForward(weights_dir(), cache, precision, threads)
    return paths


def run_child(threads: int, quick: bool, rate_only: bool = False) -> dict:
    """Every path on ``threads`` threads: article-mix rate, and (``rate_only`` off) cosines on BBC test."""
    from app.core.encoder import SentenceEncoder, encode_token_ids

    encoder = SentenceEncoder(cache_size=0)  # the served path, as configured: its tokenizer, precision
    if rate_only:
        return {"threads": threads, "article_mix": article_mix_rate(encoder, quick)}
    paths = forwards(threads)
    mix = [s for article in sentences_of(articles("medium", 4 if quick else 20)) for s in article]
    mix_ids = encoder.token_ids(mix)
    repeats = 1 if quick else 3
    for forward in paths.values():  # warm-up: TensorFlow traces, OpenVINO allocates for new shapes
        encode_token_ids(mix_ids[:64], forward)
    seconds = {name: [] for name in paths}
    for _ in range(repeats):  # interleaved, so that a slow spell of the host hits every path alike
        for name, forward in paths.items():
            seconds[name].append(best_time(lambda: encode_token_ids(mix_ids, forward), 1))
    rates = {name: len(mix) / min(s) for name, s in seconds.items()}
    result = {
        "threads": threads,
        "article_mix": {"sentences": len(mix), "mean_tokens": round(float(np.mean([len(i) for i in mix_ids])), 1),
                        "repeats": repeats, "served_precision": encoder.precision},
        "paths": {name: {"sentences_per_s": round(rate, 1), "x_tensorflow_float32": round(rate / rates[REFERENCE], 2)}
                  for name, rate in rates.items()},
        "tokenize_ms_per_sentence": round(best_time(lambda: encoder.token_ids(mix), 2) / len(mix) * 1e3, 3),
    }
    result["article_mix"]["sentences_per_s"] = result["paths"][f"openvino {encoder.precision}"]["sentences_per_s"]
    if threads == 1:  # the cosines do not depend on the thread count: measured once
        sentences = bbc_test_sentences(quick)
        ids = encoder.token_ids(sentences)
        reference = encode_token_ids(ids, paths[REFERENCE])
        result["bbc_test_cosines"] = {"sentences": len(sentences), "bar": MIN_COSINE}
        for name, forward in paths.items():
            if name != REFERENCE:
                cosines = probe_cosines(encode_token_ids(ids, forward), reference)
                worst = int(np.argmin(cosines))
                result["bbc_test_cosines"][name] = {
                    "min": round(float(cosines.min()), 6), "mean": round(float(cosines.mean()), 6),
                    "below_bar": int((cosines < MIN_COSINE).sum()), "worst_sentence": sentences[worst][:120]}
    return result


def article_mix_rate(encoder, quick: bool) -> dict:
    """Sentences/s of the served path on the sentences of real articles in their natural mix."""
    mix = [s for article in sentences_of(articles("medium", 4 if quick else 20)) for s in article]
    encoder.encode_uncached(mix[:64])
    seconds = best_time(lambda: encoder.encode_uncached(mix), 1 if quick else 2)
    return {"sentences": len(mix), "runtime": encoder.runtime, "precision": encoder.precision,
            "sentences_per_s": round(len(mix) / seconds, 1)}


def encoder_rate(threads: int, quick: bool = False, rate_only: bool = False) -> dict:
    """Run the measurements in a fresh process with ``threads`` threads (TensorFlow fixes its pools at start)."""
    env = dict(os.environ, TF_NUM_INTRAOP_THREADS=str(threads), TF_NUM_INTEROP_THREADS=str(threads),
               OMP_NUM_THREADS=str(threads), TF_CPP_MIN_LOG_LEVEL="3")
    command = [sys.executable, "-m", "bench.encoder", "--child", str(threads)]
    command += (["--quick"] if quick else []) + (["--rate-only"] if rate_only else [])
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def cpu_description() -> dict:
    """The flags that decide the paths, OpenVINO's view of the CPU, and what ``auto`` picks here."""
    from app.core.encoder_runtime import _core, choose_precision, cpu_flags, openvino_version

    flags = cpu_flags()
    return {"flags": {f: f in flags for f in CPU_FLAGS}, "openvino": openvino_version(),
            "openvino_capabilities": list(_core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")),
            "auto_precision": choose_precision("auto")}


def main() -> None:
    def flags(parser):
        parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
        parser.add_argument("--rate-only", action="store_true", help=argparse.SUPPRESS)

    args = parse_args(__doc__, flags)
    if args.child:
        print(json.dumps(run_child(args.child, args.quick, args.rate_only)))
        return
    cores = os.cpu_count() or 1
    result = {"benchmark": "encoder", "machine": machine(), "cpu": cpu_description(), "quick": args.quick,
              "runs": [encoder_rate(t, args.quick) for t in ((1,) if args.quick or cores == 1 else (1, cores))]}
    result["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    write_result("encoder", result, args.out)
    print(f"{result['machine']['cpu']}: {', '.join(f for f, on in result['cpu']['flags'].items() if on)}; "
          f"OpenVINO {result['cpu']['openvino']} {result['cpu']['openvino_capabilities']}; "
          f"auto = {result['cpu']['auto_precision']}")
    for run in result["runs"]:
        print(f"{run['threads']} thread(s), {run['article_mix']['sentences']} article sentences:")
        for name, path in run["paths"].items():
            print(f"  {name:20s} {path['sentences_per_s']:7.1f} sentences/s  {path['x_tensorflow_float32']:.2f}x")
        for name, cos in run.get("bbc_test_cosines", {}).items():
            if isinstance(cos, dict):
                print(f"  {name:20s} cosine to TF float32 on {run['bbc_test_cosines']['sentences']} BBC test "
                      f"sentences: min {cos['min']:.6f}, mean {cos['mean']:.6f}, {cos['below_bar']} below {MIN_COSINE}")


if __name__ == "__main__":
    main()
