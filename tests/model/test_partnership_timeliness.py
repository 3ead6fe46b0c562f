"""The partnership report's summary: each agency's timeliness over the whole report
(`pipelines.timeliness.agency_timeliness`), and an agency whose recent reach is low
because its records arrive late told apart, in words, from one whose feed stopped
(`model.late_records.late_or_stopped`)."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from model.late_records import late_or_stopped
from model.record_falls import latest_recorded
from pipelines.timeliness import LateInformation, agency_timeliness


def _late_information(delays: dict[str, list[float]],
                      counts: dict[str, tuple[int, int]]) -> LateInformation:
    return LateInformation(
        by_referral=pd.DataFrame([{"referral_id": f"R{i}", "referral_date": "2025-01-01",
                                   "agency": agency, "informing": informing, "late": late}
                                  for i, (agency, (informing, late)) in enumerate(
                                      counts.items())]),
        delays=pd.DataFrame([{"agency": agency, "delay_days": day}
                             for agency, days in delays.items() for day in days]))


def test_timeliness_is_over_the_records_that_would_have_informed_a_referral() -> None:
    health = [90.0 + 15 * i for i in range(11)]  # 90 to 240 days
    table = agency_timeliness(_late_information(
        {"health": health, "police": [0.0, 0.0, 2.0, 9.0]},
        {"health": (200, 30), "police": (40, 1)}), window_days=90)
    assert table.loc["health", "median_delay_days"] == 165.0
    assert table.loc["health", "p90_delay_days"] == 225.0
    assert table.loc["health", "late_share"] == 0.15
    # Every record of a 90-day window unrecorded at its end: none arrives within 90 days.
    assert table.loc["health", "recent_unarrived_share"] == 1.0
    assert table.loc["police", "median_delay_days"] == 1.0
    assert table.loc["police", "recent_unarrived_share"] == (0 + 0 + 2 + 9) / 4 / 90
    # An agency without any record that would have informed a referral: nothing to say.
    assert table.loc["housing"].isna().all()


def _row(agency: str, median: float, p90: float, unarrived: float, recent_reach: float,
         shared: bool = True) -> dict[str, object]:
    return {"agency": agency, "median_delay_days": median, "p90_delay_days": p90,
            "late_share": 0.07, "recent_unarrived_share": unarrived,
            "recent_reach": recent_reach, "shared": shared}


def _stop(agency: str, since: str) -> dict[str, object]:
    return {"agency": agency, "from_quarter": since, "to_quarter": "2025Q1", "records": 0,
            "text": f"{agency}: no records recorded from {since} to the extract date"}


def test_a_late_agency_and_a_stopped_one_are_told_apart_in_words() -> None:
    overall = [_row("health", 165, 225, 1.0, 0.0), _row("housing", 0, 18, 0.06, 0.04),
               _row("police", 0, 8, 0.02, 0.3), _row("social_care", 1, 13, 0.05, 0.2),
               _row("probation", 0, 0, 0.0, 0.0, shared=False)]
    falls = [_stop("housing", "2024Q4"),
             # A fall that does not run to the extract date is no stop.
             {"agency": "police", "from_quarter": "2023Q2", "to_quarter": "2023Q2",
              "records": 0, "text": "police: no records recorded in 2023Q2"},
             {"agency": "social_care", "from_quarter": "2025Q1", "to_quarter": "2025Q1",
              "records": 12, "text": "social care: 12 records recorded in 2025Q1, ..."}]
    latest = {"health": dt.date(2025, 3, 30), "housing": dt.date(2024, 9, 28),
              "police": dt.date(2025, 3, 31)}
    found = late_or_stopped(overall, falls, latest, to_quarter="2025Q1", latest_days=182)
    assert [(f["agency"], f["late"], f["stopped"]) for f in found] == [
        ("health", True, False), ("housing", False, True)]
    health, housing = (f["text"] for f in found)
    assert health == (
        "Health's records arrive late (a median of 165 days after the event, about 5 months; "
        "90th percentile 225 days): about 100% of the records of the 90 days before a "
        "referral had not been recorded by it, so its recent reach (0.0%) is low because "
        "records of the last 90 days had mostly not arrived yet, not because it stopped "
        "sharing (its latest record was recorded on 2025-03-30).")
    assert housing == (
        "Housing stopped sharing: no records recorded after 2024-09-28 (none from 2024Q4 to "
        "the extract date). Its recent reach falls from then because no records arrive, "
        "not because its records arrive late (a median of 0 days after the event).")
    assert found[1]["latest_recorded"] == "2024-09-28"


def test_an_agency_both_late_and_stopped_is_said_to_be_both() -> None:
    found = late_or_stopped([_row("health", 120, 200, 0.9, 0.0)], [_stop("health", "2024Q3")],
                            {"health": dt.date(2024, 6, 30)}, to_quarter="2025Q1",
                            latest_days=182)
    assert [(f["late"], f["stopped"]) for f in found] == [(True, True)]
    assert found[0]["text"] == (
        "Health's records arrive late (a median of 120 days after the event, about 4 months; "
        "90th percentile 200 days) and its feed stopped: no records recorded after 2024-06-30 "
        "(none from 2024Q3 to the extract date). Its recent reach (0.0%) is low for "
        "both reasons.")


def test_a_delay_of_under_half_a_window_is_not_called_late() -> None:
    """Half the window's records unrecorded at the referral is not "mostly"."""
    assert late_or_stopped([_row("education", 40, 80, 0.5, 0.1)], [], {},
                           to_quarter="2025Q1", latest_days=182) == []


