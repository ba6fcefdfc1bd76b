"""Examples (sentences, 12-feature rows, soft-oracle labels, quotes) of the sets cv.py uses -> runs/exp/data.pkl."""
import pickle, logging
logging.basicConfig(level=logging.INFO)
from app.core.encoder import SentenceEncoder, encoder_signature
from app.core.sentences import SentenceSplitter
from app.settings import DATA_ROOT
from training.data import LoadReport, load_dataset
from training.examples import prepare_examples
from training.vector_cache import VectorCache
splitter = SentenceSplitter("models/nltk_data")
cache = VectorCache("cache/vectors.h5", encoder_signature())
enc = SentenceEncoder()
out = {}
for spec, dedupe in [("bbc:train", True), ("bbc:validation", True), ("cnndm:train", True)]:  # no test set, no CNN/DM validation
    arts = load_dataset(spec, str(DATA_ROOT), LoadReport(), dedupe)
    ex = prepare_examples(arts, splitter, "oracle", cache, enc, LoadReport(), min_sentences=1)
    out[spec] = [(e.article.id, [s.text for s in e.sentences], e.rows, e.labels, list(e.article.quotes)) for e in ex]
    print(spec, len(ex), flush=True)
pickle.dump(out, open("runs/exp/data.pkl", "wb"))
