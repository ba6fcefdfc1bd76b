"""ROUGE of the model's top-K sentences against Lead-K, Luhn, LexRank, TextRank and the greedy oracle.

    python -m training.evaluate --data bbc:test --k 3 --json runs/eval-bbc-test.json

ROUGE-1/2/Lsum F1 x100 from the ``rouge-score`` package (Porter stemming; Lsum with one sentence
per line). Every method picks from the same sentences, split by Brief's Punkt model, and returns
them in document order.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path
from typing import Callable, Sequence

import nltk
import numpy as np
from rouge_score import rouge_scorer

from app.luhn import score_luhn
from app.summarizer import predict_rows, top_sentences
from training.data import DEFAULT_DATA, LoadReport, load_dataset
from training.examples import Example
from training.labels import greedy_oracle, rouge_tokens

log = logging.getLogger(__name__)
ROUGE_TYPES = ("rouge1", "rouge2", "rougeLsum")
BASELINES = ("lead", "luhn", "lexrank", "textrank", "oracle")


def rouge_scores(picked: Sequence[Sequence[str]], references: Sequence[Sequence[str]]) -> dict[str, float]:
    """Mean ROUGE-1/2/Lsum F1 x100 of picked sentences against reference sentences."""
    scorer = rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=True)
    totals = dict.fromkeys(ROUGE_TYPES, 0.0)
    for prediction, reference in zip(picked, references):
        result = scorer.score("\n".join(reference), "\n".join(prediction))
        for name in ROUGE_TYPES:
            totals[name] += result[name].fmeasure
    n = max(1, len(picked))
    return {name: round(100 * total / n, 2) for name, total in totals.items()}


def _trigrams(text: str) -> set[tuple[str, ...]]:
    tokens = rouge_tokens(text)
    return {tuple(tokens[i : i + 3]) for i in range(len(tokens) - 2)}


def pick_top(scores: np.ndarray, sentences: Sequence[str], k: int, trigram_blocking: bool = False) -> list[int]:
    """The ``k`` best sentences in document order; with blocking, skip any sharing a trigram with a pick."""
    if not trigram_blocking:
        return top_sentences(scores, k)
    picked, seen = [], set()
    for i in sorted(range(len(scores)), key=lambda i: (-float(scores[i]), i)):
        grams = _trigrams(sentences[i])
        if grams & seen:
            continue
        picked.append(i)
        seen |= grams
        if len(picked) == k:
            break
    return sorted(picked)


def _sumy_picker(name: str) -> Callable[[Sequence[str], int], list[int]]:
    from sumy.models.dom import ObjectDocumentModel, Paragraph, Sentence
    from sumy.nlp.stemmers import Stemmer
    from sumy.nlp.tokenizers import Tokenizer
    from sumy.summarizers.lex_rank import LexRankSummarizer
    from sumy.summarizers.text_rank import TextRankSummarizer
    from sumy.utils import get_stop_words

    from app.sentences import DEFAULT_NLTK_DATA, use_nltk_data

    if not any(Path(p, "tokenizers", "punkt_tab", "english").is_dir() for p in nltk.data.path):
        use_nltk_data(DEFAULT_NLTK_DATA)  # sumy's word tokenizer needs Punkt parameters
    summarizer = {"lexrank": LexRankSummarizer, "textrank": TextRankSummarizer}[name](Stemmer("english"))
    summarizer.stop_words = get_stop_words("english")
    tokenizer = Tokenizer("english")

    def pick(sentences: Sequence[str], k: int) -> list[int]:
        objects = [Sentence(s, tokenizer) for s in sentences]
        chosen = summarizer(ObjectDocumentModel([Paragraph(objects)]), k)
        ids = {id(o): i for i, o in enumerate(objects)}
        return sorted(ids[id(s)] for s in chosen)

    return pick


def baseline_picker(name: str) -> Callable[[Sequence[str], Sequence[str], int], list[int]]:
    """A function ``(sentences, quotes, k) -> picked indices`` for a baseline."""
    if name == "lead":
        return lambda sentences, quotes, k: list(range(min(k, len(sentences))))
    if name == "luhn":
        return lambda sentences, quotes, k: top_sentences(score_luhn(sentences), k)
    if name == "oracle":
        return lambda sentences, quotes, k: sorted(greedy_oracle(sentences, quotes, limit=k))
    if name in ("lexrank", "textrank"):
        pick = _sumy_picker(name)
        return lambda sentences, quotes, k: pick(sentences, k)
    raise ValueError(f"unknown baseline {name!r}; choose from {BASELINES}")


def evaluate_model(model, examples: list[Example], k: int, trigram_blocking: bool = False) -> dict[str, float]:
    """ROUGE of the model's top-``k`` sentences on prepared examples."""
    scores = predict_rows(model, [e.rows for e in examples])
    picked, references = [], []
    for example, s in zip(examples, scores):
        texts = [x.text for x in example.sentences]
        picked.append([texts[i] for i in pick_top(s, texts, k, trigram_blocking)])
        references.append(example.article.quotes)
    return rouge_scores(picked, references)


