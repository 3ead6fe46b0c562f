"""The monitored window of `safeguard monitor` and the reference period stored at training."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest
from threadpoolctl import threadpool_limits

from model.data import PreparedExtract, prepare_extract
from model.monitor_run import monitor_extract
from model.monitoring_reference import METADATA_KEY, monitored_period
from model.registry import ModelRegistry
from model.train import TrainingConfig
from model.workflow import train_and_register
from pipelines.synth import SynthConfig, generate_extract

# The extract is taken five months after its last referral (events and outcomes run on).
MONTHS_AFTER = dt.timedelta(days=150)
NO_DECISIONS = pd.DataFrame(columns=["referral_id", "band", "rag", "practitioner_rag",
                                     "agrees_with_band", "reason", "model_version"])


@pytest.fixture(scope="module")
def late_extract(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dt.date]:
    """A small synthetic extract and an extract date months after its last referral."""
    folder = tmp_path_factory.mktemp("late") / "extract"
    config = SynthConfig(n_referrals=2_500, seed=5, file_format="parquet", corrupt=False)
    generate_extract(config, out_dir=folder)
    return folder, config.extract_date + MONTHS_AFTER


def _prepared(extract: tuple[Path, dt.date]) -> PreparedExtract:
    return prepare_extract(extract[0], extract_date=extract[1])


def test_an_unchanged_extract_dated_after_its_last_referral_is_the_reference_population(
        late_extract: tuple[Path, dt.date], registry: ModelRegistry) -> None:
    with threadpool_limits(1):
        outcome = train_and_register(late_extract[0], registry=registry, experiment="t",
                                     config=TrainingConfig(max_iter=30),
                                     extract_date=late_extract[1])
    prepared = _prepared(late_extract)
    last_referral = pd.to_datetime(prepared.features["referral_date"]).max().date()
    assert prepared.extract_date - last_referral >= dt.timedelta(days=120)
    model = outcome.result.model
    report = monitor_extract(model, version=outcome.version.version, prepared=prepared,
                             decisions=NO_DECISIONS)
    reference = model.metadata[METADATA_KEY]
    window = {key: report["window"][key] for key in ("from", "to", "referrals")}
    assert window == reference["period"]  # same dates, same count
    assert report["crossed"] == []
    assert report["drift"]["score_psi"] == pytest.approx(0.0, abs=1e-12)
    assert max(report["drift"]["features"].values()) == pytest.approx(0.0, abs=1e-12)
    assert report["coverage"]["now"] == report["coverage"]["training"]


REFERENCE = {"period": {"from": "2024-12-09", "to": "2026-11-30", "referrals": 2147}}
TRAINED = dt.date(2026, 11, 30)


def _dates(first: dt.date, last: dt.date, n: int) -> pd.Series:
    return pd.Series(pd.date_range(first, last, periods=n))


def test_a_newer_extract_long_after_training_is_monitored_over_the_reference_span() -> None:
    end = dt.date(2029, 5, 31)
    period = monitored_period(REFERENCE, extract_date=end,
                              referral_dates=_dates(dt.date(2027, 1, 1), end, 3_000),
                              min_referrals=500)
    assert period.end == end and period.start > TRAINED
    assert end - period.start == TRAINED - dt.date(2024, 12, 9)
    since = dt.date(2027, 1, 1)
    given = monitored_period(REFERENCE, extract_date=end, referral_dates=_dates(since, end, 10),
                             min_referrals=500, since=since)
    assert (given.start, given.end) == (since, end)


def test_the_default_window_starts_after_the_training_extract_when_enough_referrals_do() -> None:
    """A year after training, a window as long as the 2-year reference period would reach
    a year back into it and dilute a feed that went quiet since (the probe's housing)."""
    end = dt.date(2027, 11, 30)
    period = monitored_period(REFERENCE, extract_date=end,
                              referral_dates=_dates(dt.date(2023, 1, 1), end, 5_000),
                              min_referrals=500)
    assert period.start == TRAINED + dt.timedelta(days=1) and period.end == end
    assert period.rule.startswith("from the day after the training extract's date (2026-11-30)")


def test_with_too_few_referrals_after_training_the_window_overlaps_and_says_so() -> None:
    end = dt.date(2027, 1, 31)
    dates = pd.concat([_dates(dt.date(2023, 1, 1), TRAINED, 5_000),
                       _dates(dt.date(2026, 12, 1), end, 100)])
    period = monitored_period(REFERENCE, extract_date=end, referral_dates=dates,
                              min_referrals=500)
    assert end - period.start == TRAINED - dt.date(2024, 12, 9)
    overlap = (TRAINED - period.start).days + 1
    assert period.rule == (
        f"as many days as the reference period, overlapping it by {overlap:,} days: only "
        "100 referrals are dated after the training extract's date (2026-11-30), fewer "
        "than 500; a change since training is diluted (use --since)")
