"""End to end on a tiny data set: train -> save .h5 + card -> load in the service's Summarizer -> score."""

import json
import logging
import shutil
import subprocess
import sys

import numpy as np
import pytest

from app.core.encoder_runtime import choose_precision
from app.core.probes import PROBE_SENTENCES
from app.core.ranking import LENGTH_EXPONENTS, PICK_RULES
from app.settings import NLTK_DATA, Settings, resolve
from training.recipe import parse_args

pytestmark = pytest.mark.slow

# What the shipped recipe (training/recipe.py) does that these tiny runs leave out: best-summary
# labels, three processes, the news member to average with.
TINY = ["--labeler", "oracle", "--jobs", "1", "--average-with"]
TOPICS = ["the harbour", "the new library", "the city budget", "the football club", "the river bridge", "the night market"]


def _story(i: int, topic: str) -> dict:
    sentences = [
        f"Officials announced on Monday that {topic} will reopen after a long closure.",
        f"The decision follows months of debate about the cost of {topic}.",
        "Residents said they were surprised.",
        f"Work on {topic} is expected to take {i + 2} months and to employ forty people.",
        "The weather was mild.",
        f"Critics of {topic} said the money could be spent better elsewhere.",
    ]
    return {"id": f"s{i}", "article": " ".join(sentences), "highlights": f"{sentences[0]}\n{sentences[3]}"}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    stories = [_story(i, t) for i, t in enumerate(TOPICS)]
    (root / "train.jsonl").write_text("\n".join(json.dumps(s) for s in stories[:4]) + "\n")
    (root / "val.jsonl").write_text("\n".join(json.dumps(s) for s in stories[4:]) + "\n")
    # Punkt learnt from four tiny stories would be nonsense: use the shipped parameters (train_punkt
    # has its own test).
    shutil.copytree(resolve(NLTK_DATA), root / "models/nltk_data")
    args = [
        "--train", str(root / "train.jsonl"), "--validation", str(root / "val.jsonl"), "--test", str(root / "val.jsonl"),
        "--out", str(root / "models/tiny.h5"), "--nltk-data", str(root / "models/nltk_data"),
        "--cache", str(root / "cache/vectors.h5"), "--runs", str(root / "runs"),
        "--units", "8", "--epochs", "3", "--restarts", "2", "--batch-size", "2", "--loss", "bce", *TINY,
    ]
    from training.train import main

    main(args)
    return root, stories


def test_training_writes_model_card_curves_and_metrics(tiny_run):
    root, _ = tiny_run
    card = json.loads((root / "models/tiny.json").read_text())
    assert card["labeler"] == "oracle" and card["hyperparameters"]["units"] == 8
    val, test = str(root / "val.jsonl"), str(root / "val.jsonl")
    assert card["training_data"]["articles"] == {"train": 4, "validation": {val: 2}, "test": {test: 2}}
    assert card["encoder"]["weights_sha256"].startswith("53aa5117")
    # fit on vectors of the precision BRIEF_ENCODER_PRECISION picks on this CPU; the probes are TF float32's
    precision = choose_precision(Settings.load().ENCODER_PRECISION)
    assert card["encoder"]["precision"] == precision
    assert card["encoder"]["signature"].endswith(f"/{precision}/mean, L2-normalised")
    assert card["encoder"]["probe_sentences"] == list(PROBE_SENTENCES)
    assert len(card["encoder"]["probe_vectors"]) == len(PROBE_SENTENCES)
    # validation ROUGE per validation set, the criterion over the sets, and the pick rule it chose
    assert set(card["validation_rouge"][val]) == {"rouge1", "rouge2", "rougeLsum"}
    assert card["pick_rule"] in PICK_RULES and card["length_exponent"] in LENGTH_EXPONENTS
    assert card["validation_criterion"] == pytest.approx(
        sum(card["validation_rouge"][val].values()) / 3, abs=1e-3)
    assert set(card["test_rouge"][test]) == {"rouge1", "rouge2", "rougeLsum"}
    # the shipping guard: Lead-3 on each validation set, and whether the choice is above it on all
    assert set(card["validation_lead"]) == {val} and card["validation_lead"][val]["rouge1"] > 0
    assert card["above_lead_on_validation"] == (card["validation_rouge"][val]["rouge1"] > card["validation_lead"][val]["rouge1"])
    assert sum(card["validation_scores"]["counts"]) == card["validation_scores"]["n"] == 12
    assert (root / "runs/tiny/curves.png").stat().st_size > 1000
    metrics = json.loads((root / "runs/tiny/metrics.json").read_text())
    assert len(metrics["fits"]) == 2  # --restarts 2
    assert not list((root / "models").glob(".tiny-*"))  # no temporary file left behind
    assert (root / "models/tiny.h5").stat().st_mode & 0o044 == 0o044  # readable by a service user


