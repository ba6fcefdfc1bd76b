"""CNN-bar experiments: 5-fold CV over cnndm:train (100) + bbc:validation, one fit per fold.

    python docs/experiments/cnn-cv/cv.py NAME [VARIANT,...]   # appends a JSON line to runs/exp/results.jsonl

VARIANT: abspos (append log_index and lead features), loss=listwise (training.model.listwise_loss), rep=N (CNN repeats),
labeler=graded or a training labeler, seed=S. Reads runs/exp/data.pkl (from prep.py).
Throwaway research code, kept so the figures in README.md can be rerun; the product is training/.
"""
import pickle, sys, json, time, os
import numpy as np, keras
from app.core.ranking import pick
from training.evaluate import rouge_scores
from training.labels import LABELERS
from app.core.summarizer import pad_rows, bucket_length, predict_rows
from training.model import ModelConfig, build_model

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

class Batches(keras.utils.PyDataset):
    def __init__(self, ex, bs, seed, listwise=False):
        super().__init__(); self.ex=ex; self.bs=bs; self.rng=np.random.default_rng(seed); self.listwise=listwise; self._mk()
    def _mk(self):
        order = sorted(range(len(self.ex)), key=lambda i: len(self.ex[i][1]) + self.rng.random())
        b = [order[i:i+self.bs] for i in range(0, len(order), self.bs)]
        self.rng.shuffle(b)
        L = [max(len(self.ex[i][1]) for i in x) for x in b]
        lo, hi = int(np.argmax(L)), int(np.argmin(L))
        self.b = [b[lo]] + ([b[hi]] if hi != lo else []) + [x for j, x in enumerate(b) if j not in (lo, hi)]
    def __len__(self): return len(self.b)
    def __getitem__(self, k):
        m = [self.ex[i] for i in self.b[k]]
        L = min(256, bucket_length(max(len(e[1]) for e in m)))
        x, mask = pad_rows([e[1] for e in m], L)
        y = np.zeros(mask.shape + (1,), np.float32)
        for r, e in enumerate(m):
            y[r, :min(L, len(e[2])), 0] = e[2][:L]
        if self.listwise:
            y = np.where(mask[..., None] > 0, y, -1.0).astype(np.float32)  # padding: label -1
            return (x, mask), y
        return (x, mask), y, mask
    def on_epoch_end(self): self._mk()

def build(dim, loss="bce"):
    """The product's model (training.model.build_model): bidirectional LSTM-128, dropout 0.3, RMSprop 1e-3."""
    return build_model(ModelConfig(units=128, bidirectional=True, loss=loss), dim)

def rouge(model, ex, k=3, tb=False):
    scores = predict_rows(model, [e[1] for e in ex])
    picked = [[e[0][i] for i in pick(s, e[0], k, "trigram_blocking" if tb else "top")] for e, s in zip(ex, scores)]
    return rouge_scores(picked, [e[3] for e in ex]), scores

def fit(train, val, seed, loss, epochs=30):
    keras.utils.set_random_seed(seed)
    m = build(train[0][1].shape[1], loss)
    lw = loss != "bce"
    m.fit(Batches(train, 32, seed, lw), validation_data=Batches(val, 32, 0, lw), epochs=epochs, verbose=0,
          callbacks=[keras.callbacks.EarlyStopping(patience=4, restore_best_weights=True)])
    return m

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
