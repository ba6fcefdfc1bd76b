"""Shared by every candidate: the data from prep.py, app/core/encoder.py's bucketing/padding/pooling (encode_token_ids) with a
pluggable forward ``(token_ids int32 (B,T), mask bool (B,T)) -> hidden float32 (B,T,384)``, interleaved timing."""
import os, pickle, statistics, sys, time
import numpy as np

sys.path.insert(0, os.environ.get("BRIEF_ROOT", "/work/main"))
from app.core.encoder import encode_token_ids  # noqa: E402

DATA = pickle.load(open("/tmp/p16/data.pkl", "rb"))


def encode(ids, forward, batch_size=64):
    """SentenceEncoder.encode_uncached after tokenization, with ``forward`` as the model."""
    return encode_token_ids(ids, forward, batch_size)


def sentence_set(name):
    """All distinct sentence indices of one data set."""
    return sorted({i for a in DATA["sets"][name]["articles"] for i in a})


def bench_articles(n_per_set=8, skip=0):
    """Real articles (first n of BBC test and of CNN/DM validation), each a list of token-id lists."""
    arts = []
    for name in ("bbc_test", "cnndm_validation"):
        for a in DATA["sets"][name]["articles"][skip : skip + n_per_set]:
            arts.append([DATA["ids"][i] for i in a])
    return arts


def interleaved(candidates, articles, rounds=5, mode="corpus"):
    """candidates: {name: forward}. Each round times every candidate once on the same sentences, in turn
    (order rotated per round). mode corpus: all articles' sentences in one encode (batch 64, as training
    and batch requests); article: each article encoded alone (as one request). Returns median sentences/s."""
    n = sum(map(len, articles))
    flat = [s for a in articles for s in a]
    times = {k: [] for k in candidates}
    names = list(candidates)
    for f in candidates.values():  # warm-up, every shape
        encode(flat, f) if mode == "corpus" else [encode(a, f) for a in articles]
    for r in range(rounds):
        for k in names[r % len(names):] + names[: r % len(names)]:
            t = time.perf_counter()
            if mode == "corpus":
                encode(flat, candidates[k])
            else:
                for a in articles:
                    encode(a, candidates[k])
            times[k].append(time.perf_counter() - t)
    return {k: round(n / statistics.median(v), 1) for k, v in times.items()}, {k: [round(n / x, 1) for x in v] for k, v in times.items()}


def cosines(vectors, idx):
    ref = DATA["ref"][idx]
    c = (vectors * ref).sum(axis=1)  # both L2-normalised
    return {"n": len(idx), "min": float(c.min()), "mean": float(c.mean()), "below_0.999": int((c < 0.999).sum())}
