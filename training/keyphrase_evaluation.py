"""Key phrases against the reference summaries: Brief's (``app.core.keywords``) next to YAKE, TF-IDF and others.

    python -m training.keyphrase_evaluation --data bbc:validation --data cnndm:validation_cased

For each article, each method's phrases are compared with the words of its reference summary, stemmed
(Porter, as ``rouge-score`` and the acceptance check ``budget_eval.py`` stem them):

- precision@5: the share of the first 5 phrases whose every word is in the summary (a method that
  gives fewer than 5 phrases scores the missing ones as misses);
- recall@10: the share of the summary's content words (no stop words, no numbers) among the words
  of the first 10 phrases.

Methods, all on the sentences Brief's splitter makes, all but YAKE with the same candidates and the
same removal of near-duplicates (``app.core.keywords``), so that only the scoring differs:

- ``brief``: a phrase scores the sum of the model's scores of the sentences it occurs in (what ships);
- ``frequency``: its count alone;
- ``tfidf``: count x inverse document frequency over the evaluated set's articles (sklearn's smooth idf);
- ``keybert``: as KeyBERT, the cosine of the phrase's MiniLM vector with the article's (the mean of its
  sentences' vectors), for the 50 most frequent candidates;
- ``yake``: the ``yake`` package (n=3, its defaults otherwise), which finds its own candidates.
"""

from __future__ import annotations

import argparse
import logging
import math
import time
from collections import Counter
from typing import Callable, Sequence

import numpy as np
from nltk.stem.porter import PorterStemmer

from app.core.keywords import Candidate, find_candidates, key_phrases, rank_phrases, stems
from app.core.words import content_words, words
from app.settings import CARD_FILE, MODEL_FILE, NLTK_DATA, resolve
from training.data import LoadReport, add_data_arguments, load_dataset
from training.evaluate import write_results

log = logging.getLogger(__name__)
METHODS = ("brief", "frequency", "tfidf", "keybert", "yake")
KEYBERT_CANDIDATES = 50  # the most frequent candidates KeyBERT-style ranking encodes


def summary_stems(summary: str) -> set[str]:
    """Every word of the summary, stemmed: a phrase is a hit when all its words are in here."""
    stem = PorterStemmer().stem
    return {stem(w) for w in words(summary)}


def content_stems(summary: str) -> set[str]:
    """The summary's content words, stemmed: what recall@10 counts."""
    stem = PorterStemmer().stem
    return {stem(w) for w in content_words(summary)}


def precision_at(phrases: Sequence[str], reference: set[str], k: int = 5) -> float:
    hits = sum(bool(stems(p)) and stems(p) <= reference for p in phrases[:k])
    return hits / k


def recall_at(phrases: Sequence[str], reference: set[str], k: int = 10) -> float:
    if not reference:
        return 0.0
    found = set().union(*(stems(p) for p in phrases[:k])) if phrases else set()
    return len(found & reference) / len(reference)


def smooth_idf(articles: Sequence[dict[str, Candidate]]) -> Callable[[str], float]:
    """sklearn's ``smooth_idf``: ln((1 + n) / (1 + df)) + 1, document frequencies over these articles."""
    df = Counter(key for candidates in articles for key in candidates)
    n = len(articles)
    return lambda key: math.log((1 + n) / (1 + df[key])) + 1


def yake_phrases(text: str, n: int) -> list[str]:
    import yake

    extractor = yake.KeywordExtractor(lan="en", n=3, top=n)
    return [phrase for phrase, _ in extractor.extract_keywords(text)]


