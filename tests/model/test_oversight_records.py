"""Response timescales read as hours, and override rates by model version."""

from __future__ import annotations

import pytest

from model.governance import load_governance
from model.overrides import DecisionRecord, override_direction, override_rates
from model.timescales import response_hours


@pytest.mark.parametrize(("text", "hours"), [
    ("Partner checks within 2 hours", 2.0),
    ("MASH checks completed within 24 hours", 24.0),
    ("Immediate strategy discussion; partner checks within 2 hours", 2.0),
    ("within 5 working days", 120.0),
    ("within 30 minutes, then 4 hours", 0.5),
    ("same day", None),
])
def test_the_shortest_duration_named_is_the_deadline(text: str, hours: float | None) -> None:
    assert response_hours(text) == hours


def test_every_shipped_band_has_a_deadline() -> None:
    governance, _ = load_governance()
    assert all(response_hours(band.response_timescale) for band in governance.bands)


def test_override_rates_count_raised_and_lowered_decisions_per_version() -> None:
    records = [DecisionRecord("2", "amber", "red"), DecisionRecord("2", "amber", "amber"),
               DecisionRecord("2", "red", "green"), DecisionRecord("10", "green", "green")]

    rates = override_rates(records)

    assert [r.model_version for r in rates] == ["2", "10"]
    assert (rates[0].decisions, rates[0].raised, rates[0].lowered) == (3, 1, 1)
    assert rates[0].rate == pytest.approx(2 / 3)
    assert rates[1].rate == 0.0 and override_rates([]) == []


@pytest.mark.parametrize(("service", "practitioner", "direction"), [
    ("amber", "red", "up"), ("red", "green", "down"), ("red", "red", "agreed"),
    ("green", "amber", "up")])
def test_a_decision_is_an_override_by_its_rag(service: str, practitioner: str,
                                               direction: str) -> None:
    assert override_direction(service, practitioner) == direction
