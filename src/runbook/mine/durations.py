"""Robust duration statistics: median and p90 of observed seconds, outliers excluded.

One forgotten terminal (a 24-hour "run") must not move an estimate, so values far above the
median (more than 5 robust deviations, MAD-based) are dropped before summarizing. p90 uses
linear interpolation between order statistics (the numpy "linear" method).
Sample input: ``summarize([312.0, 298.5, 305.0, 86400.0])`` -> Stat(median_s=305.0, ...).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from runbook.model import Stat

__all__ = ["outlier_cutoff", "quantile", "robust", "summarize"]

# An idle gap longer than this is never a working duration.
MAX_PLAUSIBLE_S = 24 * 3600.0


def quantile(sorted_values: Sequence[float], q: float) -> float:
    """The q-quantile of already sorted values by linear interpolation."""
    n = len(sorted_values)
    if n == 0:
        raise ValueError("quantile of no values")
    pos = q * (n - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, n - 1)
    frac = pos - lo
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * frac


def outlier_cutoff(sorted_values: Sequence[float]) -> float:
    """Upper bound above which a value is an outlier: median + 5 x scaled MAD.

    The MAD is floored at a quarter of the median: durations are often whole seconds, and
    a MAD of 0 would otherwise make every slightly slower run an outlier.
    """
    med = quantile(sorted_values, 0.5)
    deviations = sorted(abs(v - med) for v in sorted_values)
    mad = 1.4826 * quantile(deviations, 0.5)
    scale = max(mad, 0.25 * med, 1.0)
    return med + 5.0 * scale


def robust(values: Sequence[float]) -> list[float]:
    """Finite non-negative values, sorted, with upper outliers removed (when n >= 4)."""
    clean = sorted(v for v in values if math.isfinite(v) and v >= 0.0)
    if len(clean) >= 4:
        cutoff = outlier_cutoff(clean)
        clean = [v for v in clean if v <= cutoff]
    if len(clean) > 1:
        clean = [v for v in clean if v <= MAX_PLAUSIBLE_S] or clean
    return clean


def summarize(values: Sequence[float]) -> Stat | None:
    """Median and p90 of the values after outlier removal; None when there are none."""
    clean = robust(values)
    if not clean:
        return None
    return Stat(
        median_s=round(quantile(clean, 0.5), 3),
        p90_s=round(quantile(clean, 0.9), 3),
        n=len(clean),
    )