def test_saved_model_scores_articles_through_the_service_summarizer(tiny_run):
    root, stories = tiny_run
    from app.core.summarizer import Summarizer

    summarizer = Summarizer(root / "models/tiny.h5", root / "models/tiny.json", root / "models/nltk_data")
    text = stories[5]["article"]
    first, second = summarizer.score_texts([text]), summarizer.score_texts([text])
    assert len(first[0].sentences) == 6
    np.testing.assert_array_equal(first[0].scores, second[0].scores)
    for s in first[0].sentences:
        assert text[s.start : s.end] == s.text


def test_vectors_are_cached_so_a_second_run_does_not_re_encode(tiny_run):
    root, stories = tiny_run
    from app.core.encoder import encoder_signature
    from training.vector_cache import VectorCache

    # the run encoded in the precision BRIEF_ENCODER_PRECISION picks on this CPU, and signed its cache so
    cache = VectorCache(root / "cache/vectors.h5", encoder_signature(choose_precision(Settings.load().ENCODER_PRECISION)))
    # every training sentence is there: no encoder is needed to get its vector
    vectors = cache.vectors(["Residents said they were surprised."], encoder=None)
    assert vectors.shape == (1, 384)


def test_mirrored_strategy_trains_on_two_logical_cpu_devices(tiny_run):
    root, _ = tiny_run
    args = [
        sys.executable, "-m", "training.train", "--distribute", "--cpu-devices", "2",
        "--train", str(root / "train.jsonl"), "--validation", str(root / "val.jsonl"), "--test", str(root / "val.jsonl"),
        "--out", str(root / "models/mirrored.h5"), "--nltk-data", str(root / "models/nltk_data"),
        "--cache", str(root / "cache/vectors.h5"), "--runs", str(root / "runs"),
        "--units", "8", "--epochs", "1", "--restarts", "1", "--batch-size", "2", *TINY,
    ]
    result = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "MirroredStrategy over ['/device:CPU:0', '/device:CPU:1']" in result.stderr
    assert json.loads((root / "models/mirrored.json").read_text())["hyperparameters"]["units"] == 8


def _tiny_args(root, out, *extra):
    return [
        sys.executable, "-u", "-m", "training.train",
        "--train", str(root / "train.jsonl"), "--validation", str(root / "val.jsonl"), "--test", str(root / "val.jsonl"),
        "--out", str(root / out), "--nltk-data", str(root / "models/nltk_data"),
        "--cache", str(root / "cache/vectors.h5"), "--runs", str(root / "runs"),
        "--units", "8", "--batch-size", "1", "--restarts", "1", *TINY, *extra,
    ]


def train_here(root, out, *extra, capsys, caplog) -> tuple[str, str]:
    """``training.train`` on the tiny set in this process (TensorFlow is loaded once for the module): its
    standard output (Keras's epochs) and its log."""
    from training.train import main

    capsys.readouterr()
    caplog.clear()
    with caplog.at_level(logging.INFO):
        main(_tiny_args(root, out, *extra)[4:])
    return capsys.readouterr().out, caplog.text


def refused_here(root, out, *extra, caplog) -> str:
    """``training.train`` in this process, expected to stop with a message: the message (what the
    command prints on standard error, without a traceback)."""
    from training.train import main

    with caplog.at_level(logging.INFO), pytest.raises(SystemExit) as stopped:
        main(_tiny_args(root, out, *extra)[4:])
    assert isinstance(stopped.value.code, str), f"exited {stopped.value.code!r} without saying why"
    return stopped.value.code


