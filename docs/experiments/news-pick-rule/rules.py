"""Pick-rule variants on validation with a saved model's scores."""
import sys, os, pickle
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))); sys.path.insert(0, ROOT); os.chdir(ROOT)
import numpy as np, keras
import app.core.ranking as R
import training.evaluate as E
from app.core.scorer import predict_rows
from training.fit import mean_rouge
from training.train import VALIDATION_SETS
ex = pickle.load(open("runs/exp/examples.pkl", "rb"))
model = keras.saving.load_model(sys.argv[1] if len(sys.argv) > 1 else "models/brief.h5", compile=False)
scores = {s: predict_rows(model, [e.rows for e in ex[s]]) for s in VALIDATION_SETS}
def make(th, n=3):
    def pick(scores, sentences, k, rule="top"):
        order = R.rank(scores); picked = []; seen = set()
        for i in order:
            if len(picked) == k: break
            toks = R.words(sentences[i]); g = {tuple(toks[j:j+n]) for j in range(len(toks)-n+1)}
            if g and len(g & seen) / len(g) >= th: continue
            picked.append(i); seen |= g
        return sorted(picked)
    return pick
orig = R.pick
for name, fn in [("top", None), ("tri_any", make(1e-9)), ("tri.2", make(0.2)), ("tri.35", make(0.35)), ("tri.5", make(0.5)), ("tri.7", make(0.7)), ("bi.5", make(0.5, 2))]:
    E.pick = (lambda s, t, k, rule="top": orig(s, t, k, "top")) if fn is None else fn
    res = {s: E.evaluate_scores(ex[s], scores[s], 3, "top") for s in VALIDATION_SETS}
    print(name, round(np.mean([mean_rouge(r) for r in res.values()]), 3), {s.split(':')[1][:14]: (r['rouge1'], r['rouge2'], r['rougeLsum']) for s, r in res.items()}, flush=True)
