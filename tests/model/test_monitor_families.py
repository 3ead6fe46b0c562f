"""`safeguard monitor` does not take a family's referrals as independent: the "too few to
judge" rule counts their effective number, and the coverage-gap test widens its noise by
the families' design effect."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest

import model.families
from data_contracts.vocab import AGENCIES
from model.data import PreparedExtract
from model.families import families_of, with_families
from model.governance import MonitoringSettings
from model.monitor_run import monitor_extract, reference_for
from model.monitoring import Check, coverage_change, too_few_to_judge
from model.monitoring_quarters import coverage_by_quarter
from model.monitoring_reference import (
    METADATA_KEY,
    Population,
    coverage,
    effective_referrals,
    window,
)
from model.train import TrainingResult
from pipelines.feature_spec import coverage_feature_name
from tests.model.test_monitor_coverage_gaps import _frame

SETTINGS = MonitoringSettings()
DAY = dt.date(2026, 2, 1)


def _repeated(frame: pd.DataFrame, times: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Each row of `frame` `times` times over (one person referred again, alike), and
    each copy's family."""
    return (frame.loc[frame.index.repeat(times)].reset_index(drop=True),
            np.repeat(np.arange(len(frame)), times))


def _people(n: int, seed: int = 0) -> pd.DataFrame:
    """Feature rows of `n` referrals dated `DAY`, each agency's records held for about
    two in three."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"referral_date": [DAY.isoformat()] * n} | {
        coverage_feature_name(a): (rng.random(n) < 0.67).astype(np.float64)
        for a in AGENCIES})


def test_a_quarter_of_few_people_referred_many_times_is_not_judged() -> None:
    """600 referrals of 100 people, each referred six times with one record history: they
    tell what 100 referrals tell of coverage, fewer than `min_window_referrals` (500).
    Counted as referrals, the quarter was judged."""
    features, families = _repeated(_people(100), 6)
    assert 95 <= effective_referrals(features, families) <= 105
    assert effective_referrals(features, None) == 600
    reference = {"coverage": coverage(_people(2_000, seed=1))}
    apart = Population(features, np.ones(600, dtype=np.int64), DAY, DAY)
    together = Population(features, np.ones(600, dtype=np.int64), DAY, DAY, families)
    [quarter], _ = coverage_by_quarter(reference, apart, SETTINGS)
    assert quarter["judged"] and quarter["effective_referrals"] == 600
    [quarter], checks = coverage_by_quarter(reference, together, SETTINGS)
    assert not quarter["judged"] and quarter["referrals"] == 600
    assert all(not check.assessed for check in checks)


def test_the_too_few_message_says_what_the_referrals_are_worth() -> None:
    check = Check("drift", "score", True, "score distribution PSI 0.300 (threshold 0.25)")
    [said] = too_few_to_judge([check], 600, 500, effective=100.4)
    assert not said.crossed and not said.assessed
    assert said.message.endswith("too few referrals to judge (600, worth 100 as families "
                                 "repeat; at least 500)")
    [plain] = too_few_to_judge([check], 400, 500)
    assert plain.message.endswith("too few referrals to judge (400; at least 500)")


def _asian_health(population: Population, reference: pd.DataFrame) -> Check:
    checks = coverage_change({"coverage": coverage(reference)}, population, SETTINGS)[1]
    return next(c for c in checks if c.subject == "health/ethnicity_group=asian")


def test_a_gap_widened_by_a_few_families_referred_often_is_within_the_noise() -> None:
    """32 Asian subjects, 12 without health records (6 of 36 at training), each referred
    five times alike: 60 of 160 referrals without, but the evidence of 12 of 32 people.
    Taken as 160 independent referrals the gap crossed; with the families it is noise."""
    before, _ = _repeated(_frame(36, 6, 430, 33), 5)
    now, families = _repeated(_frame(32, 12, 500, 44), 5)
    score = np.ones(len(now), dtype=np.int64)
    apart = _asian_health(Population(now, score, DAY, DAY), before)
    together = _asian_health(Population(now, score, DAY, DAY, families), before)
    assert apart.crossed
    assert not together.crossed and together.assessed
    assert "within the sampling noise" in together.message
    # Families of one referral each: the same test as referrals taken one at a time.
    alone = _asian_health(Population(now, score, DAY, DAY, np.arange(len(now))), before)
    assert alone.crossed


def test_a_run_forms_the_extracts_families_once(
        trained: TrainingResult, prepared: PreparedExtract,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The window's, the matured and the decided referrals are all families of one extract
    (`model.families.with_families`), which a run formed three times over, once per frame,
    until 7 December: now once, over the whole extract, and the window's families are
    those formed for the window alone (`monitor.json` of a 100,000-referral extract was
    the same, `generated_at` apart, before and after)."""
    assert prepared.labels is not None
    first = pd.to_datetime(prepared.features["referral_date"]).min().date()
    metadata = trained.model.metadata | {
        METADATA_KEY: reference_for(trained.model, prepared.features, start=first,
                                    end=prepared.extract_date, labels=prepared.labels,
                                    members=prepared.members),
        "extract_date": prepared.extract_date.isoformat()}
    risk_model = dataclasses.replace(trained.model, metadata=metadata)
    decided = prepared.features["referral_id"].astype(str).head(40)
    decisions = pd.DataFrame({"referral_id": decided, "band": "low", "rag": "green",
                              "practitioner_rag": "green", "agrees_with_band": True,
                              "reason": None, "model_version": "1"})
    formed: list[int] = []
    family_groups = model.families.family_groups

    def counted(referrals: pd.DataFrame, members: pd.DataFrame | None = None) -> np.ndarray:
        formed.append(len(referrals))
        return family_groups(referrals, members)

    monkeypatch.setattr(model.families, "family_groups", counted)
    report = monitor_extract(risk_model, version="1", prepared=prepared, decisions=decisions,
                             since=first)
    assert formed == [len(prepared.features)]
    monkeypatch.undo()
    rows = window(prepared.features, start=first)
    apart = families_of(with_families(rows, prepared.features, prepared.members))
    assert report["window"]["effective_referrals"] == round(effective_referrals(rows, apart), 1)
    assert report["window"]["effective_referrals"] < len(rows)  # families do repeat here
