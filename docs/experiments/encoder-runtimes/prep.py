"""Sentences of BBC test and CNN/DM validation, split by Brief's Punkt and tokenized as app/encoder.py does,
with the TF float32 reference vectors of the project's own SentenceEncoder.encode_uncached.
Writes /tmp/p16/data.pkl: {"sets": {name: {"articles": [[sentence idx...]...]}}, "sentences": [...], "ids": [...], "ref": (N,384)}
Run: cd /tmp/p16 && BRIEF_ROOT=$PWD/../.. TF_CPP_MIN_LOG_LEVEL=3 nice -n 5 venv/bin/python prep.py
"""
import pickle, sys, time
import numpy as np
sys.path.insert(0, __import__("os").environ.get("BRIEF_ROOT", "/work/main"))
from training.data import load_dataset
from app.sentences import SentenceSplitter
from app.encoder import SentenceEncoder

splitter = SentenceSplitter(__import__("os").environ.get("BRIEF_ROOT", "/work/main") + "/models/nltk_data")
index, sentences, sets = {}, [], {}
for name, spec in (("bbc_test", "bbc:test"), ("cnndm_validation", "cnndm:validation")):
    arts = load_dataset(spec, "/work/shared/data", dedupe=False)
    rows = []
    for a in arts:
        row = []
        for s in splitter.split(a.text):
            if s.text not in index:
                index[s.text] = len(sentences); sentences.append(s.text)
            row.append(index[s.text])
        rows.append(row)
    sets[name] = {"articles": rows}
    print(name, len(arts), "articles", sum(map(len, rows)), "sentences", flush=True)
enc = SentenceEncoder(cache_size=0)
ids = enc.token_ids(sentences)
t = time.time()
ref = enc.encode_uncached(sentences)
print("distinct", len(sentences), "TF f32 reference in", round(time.time() - t, 1), "s", flush=True)
pickle.dump({"sets": sets, "sentences": sentences, "ids": ids, "ref": ref}, open("/tmp/p16/data.pkl", "wb"))
