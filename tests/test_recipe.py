"""The training recipe (training/recipe.py): its defaults are the shipped model's, and every entry point reads them.

``make train`` passes no flags, so what it trains is what the committed model's card says it was
trained with; the news member's target changes only what makes it the news member.
"""

import json
import shlex
import subprocess
import sys

import pytest

from app.settings import ROOT
from training.distributed import HELD
from training.distributed import parse_args as distributed_args
from training.recipe import NEWS_MEMBER, TrainConfig, parse_args


def make_command(target: str) -> list[str]:
    """The flags the Makefile's ``target`` passes to ``python -m training.train`` (a dry run: nothing is made)."""
    dry = subprocess.run(["make", "-n", "-B", target], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    line = [line for line in dry.splitlines() if "-m training.train" in line][-1]  # the target's own, after its prerequisites'
    return shlex.split(line.split("-m training.train", 1)[1])


def card_settings(card: dict) -> dict:
    """What a model card records of the settings it was trained with."""
    data = card["training_data"]
    return {"hyperparameters": card["hyperparameters"], "labeler": card["labeler"], "k": card["k"],
            "sets": [data["train"], data["validation"], data["test"]],
            "average_with": [member["id"] for member in data.get("average_with", [])]}


def config_settings(config: TrainConfig) -> dict:
    """The same figures for a run with ``config``, as training.train would write them in its card."""
    members = [json.loads((ROOT / path).with_suffix(".json").read_text())["id"] for path in config.average_with]
    hyperparameters = {**config.model.to_dict(), "epochs": config.epochs, "batch_size": config.batch_size,
                       "patience": config.patience, "restarts": config.restarts, "jobs": config.jobs,
                       "seed": config.seed, "ensemble": config.ensemble}
    return {"hyperparameters": hyperparameters, "labeler": config.labeler, "k": config.k,
            "sets": [config.train, config.validation, config.test], "average_with": members}


@pytest.mark.parametrize("target,out", [("train", "models/brief.h5"), (NEWS_MEMBER, NEWS_MEMBER)])
def test_the_makefile_trains_the_settings_the_committed_model_was_trained_with(target, out):
    config = parse_args(make_command(target))
    assert config.out == out
    assert config_settings(config) == card_settings(json.loads((ROOT / out).with_suffix(".json").read_text()))


def test_make_train_passes_no_flag_the_recipe_s_defaults_are_the_shipped_model():
    assert make_command("train") == []
    assert parse_args([]) == TrainConfig()


def test_a_list_setting_given_alone_is_none_and_given_twice_is_both():
    assert parse_args(["--average-with"]).average_with == []
    assert parse_args(["--train", "bbc:train", "--train", "cnndm:train_cased"]).train == ["bbc:train", "cnndm:train_cased"]
    assert parse_args([]).average_with == [NEWS_MEMBER]


def test_multi_worker_training_takes_the_recipe_but_what_one_fit_over_workers_does_not_have():
    _, config = distributed_args(["--local", "2", "--units", "16"])
    assert config.model.units == 16 and config.model.loss == TrainConfig().model.loss
    assert config.train == TrainConfig().train and config.max_sentences == TrainConfig().max_sentences
    assert {name: getattr(config, name) for name in HELD} == HELD  # one fit, no members, no --jobs
    with pytest.raises(SystemExit):  # not a flag there: it would do nothing
        distributed_args(["--local", "2", "--restarts", "3"])


def test_the_recipe_prints_as_json_for_the_docs():
    out = subprocess.run([sys.executable, "-m", "training.recipe", "--units", "64"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    printed = json.loads(out)
    assert printed["model"]["units"] == 64 and printed["labeler"] == TrainConfig().labeler
