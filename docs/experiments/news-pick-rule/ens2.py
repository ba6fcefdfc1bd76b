"""Validation criterion of the average of several saved models: python ens2.py a.h5 b.h5 ..."""
import sys, os, pickle, logging
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))); sys.path.insert(0, ROOT); os.chdir(ROOT)
import keras
from training.fit import select, average_models
from training.train import VALIDATION_SETS
ex = pickle.load(open("runs/exp/examples.pkl", "rb"))
models = [keras.saving.load_model(p, compile=False) for p in sys.argv[1:]]
m = average_models(models) if len(models) > 1 else models[0]
sel = select(m, {s: ex[s] for s in VALIDATION_SETS}, 3)
print("ENSEMBLE", sys.argv[1:], sel.criterion, sel.pick_rule, {k.split(':')[1][:16]: v for k, v in sel.rouge.items()})
