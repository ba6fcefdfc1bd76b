"""One experimental fit on the pickled examples: python fit.py NAME key=value ..."""
import sys, os, pickle, json, time, logging, dataclasses
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))); sys.path.insert(0, ROOT); os.chdir(ROOT)
import numpy as np
from training.fit import fit_once, select
from training.train import TrainConfig, VALIDATION_SETS
from training.model import ModelConfig
logging.basicConfig(level=logging.INFO)
name = sys.argv[1]
kv = dict(a.split("=") for a in sys.argv[2:])
bbc_times = int(kv.pop("bbc", 2)); bbc_weight = float(kv.pop("bbcw", 1)); lower = int(kv.pop("lower", 8500)); seed = int(kv.pop("seed", 1))
mc = ModelConfig(units=int(kv.pop("units", 128)), bidirectional=True, loss=kv.pop("loss", "listwise"),
                 dropout=float(kv.pop("dropout", 0.3)), learning_rate=float(kv.pop("lr", 1e-3)), layers=int(kv.pop("layers", 1)))
cfg = TrainConfig(model=mc, epochs=int(kv.pop("epochs", 16)), batch_size=int(kv.pop("batch", 32)), max_sentences=int(kv.pop("maxs", 64)), restarts=1)
assert not kv, kv
t = time.time()
import app.core.sentences; sys.modules.setdefault("app.sentences", app.core.sentences)  # pickles older than app/core
ex = pickle.load(open("runs/exp/examples.pkl", "rb"))
if bbc_weight != 1:  # "bbc:train^W": once per epoch, each article weighing W in the loss
    ex["bbc:train"] = [dataclasses.replace(e, weight=bbc_weight) for e in ex["bbc:train"]]
train = ex["bbc:train"] * bbc_times + ex["cnndm:train_cased"] + ex["cnndm:train_lowercased~8500"][:lower]
val_sets = {s: ex[s] for s in VALIDATION_SETS}
val = [e for s in VALIDATION_SETS for e in ex[s]]
print("loaded", len(train), round(time.time() - t), flush=True)
model, history = fit_once(cfg, train, val, seed)
model.save(f"runs/exp/models/{name}.h5")
sel = select(model, val_sets, 3)
res = {"name": name, "argv": sys.argv[2:], "criterion": sel.criterion, "pick_rule": sel.pick_rule, "rouge": sel.rouge,
       "val_loss": [round(v, 5) for v in history["val_loss"]], "seconds": round(time.time() - t)}
open(f"runs/exp/models/{name}.json", "w").write(json.dumps(res, indent=1))
print("RESULT", json.dumps(res), flush=True)
