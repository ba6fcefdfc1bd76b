"""Shared by every candidate: the data from prep.py, app/encoder.py's bucketing/padding/pooling with a
pluggable forward ``(token_ids int32 (B,T), mask bool (B,T)) -> hidden float32 (B,T,384)``, interleaved timing."""
import os, pickle, statistics, time
import numpy as np

LENGTH_BUCKETS = (16, 32, 48, 64, 96, 128, 192, 256)
PAD_MULTIPLE = 8
DATA = pickle.load(open("/tmp/p16/data.pkl", "rb"))


def _bucket(n):
    for b in LENGTH_BUCKETS:
        if n <= b:
            return b
    return LENGTH_BUCKETS[-1]


def encode(ids, forward, batch_size=64):
    """Exactly SentenceEncoder.encode_uncached after tokenization, with ``forward`` as the model."""
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    out = np.zeros((len(ids), 384), dtype=np.float32)
    start = 0
    while start < len(order):
        bucket = _bucket(len(ids[order[start]]))
        end = start
        while end < len(order) and end - start < batch_size and _bucket(len(ids[order[end]])) == bucket:
            end += 1
        batch = order[start:end]
        length = -(-len(ids[order[end - 1]]) // PAD_MULTIPLE) * PAD_MULTIPLE
        token_ids = np.zeros((len(batch), length), dtype=np.int32)
        mask = np.zeros((len(batch), length), dtype=bool)
        for row, i in enumerate(batch):
            token_ids[row, : len(ids[i])] = ids[i]
            mask[row, : len(ids[i])] = True
        hidden = np.asarray(forward(token_ids, mask), dtype=np.float32)
        w = mask[..., None].astype(np.float32)
        mean = (hidden * w).sum(axis=1) / np.maximum(w.sum(axis=1), 1.0)
        out[batch] = mean / np.maximum(np.linalg.norm(mean, axis=1, keepdims=True), 1e-12)
        start = end
    return out


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
