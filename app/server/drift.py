"""Score drift: the live distribution of predicted scores against the validation one in the model card.

Both are 20-bin histograms on [0, 1] with the same edges. Two statistics:
- PSI (population stability index), ``sum((live - ref) * ln(live / ref))`` over bins of
  proportions. The usual reading: under 0.1 stable, 0.1-0.25 some shift, over 0.25 a real shift.
- KS, the largest gap between the two cumulative distributions at the bin edges (a binned
  two-sample Kolmogorov-Smirnov statistic), with its asymptotic p-value.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

PSI_FLOOR = 1e-4  # empty bins would make ln(live / ref) infinite


def proportions(counts: Sequence[int]) -> np.ndarray:
    counts = np.asarray(counts, dtype=np.float64)
    total = counts.sum()
    return counts / total if total else counts


def population_stability_index(reference: Sequence[int], live: Sequence[int]) -> float:
    ref = np.maximum(proportions(reference), PSI_FLOOR)
    cur = np.maximum(proportions(live), PSI_FLOOR)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


def ks_statistic(reference: Sequence[int], live: Sequence[int]) -> float:
    """Largest gap between the two cumulative distributions, over the bin edges."""
    return float(np.max(np.abs(np.cumsum(proportions(reference)) - np.cumsum(proportions(live)))))


def ks_pvalue(d: float, n: int, m: int) -> float:
    """Asymptotic two-sample KS p-value (Stephens' correction); conservative for binned data."""
    effective = n * m / (n + m)
    lam = (math.sqrt(effective) + 0.12 + 0.11 / math.sqrt(effective)) * d
    if lam < 1e-3:
        return 1.0
    p = 2 * sum((-1) ** (k - 1) * math.exp(-2 * k * k * lam * lam) for k in range(1, 101))
    return float(min(1.0, max(0.0, p)))


def drift_status(psi: float | None, n: int, min_samples: int, warn: float, alert: float) -> str:
    if psi is None or n < min_samples:
        return "insufficient_data"
    if psi >= alert:
        return "alert"
    return "warn" if psi >= warn else "ok"


def drift_report(reference: dict, live_counts: Sequence[int], *, min_samples: int, psi_warn: float,
                 psi_alert: float) -> dict:
    """Compare live bin counts with the card's reference counts in the same bins.

    Args:
        reference: the model card's ``validation_scores``: ``bin_edges`` (21) and ``counts`` (20).
    """
    edges, ref_counts = reference["bin_edges"], reference["counts"]
    n, ref_n = int(sum(live_counts)), int(sum(ref_counts))
    psi = population_stability_index(ref_counts, live_counts) if n else None
    ks = ks_statistic(ref_counts, live_counts) if n else None
    return {
        "status": drift_status(psi, n, min_samples, psi_warn, psi_alert),
        "n": n,
        "reference_n": ref_n,
        "psi": None if psi is None else round(psi, 6),
        "ks": None if ks is None else round(ks, 6),
        "ks_pvalue": None if ks is None else round(ks_pvalue(ks, n, ref_n), 6),
        "thresholds": {"min_samples": min_samples, "psi_warn": psi_warn, "psi_alert": psi_alert},
        "bin_edges": list(edges),
        "live": {"counts": list(live_counts), "proportions": [round(p, 6) for p in proportions(live_counts)]},
        "reference": {"counts": list(ref_counts), "proportions": [round(p, 6) for p in proportions(ref_counts)]},
    }
