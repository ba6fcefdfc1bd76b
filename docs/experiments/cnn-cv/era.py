"""Why the CNN cross-validation gain does not carry over to CNN/DM validation: the two sets' eras.

    python docs/experiments/cnn-cv/cv.py listwise loss=listwise   # -> runs/exp/scores_listwise.pkl
    python docs/experiments/cnn-cv/era.py [runs/exp/scores_listwise.pkl]

Part 1 describes both JSONL files from their article text and highlight counts only (no scores on
validation). Part 2 scores the cross-validated picks on the 100 training stories against shorter
references (their first 3 or 2 highlights) and by highlight length, to test whether validation's
shorter highlights explain the gap. Part 3 scores a lead prior added at pick time on the same picks.
"""
import json, pickle, re, sys
from collections import Counter

import numpy as np

from app.settings import DATA_ROOT
from training.evaluate import rouge_scores


def describe(path):
    rows = [json.loads(line) for line in open(path)]
    forms = Counter()
    for r in rows:
        head = r["article"][:150]
        forms["'PLACE (CNN) --' dateline" if re.search(r"\(CNN\)\s*--", head)
              else "'(CNN)' with no dash" if "(CNN)" in head else "no CNN tag"] += 1
    highlights = [[h for h in r["highlights"].split("\n") if h.strip()] for r in rows]
    return {"stories": len(rows), "forms": dict(forms),
            "highlights_per_story": round(float(np.mean([len(h) for h in highlights])), 2),
            "highlight_words": round(float(np.mean([sum(len(h.split()) for h in hs) for hs in highlights])), 1)}


def picks_from(scores, n_keep=3, prior=0.0):
    return [sorted(np.argsort(-(s + prior / (1 + np.arange(len(s)))), kind="stable")[:n_keep]) for s in scores]


def main(scores_path="runs/exp/scores_listwise.pkl"):
    for split in ("train", "validation"):
        print(split, describe(DATA_ROOT / "cnn_dailymail" / f"{split}.jsonl"))
    data = pickle.load(open("runs/exp/data.pkl", "rb"))["cnndm:train"]
    scores = pickle.load(open(scores_path, "rb"))
    sentences = [e[1] for e in data]
    model = picks_from(scores)
    lead = [list(range(min(3, len(s)))) for s in sentences]

    def rouge(picks, refs):
        return rouge_scores([[s[i] for i in p] for s, p in zip(sentences, picks)], refs)

    print("\nreferences                         | model (5-fold CV)      | Lead-3")
    for label, cut in (("all highlights", None), ("first 3 highlights", 3), ("first 2 highlights", 2)):
        refs = [e[4][:cut] for e in data]
        words = np.mean([sum(len(q.split()) for q in r) for r in refs])
        print(f"{label:18s} ({words:4.1f} words) | {rouge(model, refs)} | {rouge(lead, refs)}")
    words = np.array([sum(len(q.split()) for q in e[4]) for e in data])
    for lo, hi in ((0, 36), (36, 45), (45, 10_000)):
        idx = [i for i in range(len(data)) if lo <= words[i] < hi]
        refs = [data[i][4] for i in idx]
        m = rouge_scores([[sentences[i][j] for j in model[i]] for i in idx], refs)["rouge1"]
        l = rouge_scores([[sentences[i][j] for j in lead[i]] for i in idx], refs)["rouge1"]
        print(f"highlights {lo}-{hi} words: {len(idx)} stories, R-1 model {m} Lead-3 {l}")
    print("\nlead prior score + w / (1 + index), R-1 on the CV picks:",
          {w: rouge(picks_from(scores, prior=w), [e[4] for e in data])["rouge1"] for w in (0.0, 0.1, 0.2, 0.3, 0.5)})


if __name__ == "__main__":
    main(*sys.argv[1:])