def test_interrupted_training_leaves_the_saved_model_intact_and_resumes(tiny_run, capsys, caplog):
    import re
    import signal
    import time

    root, _ = tiny_run
    model_path = root / "models/tiny.h5"
    before = model_path.read_bytes()
    args = _tiny_args(root, "models/tiny.h5", "--epochs", "500", "--patience", "500")
    # As from a terminal: SIGINT at its default. A shell's background job (`make test &`) starts
    # with SIGINT ignored, and a child inherits that, so Python would never raise KeyboardInterrupt.
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    seen = ""
    deadline = time.time() + 300
    while "Epoch 4/" not in seen and time.time() < deadline and proc.poll() is None:
        seen += proc.stdout.readline()
    assert "Epoch 4/" in seen, f"the run never reached epoch 4:\n{seen[-3000:]}"
    proc.send_signal(signal.SIGINT)
    rest, _ = proc.communicate(timeout=120)
    assert proc.returncode != 0, f"the run did not stop on SIGINT:\n{(seen + rest)[-3000:]}"
    assert model_path.read_bytes() == before  # the saved model is untouched
    assert not [p for p in (root / "models").iterdir() if p.name.startswith(".")]  # no half-written file
    assert list((root / "runs/tiny/fits").glob("backup_0/*")), "an epoch checkpoint was left to resume from"

    resumed, _ = train_here(root, "models/tiny.h5", "--epochs", "6", "--patience", "500", "--resume",
                            capsys=capsys, caplog=caplog)
    first_epoch = int(re.search(r"Epoch (\d+)/6", resumed).group(1))
    assert first_epoch > 1, "the resumed fit started over instead of going on from its checkpoint"
    assert model_path.read_bytes() != before


def test_more_restarts_with_resume_reuse_the_fits_already_done(tiny_run, capsys, caplog):
    """Fit i is seeded seed+i on the same data whatever --restarts says: going from one fit to two
    (and averaging them) refits only the new one."""
    root, _ = tiny_run
    train_here(root, "models/more.h5", "--epochs", "2", capsys=capsys, caplog=caplog)
    out, log = train_here(root, "models/more.h5", "--epochs", "2", "--resume", "--restarts", "2", "--ensemble",
                          capsys=capsys, caplog=caplog)
    assert "fit 0: resumed from" in log
    assert "fit 1: resumed" not in log and "Epoch 1/2" in out  # the second fit was made
    metrics = json.loads((root / "runs/more/metrics.json").read_text())
    assert [f["seed"] for f in metrics["fits"]] == [1, 2]
    _, log = train_here(root, "models/more.h5", "--epochs", "2", "--resume", "--units", "4", capsys=capsys, caplog=caplog)
    assert "fit 0: resumed" not in log  # other hyper-parameters are another fit


def test_average_with_tries_every_fit_with_a_saved_model_and_keeps_the_best_candidate(tiny_run, capsys, caplog):
    """A fit of another data mix (--average-with) is averaged with each of the run's fits, not only the
    best alone; the best of all the candidates on validation is kept, and the card says so."""
    import re

    root, _ = tiny_run
    member = json.loads((root / "models/tiny.json").read_text())
    _, log = train_here(root, "models/mixed.h5", "--epochs", "2", "--seed", "7",
                        "--average-with", str(root / "models/tiny.h5"), "--restarts", "2", capsys=capsys, caplog=caplog)
    found = re.findall(r"fit (\d) averaged with (\S+): validation criterion ([\d.]+) \(alone ([\d.]+)\)", log)
    assert [f[0] for f in found] == ["0", "1"] and {f[1] for f in found} == {member["id"]}, log[-3000:]
    candidates = {f"fit {f[0]}": float(f[3]) for f in found}
    candidates.update({f"fit {f[0]} averaged with {member['id']}": float(f[2]) for f in found})
    best = max(candidates.values())
    card = json.loads((root / "models/mixed.json").read_text())
    assert card["training_data"]["average_with"] == [{
        "id": member["id"], "model_sha256": member["model_sha256"],
        "validation_criterion": member["validation_criterion"], "train": member["training_data"]["train"]}]
    assert card["validation_criterion"] == pytest.approx(best, abs=1e-3)
    assert candidates[card["chosen"]] == pytest.approx(best, abs=1e-3)
    from app.core.model_file import load_keras_model

    saved = load_keras_model(root / "models/mixed.h5", card["model_sha256"])
    assert (saved.name == "brief_ensemble") == ("averaged with" in card["chosen"])  # the file holds what the card chose


def test_average_with_a_missing_or_mismatched_model_fails_at_once_with_the_reason(tiny_run, capsys, caplog):
    root, _ = tiny_run
    assert "cannot read model card" in refused_here(root, "models/bad.h5", "--average-with", str(root / "models/none.h5"),
                                                    caplog=caplog)
    assert not (root / "models/bad.h5").exists()
    card = json.loads((root / "models/tiny.json").read_text())
    (root / "models/other.h5").write_bytes((root / "models/tiny.h5").read_bytes())
    (root / "models/other.json").write_text(json.dumps({**card, "features": card["features"][::-1]}))
    capsys.readouterr()
    assert "was fit on the features" in refused_here(root, "models/bad.h5", "--average-with",
                                                     str(root / "models/other.h5"), caplog=caplog)
    assert "Epoch 1/" not in capsys.readouterr().out  # refused before any fit


