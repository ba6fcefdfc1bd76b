"""Validation criterion of the equal-weight average of saved models: python ens_n.py a.h5 b.h5 [c.h5 ...]

As `training.train --average-with` would average them (training.fit.average_models), on the
validation examples pickled by prep.py; no test set is read.
"""
import sys, os, pickle
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))); sys.path.insert(0, ROOT); os.chdir(ROOT)
import keras
from training.fit import average_models, select
from training.train import VALIDATION_SETS
ex = pickle.load(open("runs/exp/examples.pkl", "rb"))
models = [keras.saving.load_model(p, compile=False) for p in sys.argv[1:]]
sel = select(average_models(models), {s: ex[s] for s in VALIDATION_SETS}, 3)
print("AVERAGE", " + ".join(sys.argv[1:]), round(sel.criterion, 4), sel.pick_rule,
      {k.split(':')[1][:16]: v["rouge1"] for k, v in sel.rouge.items()}, flush=True)
