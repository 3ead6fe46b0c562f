"""Stretches of referrals whose outcomes look unrecorded are found, and chance is not one."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from model.data import PreparedExtract, prepare_extract
from model.governance import load_governance
from model.outcome_gaps import gap_warnings, outcome_gaps
from model.train import TrainingConfig, TrainingResult, train_model


def _quarters(sizes: list[int], rates: list[float], *, seed: int = 0
              ) -> tuple[pd.Series, np.ndarray]:
    """Referral dates and labels, quarter by quarter from 2017Q1 (each its size and rate)."""
    rng = np.random.default_rng(seed)
    dates, labels = [], []
    for i, (size, rate) in enumerate(zip(sizes, rates, strict=True)):
        start = pd.Period("2017Q1", freq="Q") + i
        days = rng.integers(0, 90, size)
        dates += [start.start_time + pd.Timedelta(days=int(d)) for d in days]
        labels += list((rng.random(size) < rate).astype(int))
    return pd.Series(dates), np.asarray(labels)


def test_a_leading_stretch_without_outcomes_is_one_gap_with_its_dates_and_count() -> None:
    dates, y = _quarters([200] * 16, [0.0] * 6 + [0.11] * 10)
    [gap] = outcome_gaps(dates, y)
    assert gap.leading and gap.quarters == "2017Q1-2018Q2" and gap.referrals == 1_200
    assert gap.outcomes == 0 and gap.next_quarter == "2018-07-01"
    assert gap.first_referral == min(dates).date().isoformat()
    assert gap.other_rate == pytest.approx(y[1_200:].mean())
    [line] = gap_warnings([gap.to_json()], counted_as="they were trained on as negatives",
                          since_option="--since")
    assert line.startswith("warning: outcomes look unrecorded for the referrals of 2017-01-")
    assert "(2017Q1-2018Q2): 0 outcomes among 1,200 labelled referrals (0.0%)" in line
    assert line.endswith("they were trained on as negatives: check the outcomes feed, or use "
                         "--since 2018-07-01 to leave them out")


def test_a_trailing_or_inner_stretch_far_below_the_rest_is_found_and_not_leading() -> None:
    dates, y = _quarters([200] * 12, [0.12] * 5 + [0.01, 0.0] + [0.12] * 3 + [0.0, 0.0])
    inner, trailing = outcome_gaps(dates, y)
    assert (inner.quarters, trailing.quarters) == ("2018Q2-2018Q3", "2019Q3-2019Q4")
    assert not inner.leading and not trailing.leading
    [line] = gap_warnings([trailing.to_json()], counted_as="x", since_option="--since")
    assert line.endswith("x: check the outcomes feed for that period")


@pytest.mark.parametrize("seed", range(20))
def test_clean_outcomes_and_a_small_quarter_without_one_by_chance_are_no_gap(seed: int) -> None:
    # 10 referrals at 11%: no outcome in 31% of such quarters, by chance alone.
    dates, y = _quarters([10] + [150] * 20, [0.0] + [0.11] * 20, seed=seed)
    assert outcome_gaps(dates, y) == []


def test_without_any_outcome_there_is_nothing_to_compare_with() -> None:
    dates, y = _quarters([100] * 8, [0.0] * 8)
    assert outcome_gaps(dates, y) == [] and outcome_gaps(dates[:0], y[:0]) == []


@pytest.fixture(scope="module")
def early_outcomes_removed(small_extract: Path, tmp_path_factory: pytest.TempPathFactory
                           ) -> tuple[PreparedExtract, dt.date]:
    """The small extract with every outcome of a referral before mid-2021 deleted."""
    cut = dt.date(2021, 7, 1)
    out = tmp_path_factory.mktemp("gapped") / "extract"
    shutil.copytree(small_extract, out)
    referrals = pd.read_parquet(out / "referrals.parquet")
    early = referrals.loc[pd.to_datetime(referrals["referral_date"]) < pd.Timestamp(cut),
                          "referral_id"]
    outcomes = pd.read_parquet(out / "outcomes.parquet")
    kept = outcomes.loc[~outcomes["referral_id"].isin(early)]
    kept.to_parquet(out / "outcomes.parquet", index=False)
    return prepare_extract(out), cut


def _train(prepared: PreparedExtract, since: dt.date | None = None) -> TrainingResult:
    governance, text = load_governance()
    assert prepared.labels is not None
    return train_model(prepared.features, prepared.labels, members=prepared.members,
                       governance=governance, governance_text=text,
                       config=TrainingConfig(max_iter=20), since=since)


def test_training_finds_the_early_stretch_and_since_leaves_it_out(
        early_outcomes_removed: tuple[PreparedExtract, dt.date]) -> None:
    prepared, cut = early_outcomes_removed
    [gap] = _train(prepared).outcome_gaps
    assert gap.leading and gap.outcomes == 0 and gap.next_quarter == cut.isoformat()
    dates = pd.to_datetime(prepared.features["referral_date"])
    assert prepared.labels is not None
    early = ((dates < pd.Timestamp(cut)) & prepared.labels["follow_up_complete"]).to_numpy()
    assert gap.referrals == int(early.sum())  # every labelled early referral, no other
    since = _train(prepared, since=cut)
    assert since.outcome_gaps == [] and since.counts["before_since"] == gap.referrals
    assert since.counts["labelled"] == int(prepared.labels["follow_up_complete"].sum()) - \
        gap.referrals
    assert since.split.summary()["validation_from"] > cut.isoformat()


def test_a_clean_extract_trains_without_a_gap(trained: TrainingResult) -> None:
    assert trained.outcome_gaps == [] and trained.counts["before_since"] == 0
