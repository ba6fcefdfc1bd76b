"""CNN-bar experiments: 5-fold CV over cnndm:train (100) + bbc:validation, one fit per fold.

    python docs/experiments/cnn-cv/cv.py NAME [VARIANT,...]   # appends a JSON line to runs/exp/results.jsonl

VARIANT: abspos (append log_index and lead features), loss=listwise (training.model.listwise_loss), rep=N (CNN repeats),
labeler=graded or a training labeler, seed=S. Reads runs/exp/data.pkl (from prep.py).
Throwaway research code, kept so the figures in README.md can be rerun; the product is training/, and the
batching and the fit are its own (training.examples.ExampleBatches, training.fit.fit_once; the figures were
made with a copy of them that padded bce targets with 0 instead of -1, under a zero weight either way).
"""
import pickle, sys, json, time, os
import numpy as np
from app.core.ranking import pick
from app.core.scorer import predict_rows
from training.evaluate import rouge_scores
from training.examples import Example
from training.fit import fit_once
from training.labels import LABELERS
from training.model import ModelConfig
from training.train import TrainConfig

GRADE = float(os.environ.get("GRADE", "0.4"))
D = pickle.load(open("runs/exp/data.pkl", "rb"))

def extra_feats(sents, rows, variant):
    n = len(sents)
    cols = []
    if "abspos" in variant:
        i = np.arange(n)
        cols.append(np.log1p(i)/4)
        cols.append((i < 3).astype(np.float32))
    if cols:
        return np.concatenate([rows, np.stack(cols, 1).astype(np.float32)], 1)
    return rows

def make(exs, variant, labeler="oracle"):
    out = []
    for (aid, sents, rows, labels, quotes) in exs:
        if labeler == "graded":  # soft oracle, and for the sentences it skips a share of their ROUGE to the nearest quote
            near = LABELERS["rouge"](sents, quotes)
            labels = np.where(labels > 0, labels, GRADE * near)
        elif labeler != "oracle":
            labels = LABELERS[labeler](sents, quotes)
        out.append((sents, extra_feats(sents, rows, variant), labels.astype(np.float32), quotes))
    return out

def as_examples(ex):
    """cv.py's tuples as the library's Examples (ExampleBatches and fit_once read only rows and labels)."""
    return [Example(None, [], rows, labels) for (_, rows, labels, _) in ex]

def rouge(model, ex, k=3, tb=False):
    scores = predict_rows(model, [e[1] for e in ex])
    picked = [[e[0][i] for i in pick(s, e[0], k, "trigram_blocking" if tb else "top")] for e, s in zip(ex, scores)]
    return rouge_scores(picked, [e[3] for e in ex]), scores

def fit(train, val, seed, loss, epochs=30):
    """The product's fit (training.fit.fit_once: its batches, early stopping with patience 4) of its
    model (bidirectional LSTM-128, dropout 0.3, RMSprop 1e-3)."""
    config = TrainConfig(model=ModelConfig(units=128, bidirectional=True, loss=loss), epochs=epochs, batch_size=32,
                         patience=4, max_sentences=256)
    model, _ = fit_once(config, as_examples(train), as_examples(val), seed)
    return model

def lead(ex, k=3):
    return rouge_scores([e[0][:k] for e in ex], [e[3] for e in ex])

if __name__ == "__main__":
    name = sys.argv[1]
    variant = sys.argv[2].split(",") if len(sys.argv) > 2 else []
    cfg = dict(a.split("=") for a in variant if "=" in a)
    loss = cfg.get("loss", "bce"); rep = int(cfg.get("rep", 8)); labeler = cfg.get("labeler", "oracle")
    folds = int(cfg.get("folds", 5))
    bbc_tr = make(D["bbc:train"], variant, labeler); bbc_va = make(D["bbc:validation"], variant, labeler)
    cnn = make(D["cnndm:train"], variant, labeler)
    res = {"name": name, "variant": variant, "folds": [], "lead_cv": lead(cnn)}
    allpicks_tb, allpicks = [], []
    cv_scores = [None]*len(cnn)
    t0 = time.time()
    for f in range(folds):
        held = list(range(f*len(cnn)//folds, (f+1)*len(cnn)//folds))
        tr = bbc_tr + [cnn[i] for i in range(len(cnn)) if i not in held] * rep
        va = bbc_va + [cnn[i] for i in held]
        m = fit(tr, va, 1 + f + 100 * int(cfg.get('seed', 0)), loss)
        r, s = rouge(m, [cnn[i] for i in held])
        for i, sc in zip(held, s): cv_scores[i] = sc
        rb, _ = rouge(m, bbc_va)
        res["folds"].append({"cnn_held": r, "bbc_val": rb})
        print(name, "fold", f, r, "bbc_val", rb, f"{time.time()-t0:.0f}s", flush=True)
    picked = [[e[0][i] for i in pick(s, e[0], 3)] for e, s in zip(cnn, cv_scores)]
    picked_tb = [[e[0][i] for i in pick(s, e[0], 3, "trigram_blocking")] for e, s in zip(cnn, cv_scores)]
    res["cnn_cv"] = rouge_scores(picked, [e[3] for e in cnn])
    res["cnn_cv_tb"] = rouge_scores(picked_tb, [e[3] for e in cnn])
    res["bbc_val_mean"] = {k: round(float(np.mean([f["bbc_val"][k] for f in res["folds"]])), 2) for k in res["folds"][0]["bbc_val"]}
    res["pick_positions"] = np.bincount(np.concatenate([np.minimum(pick(s, e[0], 3), 10) for e, s in zip(cnn, cv_scores)]), minlength=11).tolist()
    pickle.dump(cv_scores, open(f"runs/exp/scores_{name}.pkl", "wb"))  # held-out scores, for era.py
    print("RESULT", json.dumps(res), flush=True)
    with open("runs/exp/results.jsonl", "a") as fh: fh.write(json.dumps(res) + "\n")
