"""Score drift: PSI and KS between two histograms, the verdict, and reading live counts from Prometheus."""

import math

import pytest
from prometheus_client import CollectorRegistry, Histogram

from app.server.drift import drift_report, ks_pvalue, ks_statistic, population_stability_index
from app.core.card import SCORE_EDGES
from app.server.metrics import score_counts

THRESHOLDS = {"min_samples": 100, "psi_warn": 0.1, "psi_alert": 0.25}


def reference(counts):
    return {"bin_edges": list(SCORE_EDGES), "counts": counts}


def test_identical_distributions_do_not_drift():
    counts = [5] * 20
    assert population_stability_index(counts, [10] * 20) == pytest.approx(0.0)
    assert ks_statistic(counts, [10] * 20) == pytest.approx(0.0)


def test_psi_of_a_shift_between_two_bins_matches_the_hand_computation():
    # proportions 0.5/0.5 -> 0.9/0.1: 0.4 ln(0.9/0.5) + (-0.4) ln(0.1/0.5)
    expected = 0.4 * math.log(1.8) - 0.4 * math.log(0.2)
    assert population_stability_index([50, 50], [90, 10]) == pytest.approx(expected)
    assert expected == pytest.approx(0.8789, abs=1e-4)


def test_ks_is_the_largest_gap_between_cumulative_shares():
    # CDFs after bin 1: 0.5 vs 0.9; after bin 2: 1 vs 1
    assert ks_statistic([50, 50], [90, 10]) == pytest.approx(0.4)


def test_empty_bins_do_not_make_psi_infinite():
    assert math.isfinite(population_stability_index([100, 0], [0, 100]))


def test_ks_pvalue_is_one_without_a_gap_and_tiny_for_a_big_gap_on_many_samples():
    assert ks_pvalue(0.0, 1000, 1000) == 1.0
    assert ks_pvalue(0.4, 1000, 1000) < 1e-6
    assert 0.01 < ks_pvalue(0.05, 1000, 1000) < 0.5


def test_report_is_ok_for_the_reference_distribution_itself():
    counts = [0, 2, 8, 20, 30, 20, 10, 6, 3, 1] + [0] * 10
    report = drift_report(reference(counts), [c * 3 for c in counts], **THRESHOLDS)
    assert report["status"] == "ok"
    assert report["n"] == 300 and report["reference_n"] == 100
    assert report["psi"] == pytest.approx(0.0)
    assert report["live"]["proportions"] == report["reference"]["proportions"]


def test_report_alerts_when_all_scores_move_to_the_top():
    ref = [10] * 20
    live = [0] * 19 + [200]
    report = drift_report(reference(ref), live, **THRESHOLDS)
    assert report["status"] == "alert"
    assert report["ks"] == pytest.approx(0.95)


def test_report_warns_between_the_thresholds():
    ref = [50] * 20
    live = [70] * 10 + [30] * 10  # PSI = 10 * 0.02 ln(0.07 / 0.05) + 10 * 0.02 ln(0.05 / 0.03) ~= 0.17
    report = drift_report(reference(ref), live, **THRESHOLDS)
    assert 0.1 <= report["psi"] < 0.25
    assert report["status"] == "warn"


def test_too_few_live_scores_give_no_verdict():
    report = drift_report(reference([10] * 20), [1] * 20, **THRESHOLDS)
    assert report["n"] == 20 and report["status"] == "insufficient_data"
    empty = drift_report(reference([10] * 20), [0] * 20, **THRESHOLDS)
    assert empty["psi"] is None and empty["status"] == "insufficient_data"


def test_live_counts_come_from_the_score_histogram_in_the_card_bins():
    registry = CollectorRegistry()
    histogram = Histogram("brief_sentence_score", "scores", ["model"], buckets=SCORE_EDGES[1:], registry=registry)
    for score in (0.01, 0.07, 0.08, 0.99, 0.5):
        histogram.labels("lstm").observe(score)  # 0.5 counts in (0.45, 0.5]: Prometheus buckets are "<= le"
    histogram.labels("luhn").observe(0.3)  # another model's scores are not the LSTM's distribution
    counts = score_counts("lstm", registry)
    assert len(counts) == 20
    assert counts[0] == 1 and counts[1] == 2 and counts[9] == 1 and counts[19] == 1
    assert sum(counts) == 5
