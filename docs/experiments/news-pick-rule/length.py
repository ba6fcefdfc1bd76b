"""Criterion on validation when picks rank by score / words ** e: python length.py [model.h5]; no test set read."""
import sys, os, pickle
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))); sys.path.insert(0, ROOT); os.chdir(ROOT)
import numpy as np
import app.core.ranking as R
import training.evaluate as E
from training.fit import mean_rouge
from training.train import VALIDATION_SETS
ex = pickle.load(open("runs/exp/examples.pkl", "rb"))
path = sys.argv[1] if len(sys.argv) > 1 else "models/brief.h5"
cache = "runs/exp/scores_" + os.path.basename(path) + ".pkl"
if os.path.exists(cache): scores = pickle.load(open(cache, "rb"))
else:
    import keras
    from app.core.scorer import predict_rows
    model = keras.saving.load_model(path, compile=False)
    scores = {s: predict_rows(model, [e.rows for e in ex[s]]) for s in VALIDATION_SETS}
    pickle.dump(scores, open(cache, "wb"))
def run(name, adjust):
    res = {}
    for s in VALIDATION_SETS:
        adj = [adjust(p, e) for p, e in zip(scores[s], ex[s])]
        res[s] = E.evaluate_scores(ex[s], adj, 3, "near_duplicate_blocking")
    print(name, round(np.mean([mean_rouge(r) for r in res.values()]), 3), {s.split(':')[1][:12]: r['rouge1'] for s, r in res.items()}, flush=True)
W = lambda e: np.array([len(x.text.split()) for x in e.sentences], dtype=float)
run("base", lambda p, e: p)
for a in [0.1, 0.2, 0.3, 0.5]:
    run(f"p / w^{a}", lambda p, e, a=a: p / W(e) ** a)
for a in [0.1, 0.2, 0.3]:
    run(f"p / (w/median)^{a} ", lambda p, e, a=a: p / (W(e)/np.median(W(e))) ** a)
