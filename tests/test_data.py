"""Loading real formats: the Kaggle BBC folder layout and CNN/DailyMail JSONL, bad rows counted."""

import json

import numpy as np
import pytest

from training.data import LoadReport, load_bbc, load_dataset, load_jsonl


@pytest.fixture
def bbc_folder(tmp_path):
    root = tmp_path / "bbc"
    for sub in ("News Articles/sport", "Summaries/sport"):
        (root / sub).mkdir(parents=True)
    (root / "News Articles/sport/001.txt").write_text("Title one\n\nFirst line. Second line.\n\nThird line.\n", encoding="utf-8")
    (root / "Summaries/sport/001.txt").write_text("First line.Third line.", encoding="utf-8")
    (root / "News Articles/sport/002.txt").write_bytes("Caf\xe9 title\n\nThe caf\xe9 opened. It closed.\n".encode("iso-8859-1"))
    (root / "Summaries/sport/002.txt").write_bytes("The caf\xe9 opened.".encode("iso-8859-1"))
    (root / "News Articles/sport/003.txt").write_text("Title one\n\nFirst line. Second line.\n\nThird line.\n", encoding="utf-8")
    (root / "Summaries/sport/003.txt").write_text("First line.", encoding="utf-8")
    (root / "News Articles/sport/004.txt").write_text("Only a title\n\n", encoding="utf-8")
    (root / "Summaries/sport/004.txt").write_text("Something.", encoding="utf-8")
    (root / "split.tsv").write_text(
        "# article\tsplit\nsport/001\ttrain\nsport/002\ttrain\nsport/003\ttrain\nsport/004\ttrain\n", encoding="utf-8"
    )
    return root


def test_bbc_articles_have_title_body_and_split_quotes(bbc_folder):
    report = LoadReport()
    articles = load_bbc(bbc_folder, "train", report)
    first = articles[0]
    assert first.title == "Title one"
    assert first.text.startswith("First line.") and "Title one" not in first.text
    assert first.quotes == ("First line.", "Third line.")
    assert articles[1].text == "The café opened. It closed."  # the latin-1 file decodes
    assert report.kept == 2
    assert report.skipped == {"duplicate article": 1, "empty article": 1}


def test_evaluation_keeps_duplicates(bbc_folder):
    assert len(load_bbc(bbc_folder, "train", dedupe=False)) == 3


def test_unknown_split_is_refused(bbc_folder):
    with pytest.raises(ValueError, match="unknown BBC split"):
        load_bbc(bbc_folder, "dev")


def test_jsonl_rows_with_no_usable_summary_or_text_are_skipped_and_counted(tmp_path):
    path = tmp_path / "stories.jsonl"
    rows = [
        json.dumps({"id": "a", "article": "One. Two.", "highlights": "One\nTwo"}).encode(),
        json.dumps({"id": "b", "article": "  ", "highlights": "x"}).encode(),
        json.dumps({"id": "c", "article": "Text.", "highlights": ""}).encode(),
        b"{not json",
        b'{"id": "d", "article": "\xff\xfe", "highlights": "x"}',
        b"",
    ]
    path.write_bytes(b"\n".join(rows) + b"\n")
    report = LoadReport()
    articles = load_jsonl(path, report)
    assert [a.id for a in articles] == ["a"]
    assert articles[0].quotes == ("One", "Two")
    assert report.skipped == {"empty article": 1, "empty summary": 1, "malformed JSON": 1, "undecodable bytes": 1}


def test_dataset_names(tmp_path):
    with pytest.raises(ValueError, match="unknown data set"):
        load_dataset("imdb:train", tmp_path)


