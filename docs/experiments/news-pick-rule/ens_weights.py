"""Validation criterion of w * b + (1 - w) * a for saved models a, b: python ens_weights.py a.h5 b.h5 w1 w2 ...

With SAVE=out.h5 in the environment, the last weight's model is saved there with a card (a's card,
its id, sha256, pick rule and `chosen` replaced), for `python -m training.evaluate --model out.h5`.
"""
import sys, os, pickle, json
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))); sys.path.insert(0, ROOT); os.chdir(ROOT)
import keras
from training.fit import select
from training.train import VALIDATION_SETS
ex = pickle.load(open("runs/exp/examples.pkl", "rb"))
a, b = (keras.saving.load_model(p, compile=False) for p in sys.argv[1:3])
a.name, b.name = "a", "b"
sentences = keras.Input(shape=a.input_shape[0][1:]); mask = keras.Input(shape=(None,), dtype="float32")
for w in map(float, sys.argv[3:]):
    scores = keras.layers.Add()([keras.layers.Rescaling(1 - w)(a([sentences, mask])), keras.layers.Rescaling(w)(b([sentences, mask]))])
    sel = select(keras.Model([sentences, mask], scores), {s: ex[s] for s in VALIDATION_SETS}, 3)
    print("WEIGHT", w, round(sel.criterion, 4), sel.pick_rule, {k.split(':')[1][:16]: v["rouge1"] for k, v in sel.rouge.items()}, flush=True)
    if os.environ.get("SAVE"):
        from app.core.checksums import file_sha256
        out = os.environ["SAVE"]
        keras.Model([sentences, mask], scores).save(out)
        card = json.load(open(os.path.splitext(sys.argv[1])[0] + ".json"))
        card.update(id=f"weighted-{w}", model_file=os.path.basename(out), model_sha256=file_sha256(out),
                    pick_rule=sel.pick_rule, chosen=f"{1 - w:g} x {sys.argv[1]} + {w:g} x {sys.argv[2]}")
        json.dump(card, open(os.path.splitext(out)[0] + ".json", "w"), indent=2)
