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
from typing import Sequence

import numpy as np
from rouge_score import rouge_scorer

from app.core.options import Budget
from app.core.ranking import LENGTH_EXPONENTS, PICK_RULES, pick
from app.core.scorer import predict_rows
from app.settings import MODEL_FILE, NLTK_DATA, VECTOR_CACHE
from training.baselines import BASELINES, BUDGET_BASELINES, baseline_picker, budget_baseline_picker
from training.data import LoadReport, add_data_arguments, load_dataset
from training.examples import Example

log = logging.getLogger(__name__)
ROUGE_TYPES = ("rouge1", "rouge2", "rougeLsum")


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


def evaluate_model(model, examples: list[Example], k: int, pick_rule: str = "top", length_exponent: float = 0.0) -> dict[str, float]:
    """ROUGE of the model's ``k`` highlights (picked by ``pick_rule`` and ``length_exponent``, as the API
    does) on prepared examples."""
    scores = predict_rows(model, [e.rows for e in examples])
    return evaluate_scores(examples, scores, k, pick_rule, length_exponent)


def evaluate_scores(examples: list[Example], scores: Sequence[np.ndarray], k: int, pick_rule: str = "top",
                    length_exponent: float = 0.0) -> dict[str, float]:
    """ROUGE of the ``k`` highlights that ``pick_rule`` (after ``length_exponent``) takes from each
    example's predicted ``scores``."""
    picked, references = [], []
    for example, s in zip(examples, scores):
        texts = [x.text for x in example.sentences]
        picked.append([texts[i] for i in pick(s, texts, k, pick_rule, length_exponent)])
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


def set_picks(model, examples: list[Example], k: int, pick_rule: str, baselines: Sequence[str],
              length_exponent: float = 0.0) -> dict[str, list[list[str]]]:
    """Each method's picked sentences for every example (Brief first, then each baseline), made once."""
    scores = predict_rows(model, [e.rows for e in examples])
    texts = [[x.text for x in e.sentences] for e in examples]
    picks = {"brief": [[t[i] for i in pick(s, t, k, pick_rule, length_exponent)] for t, s in zip(texts, scores)]}
    for name in baselines:
        choose = baseline_picker(name)
        picks[name] = [[t[i] for i in choose(t, e.article.quotes, k)] for t, e in zip(texts, examples)]
    return picks


def score_picks(picks: dict[str, list[list[str]]], examples: list[Example], members: Sequence[int]) -> dict[str, dict]:
    """ROUGE of every method over the examples at ``members``: ``{method: {rouge1, rouge2, rougeLsum}}``."""
    references = [examples[i].article.quotes for i in members]
    return {name: rouge_scores([picked[i] for i in members], references) for name, picked in picks.items()}


def budget_picks(model, examples: list[Example], budget: Budget, pick_rule: str, baselines: Sequence[str],
                 length_exponent: float = 0.0) -> dict[str, list[list[str]]]:
    """``set_picks`` under a budget of words or characters: Brief as the API picks within it, the lead
    sentences that fit, and Luhn's and TextRank's best that fit (their scores through the same ``pick``)."""
    scores = predict_rows(model, [e.rows for e in examples])
    texts = [[x.text for x in e.sentences] for e in examples]
    picks = {"brief": [[t[i] for i in pick(s, t, budget, pick_rule, length_exponent)] for t, s in zip(texts, scores)]}
    for name in baselines:
        picker = budget_baseline_picker(name)
        picks[name] = [[t[i] for i in picker(t, budget)] for t in texts]
    return picks


def by_source(examples: list[Example]) -> dict[str, list[int]]:
    """Indices of the examples grouped by their article's ``source`` (``unknown`` where the data named none)."""
    groups: dict[str, list[int]] = {}
    for i, e in enumerate(examples):
        groups.setdefault(e.article.source or "unknown", []).append(i)
    return dict(sorted(groups.items()))


def main(argv: list[str] | None = None) -> dict:
    from app.core.encoder import SentenceEncoder
    from app.core.sentences import SentenceSplitter
    from app.core.card import ModelCard
    from app.core.model_file import load_keras_model
    from training.examples import prepare_examples
    from training.vector_cache import VectorCache

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_arguments(parser)
    parser.add_argument("--model", default=MODEL_FILE)
    parser.add_argument("--nltk-data", default=NLTK_DATA)
    parser.add_argument("--cache", default=VECTOR_CACHE)
    parser.add_argument("--k", type=int, default=3)
    parser.add_argument("--pick-rule", choices=PICK_RULES, help="default: the model card's, as the API picks")
    parser.add_argument("--length-exponent", type=float, choices=LENGTH_EXPONENTS,
                        help="picks rank by score / words ** this; default: the model card's, as the API picks")
    parser.add_argument("--words", type=int, help="pick within this many words (app.core.options.Budget) instead of "
                        f"K sentences; baselines then of {','.join(BUDGET_BASELINES)}")
    parser.add_argument("--by-source", action="store_true", help="also report every figure per source (bbc, cnn, dm...)")
    parser.add_argument("--baselines", default=",".join(BASELINES), help="comma-separated; empty for none")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--jobs", type=int, default=1, help="processes that label and featurize the articles")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

    card = ModelCard.read(Path(args.model).with_suffix(".json"))
    model = load_keras_model(args.model, card.model_sha256)
    pick_rule = args.pick_rule or card.pick_rule
    length_exponent = card.length_exponent if args.length_exponent is None else args.length_exponent
    splitter = SentenceSplitter(args.nltk_data)
    encoder = SentenceEncoder()
    cache = VectorCache(args.cache, encoder.signature)
    names = [n for n in args.baselines.split(",") if n]
    output = {"model": card.id, "k": args.k, "words": args.words, "pick_rule": pick_rule, "length_exponent": length_exponent, "sets": {}}
    size = f"words={args.words}" if args.words else f"K={args.k}"
    for spec in args.data:
        report = LoadReport()
        articles = load_dataset(spec, args.data_root, report, dedupe=False)
        examples = prepare_examples(articles, splitter, "oracle", cache, encoder, report, min_sentences=1, jobs=args.jobs)
        start = time.perf_counter()
        if args.words:
            picks = budget_picks(model, examples, Budget("words", args.words), pick_rule, names, length_exponent)
        else:
            picks = set_picks(model, examples, args.k, pick_rule, names, length_exponent)  # picked once, scored per source too
        results = score_picks(picks, examples, range(len(examples)))
        entry = {"articles": len(examples), "skipped": dict(report.skipped), "rouge": results}
        print(format_table(results, f"{spec}: {len(examples)} articles, {size}"), flush=True)
        if args.by_source:
            entry["by_source"] = {}
            for source, group in by_source(examples).items():
                group_results = score_picks(picks, examples, group)
                entry["by_source"][source] = {"articles": len(group), "rouge": group_results}
                print(format_table(group_results, f"{spec} [{source}]: {len(group)} articles, {size}"), flush=True)
        output["sets"][spec] = entry
        log.info("evaluated %s in %.1fs", spec, time.perf_counter() - start)
    if args.json:
        write_results(args.json, output)
    return output


def write_results(path: str | Path, results: dict) -> None:
    """A run's figures as indented JSON (the files under docs/results), its folder made if need be."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