def test_a_slice_of_a_data_set_holds_out_part_of_one_file(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_text("\n".join(json.dumps({"id": str(i), "article": f"Text {i}.", "highlights": "h"}) for i in range(5)) + "\n")
    assert [a.id for a in load_dataset(f"{path}[:3]")] == ["0", "1", "2"]
    assert [a.id for a in load_dataset(f"{path}[3:]")] == ["3", "4"]


def test_a_repeated_training_set_is_oversampled(tmp_path):
    from training.data import load_sets

    path = tmp_path / "s.jsonl"
    path.write_text(json.dumps({"id": "a", "article": "Text.", "highlights": "h"}) + "\n")
    assert [a.id for a in load_sets([f"{path}*3"], str(tmp_path), LoadReport())] == ["a", "a", "a"]


def test_a_weighted_training_set_is_loaded_once_and_weighs_more_in_the_loss(tmp_path):
    from training.data import load_sets
    from training.examples import Example
    from training.model import ExampleBatches

    path = tmp_path / "s.jsonl"
    path.write_text(json.dumps({"id": "a", "article": "Text.", "highlights": "h"}) + "\n")
    other = tmp_path / "t.jsonl"
    other.write_text(json.dumps({"id": "b", "article": "Text.", "highlights": "h"}) + "\n")
    articles = load_sets([f"{path}^2.5", str(other)], str(tmp_path), LoadReport())
    assert [(a.id, a.weight) for a in articles] == [("a", 2.5), ("b", 1.0)]
    with pytest.raises(ValueError, match="positive"):
        load_sets([f"{path}^0"], str(tmp_path), LoadReport())

    examples = [Example(a, [], np.ones((n, 4), np.float32), np.zeros(n, np.float32), a.weight) for a, n in zip(articles, (2, 3))]
    (_, mask), _, sample_weight = ExampleBatches(examples, 2, 64, seed=0, shuffle=False)[0]
    # padding still weighs 0; each article's real sentences weigh its set's weight
    real = sorted(tuple(row[row > 0].tolist()) for row in sample_weight)
    assert real == [(1.0, 1.0, 1.0), (2.5, 2.5)]
    assert ((sample_weight > 0) == (mask > 0)).all()


def _write_stories(path, n, source=None):
    rows = [{"id": str(i), "article": f"Story {i} begins. It ends.", "highlights": f"Story {i}."} for i in range(n)]
    for row in rows:
        if source:
            row["source"] = source(int(row["id"]))
    text = "\n".join(json.dumps(r) for r in rows) + "\n"
    if str(path).endswith(".gz"):
        import gzip

        with gzip.open(path, "wt", encoding="utf-8") as f:
            f.write(text)
    else:
        path.write_text(text, encoding="utf-8")


def test_gzipped_jsonl_reads_like_plain_jsonl_with_each_row_s_source(tmp_path):
    folder = tmp_path / "cnn_dailymail"
    folder.mkdir()
    _write_stories(folder / "train_lowercased.jsonl.gz", 4, source=lambda i: "cnn" if i % 2 else "dm")
    _write_stories(folder / "train_lowercased_copy.jsonl", 4, source=lambda i: "cnn" if i % 2 else "dm")
    gz = load_dataset("cnndm:train_lowercased", tmp_path)  # finds the .jsonl.gz
    plain = load_dataset("cnndm:train_lowercased_copy", tmp_path)
    assert gz == plain
    assert [a.source for a in gz] == ["dm", "cnn", "dm", "cnn"]
    assert load_dataset(str(folder / "train_lowercased.jsonl.gz")) == gz


def test_rows_without_a_source_take_the_data_set_s_and_bbc_articles_are_bbc(tmp_path, bbc_folder):
    (tmp_path / "inshorts").mkdir()
    _write_stories(tmp_path / "inshorts" / "news_summary.jsonl", 2)
    assert {a.source for a in load_dataset("inshorts:news_summary", tmp_path)} == {"inshorts"}
    assert {a.source for a in load_bbc(bbc_folder, "train")} == {"bbc"}


def test_a_random_sample_is_fixed_and_a_smaller_one_is_part_of_a_larger_one(tmp_path):
    path = tmp_path / "s.jsonl.gz"
    _write_stories(path, 50)
    ten, twenty = load_dataset(f"{path}~10"), load_dataset(f"{path}~20")
    assert len(ten) == 10 and len({a.id for a in ten}) == 10
    assert twenty[:10] == ten  # nested: encoding ~20 also covers ~10
    assert load_dataset(f"{path}~10") == ten  # the same sample every time
    assert [a.id for a in ten] != [str(i) for i in range(10)]  # a shuffle, not the file's first rows
    # a sample of a slice: the held-out tail stays out of it
    assert {a.id for a in load_dataset(f"{path}[:-10]~40")} == {str(i) for i in range(40)}
