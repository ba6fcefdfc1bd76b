"""``brief batch``: an archive in, every id once out, on a real Ray (embedded, and a two-node cluster with a
node killed mid-job), resumed after an interrupt, with the API's answers and error rows.

The archive's files (``app.batch.archive``) are tested directly; the jobs run the installed ``brief``
console script with the bundled model, as a user runs them (slow: each starts Ray and loads the model).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import requests

from app.batch.archive import ArchiveError, Output, find_inputs, read_ids
from app.settings import DATA_ROOT, ROOT
from tests.pages import NEWS, NO_ARTICLE
from tests.test_api import ARTICLE

BRIEF = Path(sys.executable).parent / "brief"
CNNDM = DATA_ROOT / "cnn_dailymail" / "validation.jsonl"
SAMPLES = sorted((ROOT / "app" / "samples").glob("*.txt"))
JOB_TIMEOUT = 600  # seconds; Ray's start and each actor's model load take most of it on a busy machine


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def stories(n: int, skip: int = 0) -> list[dict]:
    """``n`` CNN/DailyMail validation stories as input rows."""
    if not CNNDM.exists():
        pytest.skip(f"needs the CNN/DailyMail validation split at {CNNDM}")
    rows = []
    with open(CNNDM) as f:
        for i, line in enumerate(f):
            if i >= skip:
                story = json.loads(line)
                rows.append({"id": story["id"], "text": story["article"]})
            if len(rows) == n:
                return rows
    return rows


def brief_batch(*args: str, env: dict | None = None, **kwargs) -> subprocess.Popen:
    """``brief batch ARGS`` started in the background (stderr captured)."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}
    env.pop("RAY_ADDRESS", None)
    return subprocess.Popen([str(BRIEF), "batch", *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, env=env, **kwargs)


def finish(process: subprocess.Popen, timeout: float = JOB_TIMEOUT) -> str:
    """Wait for the job; its stderr, which must end in success."""
    _, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, err[-3000:]
    return err


def wait_for_part(output: Path, process: subprocess.Popen, timeout: float = JOB_TIMEOUT) -> None:
    """Until the job has written its first part of OUTPUT (rows are being answered)."""
    parts = output.with_name(output.name + ".parts")
    deadline = time.monotonic() + timeout
    while not list(parts.glob("part-*.jsonl")):
        assert process.poll() is None, process.stderr.read()[-3000:]
        assert time.monotonic() < deadline, "no part written"
        time.sleep(0.2)


# --- the archive's files ----------------------------------------------------------------------------


def test_input_is_a_file_a_folder_or_a_glob(tmp_path):
    a = write_jsonl(tmp_path / "a.jsonl", [{"id": 1, "text": "One."}])
    b = write_jsonl(tmp_path / "b.jsonl", [{"id": 2, "text": "Two."}])
    (tmp_path / "notes.txt").write_text("not an input")
    assert find_inputs(str(a)) == ([a], "json")
    assert find_inputs(str(tmp_path)) == ([a, b], "json")
    assert find_inputs(str(tmp_path / "*.jsonl")) == ([a, b], "json")
    with pytest.raises(ArchiveError, match="no such file"):
        find_inputs(str(tmp_path / "missing.jsonl"))


def test_an_input_mixing_formats_or_missing_ids_is_refused(tmp_path):
    write_jsonl(tmp_path / "a.jsonl", [{"id": 1, "text": "One."}])
    pq.write_table(pa.table({"id": [2], "text": ["Two."]}), tmp_path / "b.parquet")
    with pytest.raises(ArchiveError, match="mixes"):
        find_inputs(str(tmp_path))
    no_id = write_jsonl(tmp_path / "c.jsonl", [{"id": 1, "text": "One."}, {"text": "No id."}])
    with pytest.raises(ArchiveError, match="row 2 has no id"):
        read_ids([no_id], "json")


def test_output_keeps_the_first_row_of_each_id_from_its_parts(tmp_path):
    out = Output(tmp_path / "out.jsonl")
    out.begin({"top": 3})
    out.write_part(['{"id":"a","highlights":[0]}', '{"id":"b","highlights":[1]}'])
    out.write_part(['{"id":"a","highlights":[2]}', '{"id":"c","error":{"code":"no_sentences","message":"m"}}'])
    assert out.done_ids() == {"a", "b", "c"}
    assert out.finish() == 3
    assert read_jsonl(tmp_path / "out.jsonl") == [{"id": "a", "highlights": [0]}, {"id": "b", "highlights": [1]},
                                                  {"id": "c", "error": {"code": "no_sentences", "message": "m"}}]
    assert not out.parts.exists()


def test_parts_begun_with_other_options_are_not_mixed(tmp_path):
    out = Output(tmp_path / "out.jsonl")
    out.begin({"top": 3})
    out.write_part(['{"id":"a"}'])
    with pytest.raises(ArchiveError, match="other options"):
        Output(tmp_path / "out.jsonl").begin({"top": 5})


def test_parquet_output_holds_answers_and_error_rows(tmp_path):
    out = Output(tmp_path / "out.parquet")
    out.begin({"top": 1})
    out.write_part(['{"id":"a","highlights":[0],"scored_article_sentences":[{"index":0,"score":0.5}]}',
                    '{"id":"b","error":{"code":"empty_article","message":"m"}}'])
    out.finish()
    rows = pq.read_table(tmp_path / "out.parquet").to_pylist()
    assert [r["id"] for r in rows] == ["a", "b"]
    assert rows[0]["highlights"] == [0] and rows[0]["error"] is None
    assert rows[1]["error"] == {"code": "empty_article", "message": "m"} and rows[1]["highlights"] is None


def test_an_input_that_cannot_be_read_stops_the_command_before_ray_starts(tmp_path):
    missing = brief_batch(str(tmp_path / "missing.jsonl"), str(tmp_path / "out.jsonl"))
    (tmp_path / "bad.jsonl").write_text('{"id": 1, "text": "One."}\nnot json\n')
    bad = brief_batch(str(tmp_path / "bad.jsonl"), str(tmp_path / "out.jsonl"))
    for process, message in ((missing, "no such file"), (bad, "bad.jsonl: not JSON Lines")):
        _, err = process.communicate(timeout=120)
        assert process.returncode == 2 and message in err
    assert not (tmp_path / "out.jsonl.parts").exists()


# --- jobs on Ray ------------------------------------------------------------------------------------

BAD_ROWS = [
    {"id": "empty", "text": "   "},
    {"id": "nav-only", "html": NO_ARTICLE},
    {"id": "metadata-url", "url": "http://169.254.169.254/latest/meta-data/"},
    {"id": "two-sources", "text": "A sentence.", "html": "<p>Another.</p>"},
]
BAD_CODES = {"empty": "empty_article", "nav-only": "no_article_text", "metadata-url": "url_not_allowed",
             "two-sources": "invalid_request"}


@pytest.fixture(scope="module")
def embedded_job(tmp_path_factory, pages):
    """One job on embedded Ray: the samples, a web page, a page fetched from loopback (allowed, as the
    service allows it with BRIEF_FETCH_ALLOW) and the bad rows."""
    folder = tmp_path_factory.mktemp("embedded")
    rows = [{"id": f"sample-{i}", "text": p.read_text()} for i, p in enumerate(SAMPLES)]
    rows += [{"id": "bridge", "text": ARTICLE, "title": "Bridge"}, {"id": "news-page", "html": NEWS},
             {"id": "fetched", "url": f"{pages.url}/page/news"}, *BAD_ROWS]
    source = write_jsonl(folder / "in.jsonl", rows)
    output = folder / "out.jsonl"
    err = finish(brief_batch(str(source), str(output), "--top", "3", "--report", str(folder / "report.json"),
                             env={"BRIEF_FETCH_URLS": "1", "BRIEF_FETCH_ALLOW": "127.0.0.1"}))
    return rows, read_jsonl(output), json.loads((folder / "report.json").read_text()), err


@pytest.mark.slow
def test_an_embedded_job_answers_every_id_once(embedded_job):
    rows, out, report, err = embedded_job
    assert sorted(o["id"] for o in out) == sorted(r["id"] for r in rows)
    assert report["answered"] == len(rows) and report["errors"] == len(BAD_ROWS)
    assert report["sentences"] == sum(len(o.get("scored_article_sentences", [])) for o in out) > 0
    assert "every id once" in err


@pytest.mark.slow
def test_rows_that_cannot_be_scored_become_the_apis_error_rows(embedded_job):
    _, out, _, _ = embedded_job
    by_id = {o["id"]: o for o in out}
    assert {i: by_id[i]["error"]["code"] for i in BAD_CODES} == BAD_CODES
    assert all(set(by_id[i]) == {"id", "error"} and by_id[i]["error"]["message"] for i in BAD_CODES)
    assert by_id["fetched"]["url"].endswith("/page/news") and by_id["fetched"]["highlights"]


@pytest.mark.slow
def test_a_rows_answer_is_the_apis(embedded_job, server):
    rows, out, _, _ = embedded_job
    by_id = {o["id"]: o for o in out}
    compared = 0
    for row in rows:
        if row["id"] in BAD_CODES or "url" in row:
            continue
        fields = {k: v for k, v in row.items() if k != "id"}
        api = requests.post(f"{server.url}/api/evaluate", json={**fields, "top": 3}, timeout=120).json()
        got = by_id[row["id"]]
        assert got["highlights"] == api["highlights"] and got["title"] == api["title"]
        assert [s["index"] for s in got["scored_article_sentences"]] == [s["index"] for s in api["scored_article_sentences"]]
        for mine, theirs in zip(got["scored_article_sentences"], api["scored_article_sentences"]):
            assert mine["score"] == pytest.approx(theirs["score"], abs=1e-5)
        assert {k: v for k, v in got.items() if k not in ("id", "scored_article_sentences")} == \
            {k: v for k, v in api.items() if k != "scored_article_sentences"}
        compared += 1
    assert compared == len(SAMPLES) + 2


@pytest.mark.slow
def test_an_interrupted_job_resumes_and_scores_only_what_is_missing(tmp_path):
    """Parquet in and out; Ctrl-C once the first rows are written, then the same command again."""
    rows = stories(40)
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "in.parquet")
    output = tmp_path / "out.parquet"
    args = (str(tmp_path / "in.parquet"), str(output), "--top", "3", "--actors", "1")
    env = {"BRIEF_BATCH_ROWS": "2"}
    first = brief_batch(*args, env=env)
    wait_for_part(output, first)
    first.send_signal(signal.SIGINT)
    first.communicate(timeout=120)
    assert first.returncode == 130
    kept = Output(output).done_ids()
    assert 0 < len(kept) < len(rows) and not output.exists()

    finish(brief_batch(*args, "--report", str(tmp_path / "report.json"), env=env))
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["already_done"] == len(kept) and report["answered"] == len(rows) - len(kept)
    ids = pq.read_table(output, columns=["id"]).column("id").to_pylist()
    assert sorted(ids) == sorted(r["id"] for r in rows)

    again = finish(brief_batch(*args, env=env))  # nothing left: Ray is not even started
    assert "nothing left to score" in again
    assert pq.read_table(output).num_rows == len(rows)


