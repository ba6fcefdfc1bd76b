"""The training recipe: every setting of a run in two dataclasses, their defaults the shipped model's.

    python -m training.recipe                     # the settings `make train` (no flags) trains with, as JSON
    python -m training.recipe --units 64          # ... and with a change

``python -m training.train`` with no flags trains the shipped model; ``training.distributed`` and
``training.search`` take the same flags with the same defaults. A flag that differs from a default
is a run that is not the shipped model (an experiment, or the news member, the Makefile's
``$(NEWS_MEMBER)``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from app.settings import DATA_ROOT, MODEL_FILE, NLTK_DATA, RUNS, VECTOR_CACHE
from training.labels import LABELERS

# The shipped model's data (../shared/data/README.md). BBC four times per epoch, so that ~13,000
# news stories do not drown its style (chosen on validation over twice: criterion 36.38 vs 36.24);
# a fixed random sample of the lowercased CNN/DailyMail train split.
TRAIN_SETS = ("bbc:train*4", "cnndm:train_cased", "cnndm:train_lowercased~8500")
# Early stopping, the choice of fit and of pick rule: one set per kind of article.
VALIDATION_SETS = ("bbc:validation", "cnndm:validation_cased", "cnndm:validation_lowercased[:-1000]~1000")
# Reported, never chosen by: BBC test, CNN/DM validation.jsonl, the last 1,000 lowercased
# validation stories (DailyMail), and Inshorts, a source never trained on.
TEST_SETS = ("bbc:test", "cnndm:validation", "cnndm:validation_lowercased[-1000:]", "inshorts:news_summary[:500]")
# The news member the shipped model is averaged with: this recipe with the greedy oracle's labels
# on every lowercased CNN/DailyMail train story, BBC weighted x10 (the Makefile builds it from here).
NEWS_MEMBER = "models/members/news.h5"


@dataclass
class ModelConfig:
    # chosen on validation (docs/results/search-*.json); the 2016 design was 512 units, MAE
    units: int = 128  # LSTM units per direction
    layers: int = 1  # stacked LSTM layers
    bidirectional: bool = True  # read the article both ways
    dropout: float = 0.3  # dropout on the LSTM's inputs (the 2016 design: 0.3)
    recurrent_dropout: float = 0.0
    l2: float = 0.0  # L2 penalty on the LSTM and output kernels
    loss: str = "listwise"  # listwise (training/model.py), mae (2016 design), mse or bce
    optimizer: str = "rmsprop"  # rmsprop (2016 design) or adam
    learning_rate: float = 1e-3

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class TrainConfig:
    # data sets to fit on; "<set>*N" repeats a set N times per epoch (oversampling a small one),
    # "<set>^W" weighs its articles W times in the loss instead
    train: list[str] = field(default_factory=lambda: list(TRAIN_SETS))
    validation: list[str] = field(default_factory=lambda: list(VALIDATION_SETS))  # early stopping + model choice
    test: list[str] = field(default_factory=lambda: list(TEST_SETS))  # reported in the card, never used to choose
    data_root: str = str(DATA_ROOT)
    labeler: str = "best_summaries"  # how sentences are labelled against the summary (training/labels.py)
    model: ModelConfig = field(default_factory=ModelConfig)
    epochs: int = 16
    batch_size: int = 32
    patience: int = 4  # early stopping on validation loss
    restarts: int = 3  # random initialisations; the best on validation ROUGE is kept...
    ensemble: bool = False  # ...or all of them, averaged into one model (kept if better on validation)
    # saved models (.h5 beside its card .json) to average with the run's choice, kept if better on
    # validation: fits of other data mixes, e.g. a news-heavy one beside a BBC-heavy one
    average_with: list[str] = field(default_factory=lambda: [NEWS_MEMBER])
    # saved models whose mean score replaces every training sentence's label (training/distill.py):
    # one LSTM fit to an average of several; validation keeps the labeler's labels
    teacher: list[str] = field(default_factory=list)
    jobs: int = 3  # processes: fits side by side, each with cores/jobs threads (training/fit.py fit_in_processes),
    # and the labelling and featurizing of the examples
    seed: int = 1
    k: int = 3  # sentences picked when measuring ROUGE
    max_sentences: int = 64  # longer articles are cut for training (never for scoring)
    out: str = MODEL_FILE
    nltk_data: str = NLTK_DATA
    retrain_punkt: bool = False  # re-learn Punkt even if models/nltk_data has parameters
    cache: str = VECTOR_CACHE
    runs: str = RUNS  # curves, metrics and checkpoints of each training run (runs/<model name>/)
    resume: bool = False  # go on from the checkpoints of an interrupted run with the same settings
    distribute: bool = False  # tf.distribute.MirroredStrategy over all visible devices (TF backend)
    cpu_devices: int = 0  # split the CPU into this many logical devices (to try --distribute)


MODEL_FIELDS = tuple(f.name for f in dataclasses.fields(ModelConfig))


def add_recipe_arguments(parser: argparse.ArgumentParser, held: dict[str, Any] | None = None) -> None:
    """A flag for every setting (``--units``, ``--train``...), defaults the recipe's; none for those in ``held``."""
    defaults = TrainConfig()
    for f in dataclasses.fields(TrainConfig):
        if f.name != "model" and f.name not in (held or {}):
            _add_field(parser, f.name, getattr(defaults, f.name))
    for name in MODEL_FIELDS:
        if name not in (held or {}):
            _add_field(parser, name, getattr(defaults.model, name))


def _add_field(parser: argparse.ArgumentParser, name: str, default) -> None:
    flag = "--" + name.replace("_", "-")
    if isinstance(default, bool):
        parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=default)
    elif isinstance(default, list):
        # no list default here ("extend" would add to it): recipe_from_args leaves an absent flag to the dataclass
        parser.add_argument(flag, action="extend", nargs="*", default=None,
                            help=f"repeatable; the flag alone: none (default: {default})")
    else:
        parser.add_argument(flag, type=type(default), default=default, help=f"(default: {default})")


def recipe_from_args(parser: argparse.ArgumentParser, args: argparse.Namespace,
                     held: dict[str, Any] | None = None) -> TrainConfig:
    """The settings the flags of ``add_recipe_arguments`` ask for, with ``held`` fixed; a bad one is a usage error."""
    given = {**{k: v for k, v in vars(args).items() if v is not None}, **(held or {})}
    model = ModelConfig(**{k: given[k] for k in MODEL_FIELDS if k in given})
    names = {f.name for f in dataclasses.fields(TrainConfig)} - {"model"}
    config = TrainConfig(**{k: v for k, v in given.items() if k in names}, model=model)
    if config.labeler not in LABELERS:
        parser.error(f"--labeler must be one of {sorted(LABELERS)}")
    if config.jobs < 1:
        parser.error("--jobs must be 1 or more")
    if config.jobs > 1 and config.distribute:
        parser.error("--jobs runs fits side by side on the CPU; --distribute spreads one fit over devices: choose one")
    return config


def parse_args(argv: list[str] | None = None, description: str | None = None) -> TrainConfig:
    """``training.train``'s command line: the recipe, each flag changing one setting."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_recipe_arguments(parser)
    return recipe_from_args(parser, parser.parse_args(argv))


def main(argv: list[str] | None = None) -> None:
    print(json.dumps(asdict(parse_args(argv, __doc__)), indent=2))


if __name__ == "__main__":
    main()
