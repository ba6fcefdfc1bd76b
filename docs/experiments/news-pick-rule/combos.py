"""How long the best three-sentence pick is: every combination of a model's top 6 on validation.

python docs/experiments/news-pick-rule/combos.py [model.h5]; no test set is read.
"""
import sys, os, pickle, itertools
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))); sys.path.insert(0, ROOT); os.chdir(ROOT)
import numpy as np, keras
from rouge_score import rouge_scorer
import app.core.ranking as R
from app.core.scorer import predict_rows
from training.train import VALIDATION_SETS
ex = pickle.load(open("runs/exp/examples.pkl", "rb"))
model = keras.saving.load_model(sys.argv[1] if len(sys.argv) > 1 else "models/brief.h5", compile=False)
K = 6
sc = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeLsum"], use_stemmer=True)
out = {}
for s in VALIDATION_SETS:
    scores = predict_rows(model, [e.rows for e in ex[s]])
    recs = []
    for e, p in zip(ex[s], scores):
        texts = [x.text for x in e.sentences]
        ref = "\n".join(e.article.quotes)
        top = R.rank(p)[:K]
        vec = e.rows[:, :384]
        combos = [tuple(sorted(c)) for c in itertools.combinations(top, min(3, len(top)))]
        shipped = tuple(R.pick(p, texts, 3, "near_duplicate_blocking"))
        if shipped not in combos: combos.append(shipped)
        lead = tuple(range(min(3, len(texts))))
        if lead not in combos: combos.append(lead)
        rows = []
        for c in combos:
            r = sc.score(ref, "\n".join(texts[i] for i in c))
            m = np.mean([r[k].fmeasure for k in r]) * 100
            sims = [float(vec[a] @ vec[b]) for a, b in itertools.combinations(c, 2)]
            rows.append(dict(c=c, rouge=m, r1=r["rouge1"].fmeasure*100, ssum=float(sum(p[i] for i in c)), maxsim=max(sims) if sims else 0,
                             meansim=np.mean(sims) if sims else 0, words=sum(len(texts[i].split()) for i in c),
                             lead=sum(1 for i in c if i < 3), pos=[i for i in c]))
        recs.append(dict(rows=rows, shipped=shipped, lead=lead, refwords=len(ref.split()), n=len(texts),
                         docvec=vec.mean(0)))
    out[s] = recs
    print(s, len(recs), flush=True)
for s, recs in out.items():
    best = [max(r["rows"], key=lambda x: x["rouge"]) for r in recs]
    shipped = [next(x for x in r["rows"] if x["c"] == r["shipped"]) for r in recs]
    print(s, "median words: reference", np.median([r["refwords"] for r in recs]),
          "model's picks", np.median([x["words"] for x in shipped]), "best combination of its top 6", np.median([x["words"] for x in best]),
          "| mean ROUGE: picks %.2f, best combination %.2f" % (np.mean([x["rouge"] for x in shipped]), np.mean([x["rouge"] for x in best])))
