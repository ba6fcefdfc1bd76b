"""Quick check: old (BBC-style) model, new model, and their average on the validation sets."""
import sys, logging
import os; ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))); sys.path.insert(0, ROOT)
os.chdir(ROOT)
import keras, numpy as np
from app.core.encoder import SentenceEncoder
from app.core.sentences import SentenceSplitter
from app.core.scorer import predict_rows
from training.data import LoadReport
from training.examples import prepare_examples
from app.settings import DATA_ROOT as DEFAULT_DATA
from training.data import load_sets
from training.fit import mean_rouge
from training.train import VALIDATION_SETS, TEST_SETS
from training.evaluate import evaluate_scores
from training.vector_cache import VectorCache
logging.basicConfig(level=logging.WARNING)
sets = list(VALIDATION_SETS) + (sys.argv[1:] or [])
splitter = SentenceSplitter("models/nltk_data"); enc = SentenceEncoder(); cache = VectorCache("cache/vectors.h5", enc.signature)
ex = {s: prepare_examples(load_sets([s], str(DEFAULT_DATA), LoadReport(), dedupe=s in VALIDATION_SETS), splitter, "oracle", cache, enc, LoadReport(), min_sentences=1) for s in sets}
models = {"old": keras.saving.load_model("runs/exp/old/brief.h5", compile=False), "new": keras.saving.load_model("models/brief.h5", compile=False)}
scores = {m: {s: predict_rows(mod, [e.rows for e in ex[s]]) for s in sets} for m, mod in models.items()}
def rank01(x):  # within-article rank normalisation
    return np.argsort(np.argsort(x)) / max(len(x) - 1, 1)
for w in (0.0, 0.25, 0.5, 0.75, 1.0):
    for combo in ("mean", "rank"):
        res = {}
        for s in sets:
            sc = [(w * (rank01(a) if combo == "rank" else a) + (1 - w) * (rank01(b) if combo == "rank" else b)) for a, b in zip(scores["old"][s], scores["new"][s])]
            res[s] = evaluate_scores(ex[s], sc, 3, "top")
        crit = np.mean([mean_rouge(res[s]) for s in VALIDATION_SETS])
        print(f"w_old={w} {combo} criterion={crit:.3f}", {s.split(':')[1][:18]: round(res[s]['rouge1'], 2) for s in sets}, flush=True)