def test_teacher_labels_are_the_mean_of_the_teachers_scores_on_the_whole_article():
    """--teacher: each training sentence's label becomes the teachers' mean score for it, as the
    service would score the whole article; rows, weights and articles are left as they were."""
    import keras

    from app.core.scorer import predict_rows
    from training.distill import teacher_labels
    from training.examples import Example
    from training.model import build_model
    from training.recipe import ModelConfig

    rng = np.random.default_rng(0)
    examples = [Example(None, [], rng.normal(size=(n, 6)).astype(np.float32), np.zeros(n, np.float32), weight=w)
                for n, w in ((3, 1.0), (70, 4.0), (9, 1.0))]  # 70: longer than any --max-sentences cut
    teachers = []
    for seed in (1, 2):
        keras.utils.set_random_seed(seed)
        teachers.append(build_model(ModelConfig(units=4, loss="bce"), 6))
    taught = teacher_labels(examples, teachers)
    scores = [predict_rows(t, [e.rows for e in examples]) for t in teachers]
    for i, (before, after) in enumerate(zip(examples, taught)):
        assert after.labels.shape == (len(before.rows),) and after.labels.dtype == np.float32
        np.testing.assert_allclose(after.labels, (scores[0][i] + scores[1][i]) / 2, rtol=1e-5)
        assert after.rows is before.rows and after.weight == before.weight
    assert not np.allclose(scores[0][1], scores[1][1])  # two teachers that disagree: the mean is not either one
    assert teacher_labels(examples, []) is examples


def test_teacher_run_records_its_teachers_and_refuses_a_missing_one(tiny_run, capsys, caplog):
    root, _ = tiny_run
    teacher = json.loads((root / "models/tiny.json").read_text())
    _, log = train_here(root, "models/student.h5", "--epochs", "2", "--teacher", str(root / "models/tiny.h5"),
                        capsys=capsys, caplog=caplog)
    assert "teacher 1 of 1: scoring 4 training articles" in log
    card = json.loads((root / "models/student.json").read_text())
    assert card["id"].startswith("student-distilled-")
    assert card["training_data"]["teachers"] == [{
        "id": teacher["id"], "model_sha256": teacher["model_sha256"],
        "validation_criterion": teacher["validation_criterion"], "train": teacher["training_data"]["train"]}]
    assert "cannot read model card" in refused_here(root, "models/bad.h5", "--teacher", str(root / "models/none.h5"),
                                                    caplog=caplog)
    assert not (root / "models/bad.h5").exists()


