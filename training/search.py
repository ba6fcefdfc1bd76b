"""A small grid search: fit each combination on the training sets, rank by validation ROUGE.

    python -m training.search --grid labeler=jaccard,rouge,oracle --grid loss=mae,bce --json runs/search.json

Every grid key is a ``TrainConfig``/``ModelConfig`` field (training/recipe.py); the other fields take
their values from the command line as in ``training.train``. Examples are prepared once per labeler. The test sets are
never looked at here: choices are made on validation only.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import logging
import time

from app.core.encoder import SentenceEncoder
from app.core.sentences import SentenceSplitter
from training.evaluate import write_results
from training.fit import fit_once, mean_rouge, select
from training.recipe import MODEL_FIELDS, TrainConfig, parse_args
from training.splits import Splits, load_articles, prepare_splits

log = logging.getLogger("training.search")


def _typed(config: TrainConfig, key: str, value: str):
    current = getattr(config.model, key) if key in MODEL_FIELDS else getattr(config, key)
    if isinstance(current, bool):
        return value.lower() in ("1", "true", "yes")
    return type(current)(value)


def search(config: TrainConfig, grid: dict[str, list[str]]) -> list[dict]:
    articles = load_articles(config, test=False)
    splitter = SentenceSplitter(config.nltk_data)
    encoder = SentenceEncoder()
    prepared: dict[str, Splits] = {}
    results = []
    keys = list(grid)
    for values in itertools.product(*(grid[k] for k in keys)):
        trial = dataclasses.replace(config, model=dataclasses.replace(config.model))
        for key, value in zip(keys, values):
            typed = _typed(trial, key, value)
            setattr(trial.model if key in MODEL_FIELDS else trial, key, typed)
        if trial.labeler not in prepared:
            prepared[trial.labeler] = prepare_splits(trial, articles, splitter, encoder)
        train_ex, val_ex = prepared[trial.labeler].train, prepared[trial.labeler].validation_examples
        for restart in range(trial.restarts):
            start = time.perf_counter()
            model, history = fit_once(trial, train_ex, val_ex, trial.seed + restart, label=f"trial {values} seed {trial.seed + restart}")
            selection = select(model, {"validation": val_ex}, trial.k)  # with the pick rule that suits it, as training chooses
            rouge = selection.rouge["validation"]
            row = {**dict(zip(keys, values)), "seed": trial.seed + restart, "validation_rouge": rouge,
                   "pick_rule": selection.pick_rule, "length_exponent": selection.length_exponent, "mean": round(mean_rouge(rouge), 2), "epochs": len(history["loss"]),
                   "seconds": round(time.perf_counter() - start, 1)}
            log.info("trial %s", row)
            results.append(row)
    return sorted(results, key=lambda r: -r["mean"])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--grid", action="append", default=[], help="key=v1,v2,... (repeatable)")
    parser.add_argument("--json", default="runs/search.json")
    args, rest = parser.parse_known_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    grid = {}
    for item in args.grid:
        key, _, values = item.partition("=")
        grid[key.replace("-", "_")] = values.split(",")
    config = parse_args(rest)
    results = search(config, grid)
    write_results(args.json, {"grid": grid, "results": results})
    for row in results:
        print(json.dumps(row))


if __name__ == "__main__":
    main()
