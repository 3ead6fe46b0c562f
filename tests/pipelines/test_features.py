"""Point-in-time feature build: the rule, the household, the edge cases, one code path."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data_contracts.vocab import AGENCIES, EVENT_TYPES
from pipelines import features as features_module
from pipelines.case import build_case_features, build_cases_features
from pipelines.features import AUDIT_COLUMNS, build_features, compute_features
from pipelines.manifest import FEATURE_NAMES, count_feature_name
from pipelines.manifest_lookup import feature_blocks
from tests.pipelines.factories import (
    case_payload_for,
    events_frame,
    random_extract,
    referral,
    referrals_frame,
)

DA_SUBJECT_EVER = count_feature_name("subject", "police", "domestic_abuse_incident", "ever")
DA_PARENT_365 = count_feature_name("parents_carers", "police", "domestic_abuse_incident", "365d")


def _event(person: str, event_date: str, recorded: str | None = None, *,
           event_type: str = "domestic_abuse_incident", value: float | None = None
           ) -> dict[str, Any]:
    return {"person_id": person, "event_date": event_date, "recorded_date": recorded,
            "event_type": event_type, "value": value}


def _members(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["household_id", "person_id", "role"])


def _features(referrals: list[dict[str, Any]], *, members: pd.DataFrame | None = None,
              police: list[dict[str, Any]] | None = None,
              **agency_events: list[dict[str, Any]]) -> pd.DataFrame:
    frames: dict[str, pd.DataFrame] = {"referrals": referrals_frame(referrals)}
    if members is not None:
        frames["household_members"] = members
    if police is not None:
        frames["events_police"] = events_frame(police)
    for agency, rows in agency_events.items():
        frames[f"events_{agency}"] = events_frame(rows)
    return build_features(frames).set_index("referral_id")


def test_table_has_one_row_per_referral_audit_columns_then_manifest_order() -> None:
    frames = random_extract(60, seed=3)
    table = build_features(frames)
    assert list(table.columns) == list(AUDIT_COLUMNS) + list(FEATURE_NAMES)
    assert table["referral_id"].tolist() == frames["referrals"]["referral_id"].tolist()


def test_the_table_follows_the_referrals_rows_whatever_index_their_frame_carries() -> None:
    # A caller's own frame (a bench, a notebook): rows left after a filter, or indexed by
    # referral_id with the column kept. The table is the same, numbered from 0.
    frames = random_extract(60, seed=3)
    expected = build_features(frames)
    referrals = frames["referrals"]
    for indexed in (referrals.set_axis(referrals.index * 2 + 7),
                    referrals.set_index("referral_id", drop=False)):
        pd.testing.assert_frame_equal(build_features({**frames, "referrals": indexed}), expected)


def test_record_recorded_after_referral_is_ignored_even_if_it_happened_before() -> None:
    table = _features([referral(referral_date="2024-06-01")], police=[
        _event("p1", "2024-05-01", "2024-05-01"),
        _event("p1", "2024-05-20", "2024-06-02"),  # happened before, known the day after
        _event("p1", "2024-07-01"),  # after the referral
    ])
    assert table.loc["R1", DA_SUBJECT_EVER] == 1


def test_record_on_the_referral_day_counts() -> None:
    table = _features([referral(referral_date="2024-06-01")],
                      police=[_event("p1", "2024-06-01")])
    assert table.loc["R1", DA_SUBJECT_EVER] == 1
    assert table.loc["R1", "subject_police_domestic_abuse_incident_days_since_latest"] == 0


def test_windows_count_only_recent_records() -> None:
    table = _features([referral(referral_date="2024-06-01")], police=[
        _event("p1", "2024-05-01"), _event("p1", "2023-12-01"), _event("p1", "2020-01-01"),
    ])
    row = table.loc["R1"]
    assert row[count_feature_name("subject", "police", "domestic_abuse_incident", "90d")] == 1
    assert row[count_feature_name("subject", "police", "domestic_abuse_incident", "365d")] == 2
    assert row[DA_SUBJECT_EVER] == 3


def test_household_member_record_counts_for_every_referral_of_that_household_only() -> None:
    members = _members([("h1", "p1", "subject"), ("h1", "s1", "sibling"),
                        ("h1", "mum", "parent_carer"), ("h2", "p2", "subject")])
    refs = [referral(), referral(referral_id="R2", person_id="s1"),
            referral(referral_id="R3", person_id="p2", household_id="h2")]
    table = _features(refs, members=members, police=[_event("mum", "2024-03-01")])
    assert table.loc["R1", DA_PARENT_365] == 1
    assert table.loc["R2", DA_PARENT_365] == 1
    assert table.loc["R3", DA_PARENT_365] == 0
    assert table.loc["R1", DA_SUBJECT_EVER] == 0


def test_sibling_referral_sees_the_subject_as_a_household_child() -> None:
    members = _members([("h1", "p1", "subject"), ("h1", "s1", "subject")])
    refs = [referral(), referral(referral_id="R2", person_id="s1")]
    table = _features(refs, members=members, police=[_event("p1", "2024-03-01")])
    children_da = count_feature_name("children", "police", "domestic_abuse_incident", "ever")
    assert table.loc["R2", children_da] == 1
    assert table.loc["R1", children_da] == 0
    assert table.loc["R1", "household_children_count"] == 1


def test_no_records_and_missing_agencies_are_distinguishable_from_nothing_concerning() -> None:
    table = _features([referral(), referral(referral_id="R2", person_id="p9", household_id=None)],
                      health=[_event("p1", "2024-01-01", event_type="missed_appointment")])
    assert table.loc["R1", "health_records_held"] == 1
    assert table.loc["R1", "police_records_held"] == 0
    assert table.loc["R2", "health_records_held"] == 0
    assert (table.loc["R2", [c for c in FEATURE_NAMES if c.endswith("_records_held")]] == 0).all()
    assert np.isnan(table.loc["R2", "subject_health_days_since_latest_record"])


def test_household_of_one_and_empty_extract_of_events() -> None:
    members = _members([("h1", "p1", "subject")])
    table = _features([referral()], members=members)
    assert table.loc["R1", "household_known"] == 1
    assert table.loc["R1", "household_parents_carers_count"] == 0
    counts = [c for c in FEATURE_NAMES if c.endswith(("_90d", "_365d", "_ever"))
              and "previous_referrals" not in c]
    assert (table.loc["R1", counts] == 0).all()


def test_latest_attendance_is_the_latest_term_known_at_referral() -> None:
    education = [
        _event("p1", "2023-12-20", event_type="attendance_rate", value=81.0),
        _event("p1", "2024-04-01", event_type="attendance_rate", value=95.0),
        _event("p1", "2024-05-25", "2024-06-10", event_type="attendance_rate", value=40.0),
    ]
    table = _features([referral()], education=education)
    assert table.loc["R1", "subject_latest_attendance_pct"] == 95.0


def test_previous_referrals_count_only_earlier_ones() -> None:
    refs = [referral(referral_id="A", referral_date="2023-01-01"),
            referral(referral_id="B", referral_date="2024-01-01"),
            referral(referral_id="C", referral_date="2024-06-01")]
    table = _features(refs)
    assert table.loc["A", "subject_previous_referrals_ever"] == 0
    assert table.loc["C", "subject_previous_referrals_ever"] == 2
    assert table.loc["C", "subject_previous_referrals_365d"] == 1
    assert table.loc["C", "subject_days_since_previous_referral"] == 152


def test_protected_characteristics_are_carried_but_not_default_features() -> None:
    from pipelines.manifest import model_feature_names

    table = _features([referral(ethnicity_group="black", imd_decile=None)])
    assert table.loc["R1", "ethnicity_group"] == "black"
    assert table.loc["R1", "ethnicity_black"] == 1
    assert "ethnicity_black" not in model_feature_names()
    assert "ethnicity_black" in model_feature_names(use_protected_characteristics=True)


def test_single_case_path_returns_exactly_the_batch_row() -> None:
    frames = random_extract(200, seed=11)
    table = build_features(frames).set_index("referral_id")
    for referral_id in table.sample(40, random_state=1).index:
        live = build_case_features(case_payload_for(frames, referral_id))
        batch = table.loc[referral_id, list(FEATURE_NAMES)].to_numpy(dtype=np.float32)
        np.testing.assert_array_equal(live[0], batch)


def test_cases_featured_together_get_exactly_their_own_rows() -> None:
    """Several live cases in one pass: each row is its case's alone, even when cases share
    people (the same referral twice, households and none mixed)."""
    frames = random_extract(200, seed=12)
    ids = list(frames["referrals"]["referral_id"].sample(30, random_state=2))
    payloads = [case_payload_for(frames, referral_id) for referral_id in ids + ids[:3]]
    assert {p["referral"]["household_id"] is None for p in payloads} == {True, False}
    together = build_cases_features(payloads)
    alone = np.vstack([build_case_features(payload) for payload in payloads])
    assert together.shape == (33, len(FEATURE_NAMES))
    np.testing.assert_array_equal(together, alone)
    with pytest.raises(ValueError, match="at least one case"):
        build_cases_features([])


def _as_date_objects(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload as the API hands it on: dates as `datetime.date`, missing ones None."""
    def day(value: Any) -> date | None:
        return date.fromisoformat(value) if value else None

    return {
        **payload,
        "referral": {**payload["referral"],
                     "referral_date": day(payload["referral"]["referral_date"])},
        "events": [{**e, "event_date": day(e["event_date"]),
                    "recorded_date": day(e.get("recorded_date"))} for e in payload["events"]],
        "previous_referrals": [{**p, "referral_date": day(p["referral_date"])}
                               for p in payload["previous_referrals"]],
    }