def test_jobs_fit_seeds_side_by_side_in_worker_processes(tiny_run, capsys):
    """--jobs 2: the two fits run at once, each in a process of its own, and the run goes on from
    what they saved exactly as from resumed fits (seeds 1 and 2, chosen on validation, card written)."""
    root, _ = tiny_run
    run = subprocess.run(_tiny_args(root, "models/jobs.h5", "--epochs", "2") + ["--restarts", "2", "--jobs", "2", "--ensemble"],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "2 at a time in worker processes" in run.stderr
    for fit in (0, 1):
        assert f"fit {fit} epoch 2/2: loss" in run.stderr  # each worker logs its epochs under its fit's name
        assert f"fit {fit}: fitted in a worker" in run.stderr
    assert not (root / "runs/jobs/fits/examples.pkl").exists()  # the workers' copy of the examples is gone
    metrics = json.loads((root / "runs/jobs/metrics.json").read_text())
    assert [f["seed"] for f in metrics["fits"]] == [1, 2]
    assert all(len(f["history"]["val_loss"]) == 2 for f in metrics["fits"])
    assert json.loads((root / "models/jobs.json").read_text())["hyperparameters"]["restarts"] == 2
    with pytest.raises(SystemExit) as bad:
        parse_args(_tiny_args(root, "models/jobs.h5", "--jobs", "0")[4:])
    assert bad.value.code == 2 and "--jobs must be 1 or more" in capsys.readouterr().err


def test_grid_search_fits_every_combination_and_ranks_them_by_validation_rouge(tiny_run, tmp_path):
    root, _ = tiny_run
    out = tmp_path / "search.json"
    args = _tiny_args(root, "models/search.h5", "--epochs", "1")[4:]  # training.train's arguments, which search takes too
    from training.search import main as search

    search(["--grid", "units=4,8", "--json", str(out), *args])
    results = json.loads(out.read_text())["results"]
    assert sorted(r["units"] for r in results) == ["4", "8"]
    assert [r["mean"] for r in results] == sorted((r["mean"] for r in results), reverse=True)
    for r in results:
        assert set(r["validation_rouge"]) == {"rouge1", "rouge2", "rougeLsum"} and r["pick_rule"] in PICK_RULES
        assert r["epochs"] == 1


def test_vector_cache_is_shared_by_two_runs_and_refuses_another_encoder(tmp_path):
    from app.core.encoder import DIM, encoder_signature
    from training.vector_cache import VectorCache

    path = tmp_path / "vectors.h5"
    first, second = VectorCache(path, "a" * 64), VectorCache(path, "a" * 64)
    first.add(["one"], np.ones((1, DIM), dtype=np.float32))
    second.add(["two"], np.full((1, DIM), 2, dtype=np.float32))  # appended while `first` is alive
    np.testing.assert_array_equal(second.vectors(["two"], None)[0], 2)
    reread = VectorCache(path, "a" * 64)
    np.testing.assert_array_equal(reread.vectors(["one", "two"], None)[:, 0], [1, 2])
    with pytest.raises(KeyError):
        reread.vectors(["three"], None)
    with pytest.raises(ValueError, match="another encoder"):
        VectorCache(path, "b" * 64)
    # the same weights in another precision or pooling give other vectors: never mixed either
    float32 = tmp_path / "float32.h5"
    VectorCache(float32, encoder_signature("float32")).add(["one"], np.ones((1, DIM), dtype=np.float32))
    with pytest.raises(ValueError, match="another encoder"):
        VectorCache(float32, encoder_signature("bfloat16"))


def test_vector_cache_fill_appends_chunk_by_chunk_and_resumes(tmp_path):
    """An interrupted fill keeps the chunks it finished; the next fill encodes only the rest."""
    from app.core.encoder import DIM
    from training.vector_cache import VectorCache

    class CountingEncoder:  # stands in for MiniLM only to count calls; the cache is what is tested
        def __init__(self, fail_after=None):
            self.calls, self.fail_after = [], fail_after

        def encode_uncached(self, sentences):
            if self.fail_after is not None and len(self.calls) == self.fail_after:
                raise KeyboardInterrupt
            self.calls.append(list(sentences))
            return np.array([[len(s)] * DIM for s in sentences], dtype=np.float32)

    path = tmp_path / "vectors.h5"
    sentences = [f"sentence number {i}." for i in range(10)]
    with pytest.raises(KeyboardInterrupt):
        VectorCache(path, "sig").fill(sentences, CountingEncoder(fail_after=2), chunk=3)
    resumed = CountingEncoder()
    cache = VectorCache(path, "sig")
    assert len(cache) == 6  # the two chunks finished before the interrupt
    assert cache.fill(sentences + sentences[:2], resumed, chunk=3) == 4
    assert [s for call in resumed.calls for s in call] == sentences[6:]
    np.testing.assert_array_equal(VectorCache(path, "sig").vectors(sentences, None)[:, 0], [len(s) for s in sentences])


def test_evaluation_reports_every_figure_per_source_as_well_as_overall(tiny_run, tmp_path):
    root, stories = tiny_run
    from training.evaluate import main as evaluate

    mixed = tmp_path / "mixed.jsonl.gz"
    import gzip

    with gzip.open(mixed, "wt") as f:
        for i, story in enumerate(stories):
            f.write(json.dumps({**story, "source": "cnn" if i % 3 else "dm"}) + "\n")
    out = evaluate(["--data", str(mixed), "--model", str(root / "models/tiny.h5"), "--nltk-data", str(root / "models/nltk_data"),
                    "--cache", str(root / "cache/vectors.h5"), "--baselines", "lead", "--by-source",
                    "--json", str(tmp_path / "eval.json")])
    entry = out["sets"][str(mixed)]
    assert entry["articles"] == 6
    assert {s: e["articles"] for s, e in entry["by_source"].items()} == {"cnn": 4, "dm": 2}
    for e in [entry, *entry["by_source"].values()]:
        assert set(e["rouge"]) == {"brief", "lead"}
    # the overall figure is the article-weighted mean of the per-source ones
    overall = entry["rouge"]["lead"]["rouge1"]
    weighted = sum(e["articles"] * e["rouge"]["lead"]["rouge1"] for e in entry["by_source"].values()) / 6
    assert overall == pytest.approx(weighted, abs=0.01)
    assert out["pick_rule"] == json.loads((root / "models/tiny.json").read_text())["pick_rule"]
    assert json.loads((tmp_path / "eval.json").read_text()) == out
