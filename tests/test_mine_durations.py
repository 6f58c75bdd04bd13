from __future__ import annotations

import pytest

from runbook.mine import durations
from runbook.model import Stat


def test_empty_is_none() -> None:
    assert durations.summarize([]) is None
    assert durations.summarize([float("nan"), -3.0]) is None


def test_median_and_p90_by_linear_interpolation() -> None:
    stat = durations.summarize([10.0, 20.0, 30.0, 40.0, 50.0])
    assert stat == Stat(median_s=30.0, p90_s=46.0, n=5)


def test_single_value() -> None:
    assert durations.summarize([42.0]) == Stat(42.0, 42.0, 1)


def test_one_24_hour_run_does_not_move_the_estimate() -> None:
    normal = [300.0, 310.0, 295.0, 305.0, 320.0, 298.0, 302.0, 315.0]
    base = durations.summarize(normal)
    with_outlier = durations.summarize([*normal, 86_400.0])
    assert base is not None and with_outlier is not None
    assert with_outlier.median_s == base.median_s
    assert with_outlier.p90_s == base.p90_s
    assert with_outlier.n == len(normal)


def test_identical_whole_seconds_keep_slightly_slower_runs() -> None:
    # MAD is 0 here; a floor on the scale keeps 13 s from counting as an outlier.
    stat = durations.summarize([10.0, 10.0, 10.0, 10.0, 10.0, 13.0])
    assert stat is not None and stat.n == 6


def test_order_of_values_does_not_matter() -> None:
    values = [5.0, 1.0, 9.0, 3.0, 7.0, 1000.0, 2.0]
    assert durations.summarize(values) == durations.summarize(sorted(values))


def test_quantile_rejects_empty() -> None:
    with pytest.raises(ValueError):
        durations.quantile([], 0.5)