def _as_timestamps(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload's records with pandas Timestamps for dates, NaT where one is missing."""
    def moment(value: Any) -> Any:
        return pd.Timestamp(value) if value else pd.NaT

    return {**payload, "events": [{**e, "event_date": moment(e["event_date"]),
                                   "recorded_date": moment(e.get("recorded_date"))}
                                  for e in payload["events"]]}


def test_a_case_with_date_objects_timestamps_text_or_outsiders_records_gets_the_same_row() -> None:
    frames = random_extract(200, seed=13)
    for referral_id in frames["referrals"]["referral_id"].sample(25, random_state=3):
        payload = case_payload_for(frames, referral_id)
        for event in payload["events"][::3]:
            event["recorded_date"] = event["event_date"]
        expected = build_case_features(payload)
        for event in payload["events"][::3]:  # no recorded date: known from the event date
            event["recorded_date"] = ""
        outsider = {"agency": "police", "person_id": "not-in-the-household",
                    "event_date": "2020-01-01", "recorded_date": None,
                    "event_type": "not-a-type", "value": None}
        payload["events"].insert(len(payload["events"]) // 2, outsider)
        np.testing.assert_array_equal(build_case_features(payload), expected)
        np.testing.assert_array_equal(build_case_features(_as_date_objects(payload)), expected)
        np.testing.assert_array_equal(build_case_features(_as_timestamps(payload)), expected)
        outsider.update(event_date="not a date", value="not a number")  # not even read
        np.testing.assert_array_equal(build_case_features(payload), expected)


def test_a_record_outside_the_vocabulary_about_the_case_is_named() -> None:
    frames = random_extract(60, seed=5)
    referral_id = frames["referrals"]["referral_id"].iloc[0]
    payload = case_payload_for(frames, referral_id)
    subject = payload["referral"]["person_id"]
    payload["events"].append({"agency": "police", "person_id": subject,
                              "event_date": "2020-01-01", "event_type": "not-a-type"})
    with pytest.raises(KeyError, match="not-a-type"):
        build_case_features(payload)


_AGENCY_TYPES = [(a, t) for a in AGENCIES for t in EVENT_TYPES[a] if t != "attendance_rate"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    agency_type=st.sampled_from(_AGENCY_TYPES),
    who=st.sampled_from(["p1", "mum", "sib", "lodger"]),
    event_offset=st.integers(min_value=-800, max_value=30),
    lag=st.integers(min_value=0, max_value=60),
    seed=st.integers(min_value=0, max_value=10_000),
)
def test_point_in_time_rule_for_any_added_record(
    agency_type: tuple[str, str], who: str, event_offset: int, lag: int, seed: int,
) -> None:
    """Adding a record known after the referral changes nothing; one known by then counts."""
    agency, event_type = agency_type
    frames = random_extract(30, seed=seed, events_per_person=3)
    members = _members([("hx", "p1", "subject"), ("hx", "mum", "parent_carer"),
                        ("hx", "sib", "sibling"), ("hx", "lodger", "other_adult")])
    frames["household_members"] = pd.concat([frames["household_members"], members])
    target = referral(referral_id="TARGET", household_id="hx", referral_date="2024-06-01")
    frames["referrals"] = pd.concat([frames["referrals"], referrals_frame([target])],
                                    ignore_index=True)
    before = build_features(frames).set_index("referral_id").loc["TARGET"]
    referral_day = pd.Timestamp("2024-06-01")
    event_day = referral_day + pd.Timedelta(days=event_offset)
    recorded = event_day + pd.Timedelta(days=lag)
    feed = f"events_{agency}"
    added = events_frame([_event(who, event_day.date().isoformat(), recorded.date().isoformat(),
                                 event_type=event_type)])
    frames[feed] = pd.concat([frames.get(feed, added.iloc[0:0]), added], ignore_index=True)
    after = build_features(frames).set_index("referral_id").loc["TARGET"]
    relation = {"p1": "subject", "mum": "parents_carers", "sib": "children",
                "lodger": "other_adults"}[who]
    ever = count_feature_name(relation, agency, event_type, "ever")
    if recorded > referral_day:
        pd.testing.assert_series_equal(before, after)
    else:
        assert after[ever] == before[ever] + 1
        assert after[f"{agency}_records_held"] == 1


@pytest.mark.parametrize("subject_type,age", [("child", 0), ("adult_at_risk", 95)])
def test_context_features(subject_type: str, age: int) -> None:
    table = _features([referral(subject_type=subject_type, age_years=age,
                                presenting_need="exploitation", referral_source="anonymous")])
    row = table.loc["R1"]
    assert row["age_years"] == age
    assert row["subject_is_adult_at_risk"] == (subject_type == "adult_at_risk")
    assert row["presenting_need_exploitation"] == 1 and row["presenting_need_other"] == 0
    assert row["referral_source_anonymous"] == 1


def test_a_released_extract_is_emptied_once_encoded_and_gives_the_same_table(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    frames = random_extract(40, seed=5)
    kept = dict(frames)
    table = build_features(frames)
    assert list(frames) == list(kept)  # not asked to: the caller's feeds stay
    assert all(frames[name] is kept[name] for name in kept)
    seen: list[int] = []

    def count_feeds_left(enc: Any, **kwargs: Any) -> np.ndarray:
        seen.append(len(frames))
        return compute_features(enc, **kwargs)

    monkeypatch.setattr(features_module, "compute_features", count_feeds_left)
    released = build_features(frames, release=True)
    assert seen == [0] and frames == {}  # let go before the matrix is built
    pd.testing.assert_frame_equal(released, table)


def test_the_build_reports_each_stage_as_it_starts() -> None:
    stages: list[str] = []
    build_features(random_extract(10, seed=4), progress=stages.append)
    assert stages == ["encoding feeds", "linking households",
                      "joining and counting agency records", "history and context"]


def test_the_features_are_float32_columns_that_the_table_wraps_without_a_copy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Column-major float32: each feature a contiguous column, shared with the table."""
    built: list[np.ndarray] = []

    def keep(enc: Any, **kwargs: Any) -> np.ndarray:
        built.append(compute_features(enc, **kwargs))
        return built[-1]

    monkeypatch.setattr(features_module, "compute_features", keep)
    table = build_features(random_extract(20, seed=6))
    (matrix,) = built
    assert matrix.dtype == np.float32 and matrix.flags.f_contiguous
    assert (table[list(FEATURE_NAMES)].dtypes == np.float32).all()
    assert np.shares_memory(matrix, table[FEATURE_NAMES[-1]].to_numpy())


def test_a_manifest_whose_blocks_differ_from_what_the_build_writes_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert features_module._column_blocks() == feature_blocks()
    widened = {**feature_blocks(), "attendance": slice(499, 502)}
    monkeypatch.setattr(features_module, "feature_blocks", lambda: widened)
    with pytest.raises(RuntimeError, match=r"differ from what the feature build writes: "
                                           r"\{'attendance': \(3, 2\)\}"):
        features_module._column_blocks()


def test_windows_and_previous_referrals_end_the_day_before_the_window_length() -> None:
    """90 days before the referral is outside the 90-day window; 89 days is inside."""
    refs = [referral(referral_id="OLD", referral_date="2024-03-03"),
            referral(referral_id="RECENT", referral_date="2024-03-04"),
            referral(referral_id="R1", referral_date="2024-06-01")]
    table = _features(refs, police=[_event("p1", "2024-03-03"), _event("p1", "2024-03-04")])
    row = table.loc["R1"]
    assert row[count_feature_name("subject", "police", "domestic_abuse_incident", "90d")] == 1
    assert row[DA_SUBJECT_EVER] == 2
    assert row["subject_police_domestic_abuse_incident_days_since_latest"] == 89
    assert (row["subject_previous_referrals_90d"], row["subject_previous_referrals_365d"],
            row["subject_previous_referrals_ever"]) == (1, 2, 2)
    assert row["subject_days_since_previous_referral"] == 89
    assert np.isnan(table.loc["OLD", "subject_days_since_previous_referral"])


def test_earlier_referrals_of_household_members_count_and_history_can_be_given() -> None:
    members = _members([("h1", "p1", "subject"), ("h1", "s1", "sibling"),
                        ("h1", "mum", "parent_carer")])
    refs = [referral(referral_id="S-BEFORE", person_id="s1", referral_date="2023-01-01"),
            referral(referral_id="MUM", person_id="mum", referral_date="2024-02-01"),
            referral(referral_id="S-AFTER", person_id="s1", referral_date="2024-07-01"),
            referral(referral_id="R1", referral_date="2024-06-01")]
    table = _features(refs, members=members)
    assert table.loc["R1", "household_previous_referrals_ever"] == 2
    assert table.loc["R1", "subject_previous_referrals_ever"] == 0
    assert table.loc["S-AFTER", "subject_previous_referrals_ever"] == 1
    frames = {"referrals": referrals_frame(refs[-1:]), "household_members": members}
    history = referrals_frame([*refs[:2], referral(referral_id="P", referral_date="2022-05-01")])
    given_history = build_features(frames, history=history).set_index("referral_id").loc["R1"]
    assert given_history["household_previous_referrals_ever"] == 2
    assert given_history["subject_previous_referrals_ever"] == 1
    assert given_history["subject_days_since_previous_referral"] == 762


def test_household_previous_referrals_add_up_each_members_earlier_referrals() -> None:
    # A sum over the members, not one per member: a member referred three times before
    # counts 3, a member never referred counts 0.
    members = _members([("h1", "p1", "subject"), ("h1", "s1", "sibling"),
                        ("h2", "p2", "subject"), ("h2", "dad", "parent_carer")])
    refs = [*(referral(referral_id=f"S{i}", person_id="s1", household_id=None,
                       referral_date=day)
              for i, day in enumerate(["2022-03-01", "2023-01-01", "2023-09-01"])),
            referral(referral_id="R1", referral_date="2024-06-01"),
            referral(referral_id="R2", person_id="p2", household_id="h2",
                     referral_date="2024-06-01")]
    table = _features(refs, members=members)
    assert table.loc["R1", "household_previous_referrals_ever"] == 3
    assert table.loc["R2", "household_previous_referrals_ever"] == 0


def test_latest_attendance_goes_by_term_date_then_by_the_latest_known() -> None:
    members = _members([("h1", "p1", "subject"), ("h1", "s3", "other_child"),
                        ("h1", "s2", "other_child"), ("h1", "s1", "sibling"),
                        ("h1", "mum", "parent_carer")])  # s1's two terms come last
    education = [
        _event("p1", "2024-04-01", "2024-04-01", event_type="attendance_rate", value=95.0),
        _event("p1", "2024-04-01", "2024-04-20", event_type="attendance_rate", value=70.0),
        _event("p1", "2023-12-20", event_type="attendance_rate", value=50.0),
        _event("s1", "2024-05-01", event_type="attendance_rate", value=88.0),
        _event("s1", "2024-01-01", event_type="attendance_rate", value=20.0),
        _event("s2", "2024-03-01", event_type="attendance_rate", value=60.0),
        _event("s2", "2024-05-20", "2024-06-20", event_type="attendance_rate", value=10.0),
        _event("mum", "2024-05-01", event_type="attendance_rate", value=5.0),
        _event("s3", "2024-05-02", event_type="attendance_rate"),  # no value: not a 0
    ]
    table = _features([referral(), referral(referral_id="R2", person_id="p9", household_id=None)],
                      members=members, education=education)
    assert table.loc["R1", "subject_latest_attendance_pct"] == 70.0  # corrected on 20 April
    assert table.loc["R1", "children_lowest_latest_attendance_pct"] == 60.0
    assert np.isnan(table.loc["R2", "subject_latest_attendance_pct"])
    assert np.isnan(table.loc["R2", "children_lowest_latest_attendance_pct"])


def test_the_first_category_of_each_vocabulary_is_one_hot_encoded_too() -> None:
    row = _features([referral(presenting_need="abuse_neglect", ethnicity_group="asian")]).loc["R1"]
    assert (row["presenting_need_abuse_neglect"], row["referral_source_police"],
            row["sex_female"], row["ethnicity_asian"]) == (1, 1, 1, 1)
    assert row[[c for c in FEATURE_NAMES if c.startswith(("sex_", "ethnicity_"))]].sum() == 2


def test_a_household_known_only_when_household_members_lists_it() -> None:
    """A household named but listed nowhere (or the feed absent) is not known: its counts
    of people read 0, which is not 'no other children in the household'."""
    referrals = [referral(referral_id="R1", person_id="p1", household_id="h1"),
                 referral(referral_id="R2", person_id="p2", household_id="h2"),
                 referral(referral_id="R3", person_id="p3", household_id=None)]
    members = _members([("h1", "p1", "subject"), ("h1", "m1", "parent_carer")])
    listed = _features(referrals, members=members)
    assert listed["household_known"].tolist() == [1.0, 0.0, 0.0]
    assert listed["household_parents_carers_count"].tolist() == [1.0, 0.0, 0.0]
    assert _features(referrals)["household_known"].tolist() == [0.0, 0.0, 0.0]
    frames = {"referrals": referrals_frame(referrals), "household_members": members}
    table = build_features(frames).set_index("referral_id")
    for referral_id in ("R1", "R2", "R3"):  # the live path judges a case the same way
        live = build_case_features(case_payload_for(frames, referral_id))
        np.testing.assert_array_equal(
            live[0], table.loc[referral_id, list(FEATURE_NAMES)].to_numpy(dtype=np.float32))
