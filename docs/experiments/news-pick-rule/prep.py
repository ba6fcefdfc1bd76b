"""Prepare the train/validation examples of `make train` once and pickle them per set.

`prep.py` alone: the sets below; `prep.py SPEC...`: only those (e.g. the validation sets, to score saved models).
"""
import sys, os, pickle, logging, time
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))); sys.path.insert(0, ROOT); os.chdir(ROOT)
from app.core.encoder import SentenceEncoder
from app.core.sentences import SentenceSplitter
from training.data import LoadReport
from training.examples import prepare_examples
from app.settings import DATA_ROOT as DEFAULT_DATA
from training.data import load_sets
from training.train import VALIDATION_SETS
from training.vector_cache import VectorCache
logging.basicConfig(level=logging.INFO)
t = time.time()
splitter = SentenceSplitter("models/nltk_data"); enc = SentenceEncoder(); cache = VectorCache("cache/vectors.h5", enc.signature)
out = {}
for spec in sys.argv[1:] or ["bbc:train", "cnndm:train_cased", "cnndm:train_lowercased~8500"] + list(VALIDATION_SETS):
    report = LoadReport()
    out[spec] = prepare_examples(load_sets([spec], str(DEFAULT_DATA), report), splitter, "oracle", cache, enc, report)
    print(spec, len(out[spec]), round(time.time() - t), flush=True)
pickle.dump(out, open("runs/exp/examples.pkl", "wb"), protocol=5)
print("done", round(time.time() - t))
