"""A version's acceptance thresholds against the board's: one loosened at training (a
settings file whoever trains chooses) is judged at the board's figure; one tightened, or
the board's own, is judged as trained."""

from __future__ import annotations

import dataclasses
import re

import pandas as pd
import pytest

from model.acceptance import unmet
from model.agreed_thresholds import looser_than_board
from model.card import acceptance_checks, build_card
from model.card_sources import CardSources
from model.governance import AcceptanceThresholds, default_settings_text, load_governance
from model.registry_records import VersionInfo
from model.threshold_checks import ThresholdCheck
from tests.model.fairness_fixture import fair_report

BOARD = load_governance()[0].acceptance  # the shipped settings: max_ece 0.05, min_roc_auc 0.7
# Met against the board's thresholds except where a test moves one figure.
METRICS = {"test_roc_auc": 0.81, "test_ece": 0.02}


def _trained_under(metrics: dict[str, float] = METRICS, **thresholds: float) -> CardSources:
    """A version's recorded sources, trained under the shipped settings with the given
    acceptance thresholds changed (a `safeguard train --governance FILE` of its own)."""
    text = default_settings_text()
    for name, value in thresholds.items():
        text, found = re.subn(rf"(?m)^{name} = .*$", f"{name} = {value}", text)
        assert found == 1, name
    info = VersionInfo(name="safeguard-risk", version="3", aliases=(), created_at=0,
                       run_id="run", source="", tags={}, metrics=metrics)
    return CardSources(info=info, params={}, model_document={"governance_toml": text},
                       training_report=None, calibration_png=None,
                       tables={"rates_by_band": pd.DataFrame(
                           [{"band": "very high", "referrals": 200, "outcome_rate": 0.5}])},
                       fairness=fair_report(), digests={}, extract_audit=fair_report())


def _by_name(sources: CardSources, board: AcceptanceThresholds | None
             ) -> dict[str, ThresholdCheck]:
    return {check.name: check for check in acceptance_checks(sources, board=board)}


def test_a_threshold_loosened_at_training_is_judged_at_the_boards_figure() -> None:
    sources = _trained_under({"test_roc_auc": 0.81, "test_ece": 0.08}, max_ece=0.10)
    [as_trained] = [c for c in acceptance_checks(sources) if c.name == "max_ece"]
    assert as_trained.met and as_trained.required == "<= 0.1"  # no board: as before
    checks = acceptance_checks(sources, board=BOARD)
    assert [c.name for c in unmet(checks)] == ["max_ece"]
    [check] = unmet(checks)
    assert check.required == "<= 0.05" and check.measured == pytest.approx(0.08)
    assert check.detail == "the board's threshold: the version was trained under <= 0.1"
    assert check.trained_threshold == 0.1 and check.threshold == 0.05
    # None added but the fairness audit of an extract's own (`model.audit_acceptance`).
    fairness = {n for n in AcceptanceThresholds.model_fields if n.startswith("max_") and
                n != "max_ece"}
    assert {c.name for c in checks} == set(AcceptanceThresholds.model_fields) | {
        f"audit_{name}" for name in fairness}


def test_a_loosened_threshold_says_so_even_when_the_version_meets_the_boards() -> None:
    checks = _by_name(_trained_under(min_roc_auc=0.5), BOARD)
    roc = checks["min_roc_auc"]
    assert roc.met and roc.required == ">= 0.7"
    assert roc.detail == "the board's threshold: the version was trained under >= 0.5"


def test_a_loosened_fairness_threshold_is_judged_at_the_boards_figure_too() -> None:
    sources = _trained_under(max_selection_rate_disparity=2.0)
    report = fair_report()
    report["groups"][1]["selection_rate_ratio"] = 1.6  # black: beyond 1.25, within 2
    report["groups"][1]["selection_rate_ratio_ci"] = [1.4, 1.8]
    audited = fair_report()  # the whole extract's audit: a finding, wholly beyond 1.25
    audited["groups"][1] |= {"selection_rate_ratio": 1.6, "selection_rate_ratio_ci": [1.4, 1.8],
                             "flags": ["selection_disparity"], "possible_flags": []}
    sources = dataclasses.replace(sources, fairness=report, extract_audit=audited)
    assert not unmet(acceptance_checks(sources))
    check, audit = unmet(acceptance_checks(sources, board=BOARD))
    assert check.name == "max_selection_rate_disparity" and check.required == "<= 1.25"
    assert check.detail.startswith("groups beyond it: Black subjects (selection rate ratio "
                                   "1.6)")
    assert check.detail.endswith("; the board's threshold: the version was trained "
                                 "under <= 2")
    # The audit of an extract judges the same threshold, at the board's figure too.
    assert audit.name == "audit_max_selection_rate_disparity" and audit.required == "<= 1.25"
    assert "groups beyond it: Black subjects (selection rate ratio 1.6" in audit.detail
    assert audit.detail.endswith("; the board's threshold: the version was trained under <= 2")
    assert audit.trained_threshold == 2.0


def test_a_version_trained_under_the_boards_settings_is_judged_as_before() -> None:
    sources = _trained_under({"test_roc_auc": 0.65, "test_ece": 0.09})
    assert acceptance_checks(sources, board=BOARD) == acceptance_checks(sources)
    assert build_card(sources, board=BOARD, generated_at=None).acceptance == build_card(
        sources, generated_at=None).acceptance


def test_a_threshold_tightened_at_training_is_judged_as_trained() -> None:
    sources = _trained_under(max_ece=0.01, min_roc_auc=0.85)
    checks = acceptance_checks(sources, board=BOARD)
    assert checks == acceptance_checks(sources)
    assert [c.name for c in unmet(checks)] == ["min_roc_auc", "max_ece"]
    assert [c.required for c in unmet(checks)] == [">= 0.85", "<= 0.01"]
    assert all("board" not in c.detail and c.trained_threshold is None for c in checks)


def test_the_published_card_judges_against_the_board_as_the_gate_does() -> None:
    sources = _trained_under({"test_roc_auc": 0.81, "test_ece": 0.08}, max_ece=0.10)
    card = build_card(sources, board=BOARD)
    [check] = unmet(list(card.acceptance))
    assert check.name == "max_ece" and "trained under <= 0.1" in check.detail


def test_every_threshold_has_a_looser_side() -> None:
    """A threshold is a minimum or a maximum by its name: a new one named otherwise would
    be read as a maximum, so the names are held to the rule."""
    assert all(name.startswith(("min_", "max_")) for name in AcceptanceThresholds.model_fields)
    looser = AcceptanceThresholds(min_roc_auc=0.6, max_ece=0.1, max_group_calibration_gap=0.01)
    assert looser_than_board(looser, BOARD) == {"min_roc_auc": 0.6, "max_ece": 0.1}
    assert looser_than_board(BOARD, looser) == {"max_group_calibration_gap": 0.05}