@pytest.mark.slow
def test_a_job_on_a_cluster_survives_a_killed_node(tmp_path):
    """Two nodes of one CPU each, one actor on each; the worker node is killed once rows are being written,
    and a fresh node joins (as a cluster's autoscaler would bring one): every id is written once."""
    from ray.cluster_utils import Cluster

    rows = stories(150, skip=100)  # enough that the kill lands mid-job however fast the encoder is
    source = write_jsonl(tmp_path / "in.jsonl", rows)
    output = tmp_path / "out.jsonl"
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    try:
        worker = cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        job = brief_batch(str(source), str(output), "--top", "3", "--address", cluster.address, "--actors", "2",
                          env={"BRIEF_BATCH_ROWS": "2"})
        wait_for_part(output, job)
        written_before = len(Output(output).done_ids())
        cluster.remove_node(worker)
        cluster.add_node(num_cpus=1)
        finish(job)
    finally:
        cluster.shutdown()
    assert written_before < len(rows)
    ids = [o["id"] for o in read_jsonl(output)]
    assert sorted(ids) == sorted(r["id"] for r in rows)


# --- the training encode stage on Ray ---------------------------------------------------------------


@pytest.mark.slow
def test_training_encode_on_ray_fills_the_vector_cache_with_the_encoders_vectors(tmp_path):
    from app.core.encoder import SentenceEncoder
    from app.core.sentences import SentenceSplitter
    from app.settings import NLTK_DATA, resolve
    from training.data import LoadReport, load_dataset
    from training.vector_cache import VectorCache

    source = write_jsonl(tmp_path / "stories.jsonl", [{"article": r["text"], "highlights": "A summary."}
                                                      for r in stories(3, skip=200)])
    cache_path = tmp_path / "vectors.h5"
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    result = subprocess.run([sys.executable, "-m", "training.encode", "--ray", "--actors", "1", "--data", str(source),
                             "--cache", str(cache_path)], capture_output=True, text=True, timeout=JOB_TIMEOUT,
                            env={**env, "TF_CPP_MIN_LOG_LEVEL": "3"}, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-3000:]
    encoder = SentenceEncoder()
    splitter = SentenceSplitter(resolve(NLTK_DATA))
    articles = load_dataset(str(source), str(tmp_path), LoadReport(), dedupe=False)
    sentences = [s.text for a in articles for s in splitter.split(a.text)]
    cache = VectorCache(cache_path, encoder.signature)
    assert cache.missing(sentences) == []
    cached = cache.vectors(sentences, encoder=None)
    assert abs(cached - encoder.encode_uncached(sentences)).max() < 1e-5
