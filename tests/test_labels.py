"""Labels: each labeler on cases small enough to check by hand."""

import numpy as np
import pytest

from training.labels import (best_summaries_labels, greedy_oracle, jaccard_labels, label_sentences, oracle_labels,
                             rouge_labels)


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


def test_best_summaries_with_one_kept_is_one_on_the_best_combination_and_zero_elsewhere():
    sentences = ["alpha beta gamma", "unrelated words entirely", "delta epsilon", "more noise here"]
    labels = best_summaries_labels(sentences, ["alpha beta gamma delta epsilon"], k=2, keep=1)
    np.testing.assert_allclose(labels, [1.0, 0.0, 1.0, 0.0])


def test_best_summaries_give_a_near_miss_the_credit_the_oracle_denies_it():
    # sentence 1 is almost as good as sentence 0: the oracle picks only 0, the best pairs hold both
    sentences = ["alpha beta gamma delta", "alpha beta gamma", "zeta eta", "nothing at all"]
    summary = ["alpha beta gamma delta zeta eta"]
    assert oracle_labels(sentences, summary)[1] == 0.0
    labels = best_summaries_labels(sentences, summary, k=2, keep=3)
    assert labels[0] > labels[1] > 0.0 and labels[3] < labels[1]
    assert labels.max() <= 1.0


def test_best_summaries_are_all_zero_when_nothing_matches_the_summary():
    np.testing.assert_array_equal(best_summaries_labels(["a b", "c d", "e f"], ["x y z"]), [0.0, 0.0, 0.0])


def test_unknown_labeler_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown labeler"):
        label_sentences("nope", ["a"], ["a"])
