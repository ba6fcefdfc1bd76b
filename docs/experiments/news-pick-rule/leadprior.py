"""Lead prior at pick time on validation: score + beta for the first three sentences (then the near-duplicate rule)."""
import sys, os, pickle
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))); sys.path.insert(0, ROOT); os.chdir(ROOT)
import numpy as np, keras
import app.core.ranking as R
import training.evaluate as E
from app.core.scorer import predict_rows
from training.fit import mean_rouge
from training.train import VALIDATION_SETS
import app.core.sentences; sys.modules["app.sentences"] = app.core.sentences
ex = pickle.load(open("runs/exp/examples.pkl", "rb"))
model = keras.saving.load_model("models/brief.h5", compile=False)
scores = {s: predict_rows(model, [e.rows for e in ex[s]]) for s in VALIDATION_SETS}
orig = R.pick
for name, beta, n in [("nd", 0, 3), ("lead.02", 0.02, 3), ("lead.05", 0.05, 3), ("lead.1", 0.1, 3), ("first1.05", 0.05, 1), ("decay.05", -0.05, 0)]:
    def pick(s, t, k, rule="top", beta=beta, n=n):
        s = np.asarray(s, dtype=np.float64).copy()
        if beta > 0:
            s[:n] += beta
        elif beta < 0:
            s += -beta / (1 + np.arange(len(s)))
        return orig(s, t, k, "near_duplicate_blocking")
    E.pick = pick
    res = {s: E.evaluate_scores(ex[s], scores[s], 3, "near_duplicate_blocking") for s in VALIDATION_SETS}
    print(name, round(np.mean([mean_rouge(r) for r in res.values()]), 3), {s.split(':')[1][:14]: (r['rouge1'], r['rouge2'], r['rougeLsum']) for s, r in res.items()}, flush=True)
