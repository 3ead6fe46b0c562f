"""`model.small_groups`: a group too small to judge, yet far from its prediction."""

from __future__ import annotations

import pytest

from model.small_groups import exact_interval, small_groups_apart


def _report(positives: int, n: int, predicted: float, flags: tuple[str, ...] = ("too_small",)
            ) -> dict[str, object]:
    return {"groups": [{"attributes": {"ethnicity_group": "black"}, "n": n,
                        "mean_predicted": predicted, "flags": list(flags),
                        "counts": {"positives": positives}}]}


def test_the_exact_interval_matches_clopper_pearson() -> None:
    low, high = exact_interval(8, 23)
    assert (low, high) == pytest.approx((0.1638, 0.5727), abs=1e-4)
    assert exact_interval(0, 23)[0] == 0.0


def test_a_small_group_is_named_only_when_its_interval_leaves_the_prediction_out() -> None:
    [apart] = small_groups_apart(_report(8, 23, 0.154))  # the probe's group
    assert apart["direction"] == "above" and apart["interval"][0] > 0.154
    assert small_groups_apart(_report(5, 23, 0.154)) == []  # 21.7%: within chance
    assert small_groups_apart(_report(0, 40, 0.2))[0]["direction"] == "below"
    assert small_groups_apart(_report(8, 23, 0.154, flags=())) == []  # judged: the audit's
