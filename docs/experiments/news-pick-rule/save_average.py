"""Save the average of saved models as one .h5 with a card, so that `training.evaluate --model` reads it.

    python docs/experiments/news-pick-rule/save_average.py OUT.h5 PICK_RULE a.h5 b.h5 ...

The card is the first model's, with the id, sha256, pick rule and `chosen` of the average.
"""
import json, sys, os
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))); sys.path.insert(0, ROOT); os.chdir(ROOT)
import keras
from app.core.checksums import file_sha256
from training.fit import average_models

out, rule, paths = sys.argv[1], sys.argv[2], sys.argv[3:]
model = average_models([keras.saving.load_model(p, compile=False) for p in paths])
model.save(out)
card = json.load(open(os.path.splitext(paths[0])[0] + ".json"))
card.update(id="average-" + "+".join(os.path.basename(p).removesuffix(".h5") for p in paths), model_file=os.path.basename(out),
            model_sha256=file_sha256(out), pick_rule=rule, chosen=f"average of {', '.join(paths)}")
json.dump(card, open(os.path.splitext(out)[0] + ".json", "w"), indent=2)
print("saved", out, card["id"])
