"""Side by side on the same articles in the same run: Brief's LSTM, its Luhn path, sumy's LexRank and TextRank.

    python -m bench.baselines          # -> bench/results/baselines.json (about 2 minutes)

In one process with one TensorFlow thread (one worker's share of 2 cores), the encoder's cache
off. Every method starts from the raw text and is split by Brief's splitter, so the figures
differ only in how sentences are scored; ratios are each method's time over the LSTM's.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")  # before TensorFlow is imported
os.environ.setdefault("TF_NUM_INTEROP_THREADS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import time  # noqa: E402

import numpy as np  # noqa: E402

from bench.common import CARD_PATH, MODEL_PATH, NLTK_DATA, articles, parse_args, write_result  # noqa: E402
from harness.machine import machine  # noqa: E402

COUNTS = {"short": 30, "medium": 20, "long": 6}
TOP = 5


def main() -> None:
    args = parse_args(__doc__)
    from app.core.encoder import SentenceEncoder
    from app.core.summarizer import Summarizer
    from training.baselines import SUMY, sumy_picker

    summarizer = Summarizer(MODEL_PATH, CARD_PATH, NLTK_DATA, encoder=SentenceEncoder(cache_size=0))
    summarizer.score_texts(["Warm up. The encoder traces its graph on the first call."])
    methods = {
        "brief_lstm": lambda text: summarizer.score_texts([text], "lstm"),
        "brief_luhn": lambda text: summarizer.score_texts([text], "luhn"),
        **{f"sumy_{name}": (lambda pick: lambda text: pick([s.text for s in summarizer.split(text)], TOP))(sumy_picker(name))
           for name in SUMY},
    }
    counts = {"short": 3, "medium": 2} if args.quick else COUNTS
    result = {"benchmark": "baselines", "machine": machine(), "quick": args.quick, "tensorflow_threads": 1, "sizes": {}}
    for size, n in counts.items():
        texts = articles(size, n, skip=50)  # not the articles other benchmarks start with
        seconds = {}
        for name, run in methods.items():
            run(texts[0])  # warm-up: first-call costs (imports, caches) are not what is compared
            times = []
            for text in texts:
                started = time.perf_counter()
                run(text)
                times.append(time.perf_counter() - started)
            seconds[name] = float(np.mean(times))
        lstm = seconds["brief_lstm"]
        result["sizes"][size] = {
            "articles": n,
            "sentences_mean": round(float(np.mean([len(summarizer.split(t)) for t in texts])), 1),
            "ms_per_article": {k: round(v * 1e3, 2) for k, v in seconds.items()},
            "time_over_brief_lstm": {k: round(v / lstm, 3) for k, v in seconds.items()},
        }
        print(size, result["sizes"][size])
    result["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    write_result("baselines", result, args.out)


if __name__ == "__main__":
    main()
