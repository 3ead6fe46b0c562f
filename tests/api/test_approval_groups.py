"""What a fairness waiver covers: every group beyond the threshold, named in the refusal,
in the waiver's audit entry and on the card, so that a reason written about one group
cannot silently waive another (a probe's reason about deprivation deciles waived an
Asian selection disparity that the refusal never named)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from api.approval_history import approval_history
from api.approvals import ApprovalRefused, record_decision
from api.model_card import card_for, card_markdown, log_card
from api.roles import GOVERNANCE
from api.store import AuditEntry, Store, init_db
from model.acceptance import unmet
from model.card import ApprovalEntry, acceptance_checks
from model.card_sources import read_sources
from model.registry import ModelRegistry
from tests.api.conftest import TrainedModel, log_fairness_report, register_copy
from tests.model.fairness_fixture import fairness_group, fairness_report

DEPRIVATION = "subjects living in IMD deciles 1-2 (selection rate ratio 1.6)"
ASIAN = "Asian subjects (selection rate ratio 0.7)"


def _version_with_two_disparities(folder: Path, trained_model: TrainedModel) -> ModelRegistry:
    model = trained_model.loaded
    registry, version = register_copy(folder / "mlflow", model.model, model.golden, alias=None)
    report = fairness_report([
        fairness_group({"deprivation_group": "deciles_3_4"}, n=3000, reference=True),
        fairness_group({"deprivation_group": "deciles_1_2"}, ratio=1.6,
                       flags=("selection_disparity",)),
        fairness_group({"ethnicity_group": "white"}, n=3000, reference=True),
        fairness_group({"ethnicity_group": "asian"}, ratio=0.7,
                       flags=("selection_disparity",))])
    log_fairness_report(registry, version, report, folder / "fairness")
    log_card(registry, registry.resolve(version), board=None)
    return registry


def _waived(folder: Path, trained_model: TrainedModel
            ) -> tuple[ModelRegistry, Store, dict[str, str]]:
    """The version of two disparities, a fresh store, and a waiver of every unmet check
    reasoned about one of them."""
    registry = _version_with_two_disparities(folder, trained_model)
    url = f"sqlite:///{folder / 'api.db'}"
    init_db(url)
    waivers = {c.name: "deprivation deciles differ in need"
               for c in unmet(acceptance_checks(read_sources(registry, "1")))}
    return registry, Store(url), waivers


def _waiver_row(registry: ModelRegistry, history: list[ApprovalEntry]) -> str:
    """The card's approval-history row of the waiver `_waived` records."""
    card = card_for(registry, "1", history, board=None)
    [row] = [line for line in card_markdown(card).splitlines()
             if "deprivation deciles differ in need" in line]
    return row


def test_a_waiver_names_every_group_it_covers(tmp_path: Path,
                                              trained_model: TrainedModel) -> None:
    registry, store, waivers = _waived(tmp_path, trained_model)
    with store.session() as session:
        with pytest.raises(ApprovalRefused) as refused:
            record_decision(session, registry, user="gov", role=GOVERNANCE, version="1",
                            decision="approve", reason="pilot", board=None)
        assert (f"max_selection_rate_disparity (required <= 1.25, measured 1.6; groups beyond "
                f"it: {DEPRIVATION}; {ASIAN})") in str(refused.value)
        record_decision(session, registry, user="gov", role=GOVERNANCE, version="1",
                        decision="approve", reason="pilot", waivers=waivers, board=None)
        [entry] = [e for e in session.scalars(select(AuditEntry).where(
            AuditEntry.action == "model_waiver"))
            if e.details["threshold"] == "max_selection_rate_disparity"]
        assert [(g["group"], g["value"]) for g in entry.details["groups"]] == [
            ("subjects living in IMD deciles 1-2", 1.6), ("Asian subjects", 0.7)]
        history = approval_history(session, registry, "1", board=None)
    store.dispose()
    row = _waiver_row(registry, history)
    assert (f"max_selection_rate_disparity (covering {DEPRIVATION}; {ASIAN}): deprivation "
            "deciles differ in need") in row