def evaluate_baselines(examples: list[Example], k: int, names: Sequence[str] = BASELINES) -> dict[str, dict]:
    results = {}
    for name in names:
        pick = baseline_picker(name)
        picked, references = [], []
        for example in examples:
            texts = [x.text for x in example.sentences]
            picked.append([texts[i] for i in pick(texts, example.article.quotes, k)])
            references.append(example.article.quotes)
        results[name] = rouge_scores(picked, references)
    return results


def format_table(results: dict[str, dict], title: str) -> str:
    lines = [title, f"{'method':<16}{'R-1':>8}{'R-2':>8}{'R-L':>8}"]
    for name, r in results.items():
        lines.append(f"{name:<16}{r['rouge1']:>8.2f}{r['rouge2']:>8.2f}{r['rougeLsum']:>8.2f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict:
    from app.encoder import WEIGHTS_SHA256, SentenceEncoder
    from app.sentences import SentenceSplitter
    from app.summarizer import load_card, load_keras_model
    from training.examples import prepare_examples
    from training.vector_cache import VectorCache

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", action="append", required=True, help="bbc:<split>, cnndm:<name> or a .jsonl path; repeatable")
    parser.add_argument("--data-root", default=str(DEFAULT_DATA))
    parser.add_argument("--model", default="models/brief.h5")
    parser.add_argument("--nltk-data", default="models/nltk_data")
    parser.add_argument("--cache", default="cache/vectors.h5")
    parser.add_argument("--k", type=int, default=3)
    parser.add_argument("--trigram-blocking", action="store_true")
    parser.add_argument("--baselines", default=",".join(BASELINES), help="comma-separated; empty for none")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

    card = load_card(Path(args.model).with_suffix(".json"))
    model = load_keras_model(args.model, card.get("model_sha256"))
    splitter = SentenceSplitter(args.nltk_data)
    cache = VectorCache(args.cache, WEIGHTS_SHA256)
    encoder = None
    output = {"model": card.get("id"), "k": args.k, "trigram_blocking": args.trigram_blocking, "sets": {}}
    for spec in args.data:
        report = LoadReport()
        articles = load_dataset(spec, args.data_root, report, dedupe=False)
        if encoder is None:
            encoder = SentenceEncoder()
        examples = prepare_examples(articles, splitter, "oracle", cache, encoder, report, min_sentences=1)
        start = time.perf_counter()
        results = {"brief": evaluate_model(model, examples, args.k, args.trigram_blocking)}
        names = [n for n in args.baselines.split(",") if n]
        results.update(evaluate_baselines(examples, args.k, names))
        output["sets"][spec] = {"articles": len(examples), "skipped": dict(report.skipped), "rouge": results}
        print(format_table(results, f"{spec}: {len(examples)} articles, K={args.k}"), flush=True)
        log.info("evaluated %s in %.1fs", spec, time.perf_counter() - start)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(output, indent=2) + "\n")
    return output


if __name__ == "__main__":
    main()