def _latest(row: dict[str, object], median: float, p90: float,
            unarrived: float) -> dict[str, object]:
    return {**row, "latest_records": 900, "latest_median_delay_days": median,
            "latest_p90_delay_days": p90, "latest_recent_unarrived_share": unarrived}


def test_records_late_only_in_the_latest_half_year_are_called_late() -> None:
    """Two probes' police records arrived about 100 days late in the last six months of a
    three-year extract: the whole period's median was 2 days, 3% of a window unrecorded,
    and the report named no late agency while the monitor did."""
    police = _latest(_row("police", 2, 3, 0.03, 0.367), 100, 100, 0.98)
    found = late_or_stopped([police], [], {"police": dt.date(2026, 11, 29)},
                            to_quarter="2026Q4", latest_days=182)
    assert [(f["agency"], f["late"], f["stopped"]) for f in found] == [("police", True, False)]
    assert found[0]["text"] == (
        "Police's records arrive late (those recorded in the latest 182 days: a median of "
        "100 days after the event, about 3 months; 90th percentile 100 days; over the whole "
        "period a median of 2 days): about 98% of the records of the 90 days before a "
        "referral had not been recorded by it, so its recent reach over the latest 182 days "
        "is low because records of the last 90 days had mostly not arrived yet, not because "
        "it stopped sharing (its latest record was recorded on 2026-11-29).")


def test_records_no_longer_late_are_not_called_late() -> None:
    """An agency late over the whole period whose latest half year arrives on time."""
    health = _latest(_row("health", 120, 200, 0.9, 0.2), 2, 5, 0.03)
    assert late_or_stopped([health], [], {}, to_quarter="2026Q4", latest_days=182) == []


def test_too_few_latest_records_leave_the_whole_period_to_judge() -> None:
    health = {**_row("health", 165, 225, 1.0, 0.0), "latest_records": 12,
              "latest_median_delay_days": None, "latest_p90_delay_days": None,
              "latest_recent_unarrived_share": None}
    [found] = late_or_stopped([health], [], {}, to_quarter="2026Q4", latest_days=182)
    assert found["late"] and "a median of 165 days after the event" in found["text"]


def test_the_latest_recorded_day_of_each_agency() -> None:
    per_day = pd.DataFrame({"agency": ["health", "health", "police"],
                            "day": pd.to_datetime(["2025-01-02", "2025-03-30", "2024-12-01"]),
                            "records": [3, 1, 2]})
    assert latest_recorded(per_day) == {"health": dt.date(2025, 3, 30),
                                        "police": dt.date(2024, 12, 1)}


def test_only_a_fall_where_lateness_was_judged_is_said_to_be_its_doing() -> None:
    """A fall years before an agency's records turned late is not the delay's doing."""
    from model.late_records import note_late_falls

    falls = [{"agency": "police", "from_quarter": q, "to_quarter": q, "records": n,
              "text": f"police: {n} records recorded in {q}"}
             for q, n in (("2022Q3", 120), ("2026Q3", 545))] + [
        {"agency": "police", "from_quarter": "2026Q4", "to_quarter": "2026Q4", "records": 0,
         "text": "police: no records recorded in 2026Q4"},
        {"agency": "housing", "from_quarter": "2026Q3", "to_quarter": "2026Q3", "records": 9,
         "text": "housing: 9 records recorded in 2026Q3"}]
    note_late_falls(falls, {"police": "2026Q2"})
    assert [f.get("late", False) for f in falls] == [False, True, False, False]
    assert falls[1]["text"].endswith("fewer recorded, not necessarily fewer shared")
    assert falls[0]["text"] == "police: 120 records recorded in 2022Q3"