def test_the_cards_history_says_a_rejection_is_in_force(tmp_path: Path,
                                                        trained_model: TrainedModel) -> None:
    """The card said "Still valid: no (version 1 was rejected ...)" of the rejection in
    force, as if it no longer held."""
    registry, store, waivers = _waived(tmp_path, trained_model)
    with store.session() as session:
        record_decision(session, registry, user="gov", role=GOVERNANCE, version="1",
                        decision="approve", reason="pilot", waivers=waivers, board=None)
        record_decision(session, registry, user="gov", role=GOVERNANCE, version="1",
                        decision="reject", reason="the Asian disparity needs review", board=None)
        history = approval_history(session, registry, "1", board=None)
    store.dispose()
    lines = card_markdown(card_for(registry, "1", history, board=None)).splitlines()
    [approval] = [line for line in lines if "| approve |" in line]
    [rejection] = [line for line in lines if "| reject |" in line]
    assert approval.endswith("| no (superseded by a later decision) |")
    assert rejection.endswith("| yes: the version may not be served |")
    assert "| In force |" in "\n".join(lines)


def test_a_measure_just_beyond_its_threshold_reads_beyond_it(tmp_path: Path,
                                                           trained_model: TrainedModel) -> None:
    """A largest disparity of 1.25004 fails "<= 1.25": the card's three decimals read
    "1.250" beside "NO", and the group's figure and the refusal's four significant
    digits "1.25"."""
    model = trained_model.loaded
    registry, version = register_copy(tmp_path / "mlflow", model.model, model.golden, alias=None)
    log_fairness_report(registry, version, fairness_report([
        fairness_group({"ethnicity_group": "white"}, n=3000, reference=True),
        fairness_group({"ethnicity_group": "black"}, ratio=1.25004,
                       flags=("selection_disparity",))]), tmp_path / "fairness")
    log_card(registry, registry.resolve(version), board=None)
    card = card_for(registry, version, [], board=None)
    [row] = [line for line in card_markdown(card).splitlines()
             if line.startswith("| `max_selection_rate_disparity`")]
    assert "| <= 1.25 | 1.25004 (groups beyond it" in row and row.endswith("| NO |")
    assert "Black subjects (selection rate ratio 1.25004)" in row
    init_db(url := f"sqlite:///{tmp_path / 'api.db'}")
    store = Store(url)
    with store.session() as session, pytest.raises(ApprovalRefused) as refused:
        record_decision(session, registry, user="gov", role=GOVERNANCE, version=version,
                        decision="approve", reason="pilot", board=None)
    store.dispose()
    assert "max_selection_rate_disparity (required <= 1.25, measured 1.25; " not in str(
        refused.value)
    assert "max_selection_rate_disparity (required <= 1.25, measured 1.25004; " in str(
        refused.value)


def test_the_history_shows_what_a_waiver_covered_when_given_not_the_reports_of_now(
        tmp_path: Path, trained_model: TrainedModel) -> None:
    """The probe's card described the first approval's waiver with a later audit's groups
    and figures: it covered the groups of the report it was given against."""
    registry, store, waivers = _waived(tmp_path, trained_model)
    with store.session() as session:
        record_decision(session, registry, user="gov", role=GOVERNANCE, version="1",
                        decision="approve", reason="pilot", waivers=waivers, board=None)
    # A later report (as a later audit replaces `fairness_audit/fairness.json`): other
    # groups, another figure.
    log_fairness_report(registry, "1", fairness_report([
        fairness_group({"ethnicity_group": "white"}, n=3000, reference=True),
        fairness_group({"ethnicity_group": "black"}, ratio=1.9,
                       flags=("selection_disparity",))]), tmp_path / "later")
    with store.session() as session:
        history = approval_history(session, registry, "1", board=None)
    store.dispose()
    row = _waiver_row(registry, history)
    assert (f"max_selection_rate_disparity (covering {DEPRIVATION}; {ASIAN}): deprivation "
            "deciles differ in need") in row
    assert "Black subjects" not in row and "1.9" not in row
    assert "fairness/fairness.json changed" in row  # the approval no longer holds
