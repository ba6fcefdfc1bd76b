"""Labels: each labeler on cases small enough to check by hand."""

import numpy as np
import pytest

from training.labels import greedy_oracle, jaccard_labels, label_sentences, oracle_labels, rouge_labels


def test_jaccard_is_one_minus_the_distance_to_the_nearest_quote():
    sentences = ["the cat sat", "a dog ran far", "nothing here matches"]
    quotes = ["the cat sat down", "dog ran"]
    # {the,cat,sat} vs {the,cat,sat,down}: 3/4; {a,dog,ran,far} vs {dog,ran}: 2/4; no overlap: 0
    np.testing.assert_allclose(jaccard_labels(sentences, quotes), [0.75, 0.5, 0.0])


def test_rouge_label_averages_rouge1_and_rouge2_f_against_the_nearest_quote():
    sentences = ["the cat sat", "zebra"]
    quotes = ["the cat sat down"]
    # P=3/3, R=3/4 -> F=6/7; R-2: 2 of 2 bigrams vs 3 -> P=1, R=2/3 -> F=0.8
    np.testing.assert_allclose(rouge_labels(sentences, quotes), [(6 / 7 + 0.8) / 2, 0.0], rtol=1e-6)


def test_a_verbatim_quote_gets_label_one_from_both_nearest_quote_labelers():
    sentences = ["Profits rose sharply in March.", "The weather was mild."]
    quotes = ["Profits rose sharply in March."]
    assert jaccard_labels(sentences, quotes)[0] == pytest.approx(1.0)
    assert rouge_labels(sentences, quotes)[0] == pytest.approx(1.0)


def test_greedy_oracle_picks_the_summary_sentences_most_valuable_first():
    sentences = ["alpha beta gamma delta", "unrelated words entirely", "epsilon zeta"]
    summary = ["alpha beta gamma delta epsilon zeta"]
    assert greedy_oracle(sentences, summary) == [0, 2]
    assert greedy_oracle(sentences, summary, limit=1) == [0]


def test_soft_oracle_labels_grade_picks_from_one_down_to_a_half():
    sentences = ["alpha beta gamma delta", "unrelated words entirely", "epsilon zeta"]
    labels = oracle_labels(sentences, ["alpha beta gamma delta epsilon zeta"])
    np.testing.assert_allclose(labels, [1.0, 0.0, 0.5])


def test_unknown_labeler_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown labeler"):
        label_sentences("nope", ["a"], ["a"])
