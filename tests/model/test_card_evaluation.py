"""The card's evaluation: which referrals its figures come from (the test period's families
not seen in training), the whole test period's figures beside them, the very-high band's
precision judged only on enough referrals, and band and score rows too small to publish.

Figures from an independent probe's version 1: judged on 911 of 2,847 test-period
referrals; very-high precision 0.444 on 9 referrals; scores 19 and 20 on 7 and 2."""

from __future__ import annotations

import dataclasses
from typing import Any

import pandas as pd
import pytest

from api.model_card import card_markdown
from model.acceptance import unmet
from model.card import acceptance_checks, build_card
from model.card_sources import CardSources
from model.governance import default_settings_text
from model.registry_records import VersionInfo
from tests.model.fairness_fixture import fair_report

HELD_OUT = {"test_roc_auc": 0.746, "test_average_precision": 0.258, "test_brier": 0.074,
            "test_ece": 0.009, "test_outcome_rate": 0.088, "test_n": 911.0}
WHOLE_PERIOD = {"test_period_roc_auc": 0.738, "test_period_average_precision": 0.350,
                "test_period_brier": 0.117, "test_period_ece": 0.028,
                "test_period_outcome_rate": 0.153, "test_period_n": 2847.0}
SPLIT = {"train_referrals": 8517, "validation_referrals": 1118, "test_referrals": 911,
         "validation_from": "2024-06-28", "test_from": "2025-01-02",
         "test_left_out_seen_family": 1936, "test_period_referrals": 2847}


def _bands(very_high: int) -> pd.DataFrame:
    return pd.DataFrame({"band": ["low", "medium", "high", "very high"],
                         "referrals": [656, 176, 70, very_high],
                         "outcome_rate": [0.053, 0.136, 0.243, 0.444],
                         "mean_probability": [0.049, 0.121, 0.206, 0.382]})


def _scores() -> pd.DataFrame:
    counts = [86, 66, 82, 58, 71, 61, 62, 56, 58, 58, 43, 41, 43, 24, 30, 29, 18, 10, 7, 2]
    return pd.DataFrame({"score": range(1, 21), "referrals": counts,
                         "outcome_rate": [0.1] * 20, "mean_probability": [0.1] * 20})


def _sources(metrics: dict[str, float] | None = None, *, very_high: int = 9,
             split: dict[str, Any] | None = None) -> CardSources:
    info = VersionInfo(name="safeguard-risk", version="1", aliases=(), created_at=0,
                       run_id="run", source="", tags={},
                       metrics=HELD_OUT | WHOLE_PERIOD if metrics is None else metrics)
    return CardSources(info=info, params={},
                       model_document={"governance_toml": default_settings_text()},
                       training_report={"split": SPLIT if split is None else split},
                       tables={"rates_by_band": _bands(very_high), "rates_by_score": _scores()},
                       calibration_png=None, fairness=fair_report(), digests={})


def test_the_card_says_its_figures_come_from_families_not_seen_in_training_and_why() -> None:
    card = build_card(_sources())
    markdown = card_markdown(card)
    said = ("test period (from 2025-01-02): 911 referrals from families not seen in training "
            "(of 2,847 referrals in the test period)")
    assert f"Measured on the {said}" in markdown  # beside the acceptance thresholds
    assert f"**Which referrals these figures come from:** the {said}." in markdown
    assert "no family's outcomes both taught and judged the model" in markdown
    assert card.as_dict()["evaluated_on"]["text"] == said


def test_the_card_shows_the_whole_test_periods_figures_beside_the_subsets() -> None:
    markdown = card_markdown(build_card(_sources()))
    assert ("| Measure | Families not seen in training (911 referrals) | Whole test period "
            "(2,847 referrals) |") in markdown
    for line in ("| ROC AUC | 0.746 | 0.738 |", "| Brier score | 0.074 | 0.117 |",
                 "| Expected calibration error | 0.009 | 0.028 |",
                 "| Outcome rate | 0.088 | 0.153 |"):
        assert line in markdown, line


def test_a_version_trained_before_the_whole_period_was_measured_says_not_recorded() -> None:
    older = {k: v for k, v in SPLIT.items() if k != "test_period_referrals"}
    card = build_card(_sources(HELD_OUT, split=older))
    markdown = card_markdown(card)
    assert "| ROC AUC | 0.746 | not recorded |" in markdown
    assert "Whole test period (not recorded referrals)" in markdown
    assert "The whole test period's figures were not recorded for this version." in markdown
    assert card.evaluated_on is not None and not card.evaluated_on.whole_period_recorded
    assert "the test period's whole count not recorded" in card.evaluated_on.text


def test_a_very_high_precision_on_fewer_referrals_than_a_judgement_needs_is_not_met() -> None:
    [check] = [c for c in acceptance_checks(_sources()) if c.name ==
               "min_very_high_band_precision"]
    assert check.measured == pytest.approx(0.444) and not check.met and not check.judged
    assert check.detail.startswith("not judged (9 referrals, fewer than 100)")
    assert check in unmet(acceptance_checks(_sources()))  # a waiver must name it
    row = next(line for line in card_markdown(build_card(_sources())).splitlines()
               if line.startswith("| `min_very_high_band_precision`"))
    assert "not judged (9 referrals, fewer than 100)" in row and row.endswith("| not judged |")


def test_a_very_high_precision_on_enough_referrals_is_judged() -> None:
    [check] = [c for c in acceptance_checks(_sources(very_high=100))
               if c.name == "min_very_high_band_precision"]
    assert check.met and check.judged and check.detail == ""
    low = _sources(very_high=100)
    low.tables["rates_by_band"].loc[3, "outcome_rate"] = 0.2
    [missed] = [c for c in acceptance_checks(low) if c.name == "min_very_high_band_precision"]
    assert not missed.met and missed.judged


def test_a_band_table_without_counts_is_not_judged_either() -> None:
    sources = _sources()
    uncounted = dataclasses.replace(sources, tables={
        "rates_by_band": _bands(9).drop(columns="referrals")})
    [check] = [c for c in acceptance_checks(uncounted)
               if c.name == "min_very_high_band_precision"]
    assert not check.met and check.detail.startswith(
        "not judged (an unrecorded number of referrals, fewer than 100)")


def test_band_and_score_rows_under_the_suppression_threshold_show_counts_not_rates() -> None:
    card = build_card(_sources())
    withheld = "withheld: fewer than 10 referrals"
    very_high = card.rates_by_band[3]
    assert very_high["referrals"] == 9 and very_high["outcome_rate"] == withheld
    assert very_high["mean_probability"] == withheld
    assert [row["score"] for row in card.rates_by_score
            if row["outcome_rate"] == withheld] == [19, 20]
    assert card.rates_by_score[17]["outcome_rate"] == pytest.approx(0.1)  # 10 referrals: shown
    markdown = card_markdown(card)
    assert f"| very high | 9 | {withheld} | {withheld} |" in markdown
    assert f"| 20 | 2 | {withheld} | {withheld} |" in markdown
    assert "0.444" not in markdown.split("Outcome rates by band")[1].split("### Global")[0]