def keybert_phrases(candidates: dict[str, Candidate], sentence_vectors: np.ndarray, encoder, n: int) -> list[str]:
    """KeyBERT's ranking with Brief's encoder: cosine of each phrase's vector with the article's."""
    frequent = sorted(candidates, key=lambda key: (-len(candidates[key].sentences), key))[:KEYBERT_CANDIDATES]
    phrase_vectors = encoder.encode(frequent)  # (n_phrases, dim), unit length
    article = sentence_vectors.mean(axis=0)
    article /= np.linalg.norm(article) or 1.0
    scores = {key: float(v @ article) for key, v in zip(frequent, phrase_vectors)}
    return [k.phrase for k in rank_phrases(candidates, scores, n)]


def evaluate_set(spec: str, data_root: str, summarizer, methods: Sequence[str], n: int = 10) -> dict:
    """Each method's mean precision@5 and recall@10 over one data set."""
    report = LoadReport()
    articles = load_dataset(spec, data_root, report, dedupe=False)
    parts = [summarizer.split(a.text) for a in articles]
    keep = [i for i, sentences in enumerate(parts) if sentences]
    articles, parts = [articles[i] for i in keep], [parts[i] for i in keep]
    split = [[s.text for s in sentences] for sentences in parts]
    candidates = [find_candidates(sentences) for sentences in split]
    idf = smooth_idf(candidates)
    phrases: dict[str, list[list[str]]] = {m: [] for m in methods}
    seconds = dict.fromkeys(methods, 0.0)
    for start in range(0, len(articles), 16):
        scored = summarizer.score_sentences(parts[start : start + 16])
        for offset, article in enumerate(scored):
            i = start + offset
            sentences = split[i]
            for method in methods:
                t0 = time.perf_counter()
                if method == "brief":
                    found = [k.phrase for k in key_phrases(sentences, article.scores, n)]
                elif method == "frequency":
                    found = [k.phrase for k in key_phrases(sentences, np.ones(len(sentences)), n)]
                elif method == "tfidf":
                    scores = {key: len(c.sentences) * idf(key) for key, c in candidates[i].items()}
                    found = [k.phrase for k in rank_phrases(candidates[i], scores, n)]
                elif method == "keybert":
                    vectors = summarizer.encoder.encode(sentences)
                    found = keybert_phrases(candidates[i], vectors, summarizer.encoder, n)
                else:
                    found = yake_phrases(articles[i].text, n)
                seconds[method] += time.perf_counter() - t0
                phrases[method].append(found)
        log.info("%s: %d/%d articles", spec, min(start + 16, len(articles)), len(articles))
    summaries = [" ".join(a.quotes) for a in articles]
    results = {}
    for method in methods:
        p5 = [precision_at(p, summary_stems(s)) for p, s in zip(phrases[method], summaries)]
        r10 = [recall_at(p, content_stems(s)) for p, s in zip(phrases[method], summaries)]
        results[method] = {"precision@5": round(float(np.mean(p5)), 4), "recall@10": round(float(np.mean(r10)), 4),
                           "ms_per_article": round(1000 * seconds[method] / len(articles), 2)}
    return {"articles": len(articles), "methods": results}


def main(argv: list[str] | None = None) -> dict:
    from app.core.summarizer import Summarizer

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_arguments(parser)
    parser.add_argument("--methods", default=",".join(METHODS), help="comma-separated, of " + ",".join(METHODS))
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    methods = [m for m in args.methods.split(",") if m]
    summarizer = Summarizer(resolve(MODEL_FILE), resolve(CARD_FILE), resolve(NLTK_DATA))
    output = {"model": summarizer.model_id, "sets": {}}
    for spec in args.data:
        entry = evaluate_set(spec, args.data_root, summarizer, methods)
        output["sets"][spec] = entry
        print(f"{spec}: {entry['articles']} articles")
        print(f"{'method':<12}{'P@5':>8}{'R@10':>8}{'ms/article':>12}")
        for method, r in entry["methods"].items():
            print(f"{method:<12}{r['precision@5']:>8.3f}{r['recall@10']:>8.3f}{r['ms_per_article']:>12.1f}", flush=True)
    if args.json:
        write_results(args.json, output)
    return output


if __name__ == "__main__":
    main()
