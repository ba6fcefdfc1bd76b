"""Leave one source out: fit on BBC only, score the 100 CNN training stories as an unseen source.

    python docs/experiments/cnn-cv/loso.py NAME [DROPPED_FEATURE,...] [SEED]   # appends to runs/exp/loso.jsonl

CNN/DM validation is, for a model trained on BBC + the 2008-09 CNN training stories, a source it
has not seen (2015 CNN stories: other conventions, no inline photo captions). This proxy recreates
that situation from training data only: BBC train (early stop on BBC validation) -> CNN train.
It also scores a lead prior added at pick time, score + w / (1 + index), on both sets, the one
lever that transfers; same fit recipe as cv.py (bi-LSTM 128, listwise loss, soft-oracle labels).
"""
import importlib.util, json, sys
from pathlib import Path

import numpy as np

from app.core.features import FEATURES
from training.evaluate import rouge_scores

_spec = importlib.util.spec_from_file_location("cv", Path(__file__).with_name("cv.py"))
cv = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cv)  # loads runs/exp/data.pkl (prep.py)

PRIORS = (0.0, 0.1, 0.2, 0.3, 0.5)


def with_prior(sentences, scores, references, weight):
    picks = [sorted(np.argsort(-(s + weight / (1 + np.arange(len(s)))), kind="stable")[:3]) for s in scores]
    return rouge_scores([[sent[i] for i in p] for sent, p in zip(sentences, picks)], references)["rouge1"]


def main(name, drop="", seed="1"):
    dropped = [d for d in drop.split(",") if d]
    keep = list(range(cv.D["bbc:train"][0][2].shape[1] - len(FEATURES))) + [
        cv.D["bbc:train"][0][2].shape[1] - len(FEATURES) + j for j, f in enumerate(FEATURES) if f not in dropped]

    def examples(spec):
        return [(s, rows[:, keep], labels.astype(np.float32), quotes) for (_, s, rows, labels, quotes) in cv.D[spec]]

    train, val, cnn = examples("bbc:train"), examples("bbc:validation"), examples("cnndm:train")
    model = cv.fit(train, val, int(seed), "listwise")
    res = {"name": name, "dropped": dropped, "seed": int(seed), "lead_cnn": cv.lead(cnn)}
    for key, exs in (("cnn", cnn), ("bbc_val", val)):
        rouge, scores = cv.rouge(model, exs)
        res[key] = rouge
        res[key + "_prior_r1"] = {w: with_prior([e[0] for e in exs], scores, [e[3] for e in exs], w) for w in PRIORS}
    print("RESULT", json.dumps(res), flush=True)
    with open("runs/exp/loso.jsonl", "a") as fh:
        fh.write(json.dumps(res) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:])
