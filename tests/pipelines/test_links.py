"""Household links by example: every member of the subject's household counts, under its role."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd
import pytest

from pipelines import links
from pipelines.case import build_case_features
from pipelines.features import build_features
from pipelines.manifest import FEATURE_NAMES, count_feature_name
from tests.pipelines.factories import (
    case_payload_for,
    events_frame,
    random_extract,
    referral,
    referrals_frame,
)

OTHER_ADULT_DA_365 = count_feature_name("other_adults", "police", "domestic_abuse_incident",
                                        "365d")
PARENT_DA_365 = count_feature_name("parents_carers", "police", "domestic_abuse_incident", "365d")
CHILD_DA_365 = count_feature_name("children", "police", "domestic_abuse_incident", "365d")
SUBJECT_DA_365 = count_feature_name("subject", "police", "domestic_abuse_incident", "365d")


def _frames(members: list[tuple[str, str]], police: list[tuple[str, str, str | None]],
            refs: list[dict[str, Any]] | None = None) -> dict[str, pd.DataFrame]:
    """An extract of household h1 (subject p1) with the given members and police records."""
    return {
        "referrals": referrals_frame(refs or [referral(referral_date="2024-06-01")]),
        "household_members": pd.DataFrame(
            [("h1", "p1", "subject"), *[("h1", person, role) for person, role in members]],
            columns=["household_id", "person_id", "role"]),
        "events_police": events_frame([
            {"person_id": person, "event_date": happened, "recorded_date": recorded,
             "event_type": "domestic_abuse_incident", "value": None}
            for person, happened, recorded in police]),
    }


def _row(frames: dict[str, pd.DataFrame], referral_id: str = "R1") -> pd.Series:
    return build_features(frames).set_index("referral_id").loc[referral_id]


def test_an_other_adults_record_known_by_the_referral_counts_as_an_other_adults() -> None:
    frames = _frames([("lodger", "other_adult")], [("lodger", "2024-03-01", "2024-03-02")])
    row = _row(frames)
    assert row["household_other_adults_count"] == 1
    assert row[OTHER_ADULT_DA_365] == 1
    assert row[PARENT_DA_365] == 0 and row[CHILD_DA_365] == 0 and row[SUBJECT_DA_365] == 0
    assert row["police_records_held"] == 1
    assert row["household_police_days_since_latest_record"] == (  # from when it happened
        pd.Timestamp("2024-06-01") - pd.Timestamp("2024-03-01")).days


def test_an_old_incident_recorded_late_counts_where_it_happened_not_when_it_was_recorded(
) -> None:
    """A 2015 incident an agency recorded a week before the referral is known by then, so
    it counts, but it is ten years old: not "in the last 90 days", not 7 days ago (it
    was read so, and a DASH of 2015 escalated a case as recent)."""
    frames = _frames([], [("p1", "2015-03-01", "2024-05-25")])
    row = _row(frames)
    assert row[count_feature_name("subject", "police", "domestic_abuse_incident", "ever")] == 1
    for window in ("90d", "365d"):
        assert row[count_feature_name("subject", "police", "domestic_abuse_incident",
                                      window)] == 0
    assert row["subject_police_days_since_latest_record"] == (
        pd.Timestamp("2024-06-01") - pd.Timestamp("2015-03-01")).days


def test_an_other_adults_record_known_only_after_the_referral_does_not_count() -> None:
    frames = _frames([("lodger", "other_adult")], [("lodger", "2024-05-01", "2024-06-02")])
    row = _row(frames)
    assert row["household_other_adults_count"] == 1
    assert row[OTHER_ADULT_DA_365] == 0
    assert row["police_records_held"] == 0


def test_the_live_case_of_a_household_with_an_other_adult_gets_its_batch_row() -> None:
    frames = _frames([("lodger", "other_adult")], [("lodger", "2024-03-01", None)])
    batch = build_features(frames).set_index("referral_id").loc["R1", list(FEATURE_NAMES)]
    live = build_case_features(case_payload_for(frames, "R1"))[0]
    np.testing.assert_array_equal(live, batch.to_numpy(dtype=np.float64))
    assert live[FEATURE_NAMES.index(OTHER_ADULT_DA_365)] == 1


def test_each_role_counts_under_its_own_relation() -> None:
    frames = _frames(
        [("mum", "parent_carer"), ("lodger", "other_adult"), ("sib", "sibling"),
         ("cousin", "other_child")],
        [("mum", "2024-01-01", None), ("lodger", "2024-02-01", None),
         ("lodger", "2024-02-02", None), ("sib", "2024-03-01", None),
         ("cousin", "2024-03-02", None), ("p1", "2024-04-01", None)])
    row = _row(frames)
    assert (row["household_parents_carers_count"], row["household_other_adults_count"],
            row["household_children_count"]) == (1, 1, 2)
    assert (row[PARENT_DA_365], row[OTHER_ADULT_DA_365], row[CHILD_DA_365],
            row[SUBJECT_DA_365]) == (1, 2, 2, 1)


def test_a_person_listed_as_other_adult_and_child_counts_once_as_the_adult() -> None:
    frames = _frames([("lodger", "other_child"), ("lodger", "other_adult")],
                     [("lodger", "2024-02-01", None)])
    row = _row(frames)
    assert row["household_other_adults_count"] == 1 and row["household_children_count"] == 0
    assert row[OTHER_ADULT_DA_365] == 1 and row[CHILD_DA_365] == 0


def _adult_at_risk(**overrides: Any) -> dict[str, Any]:
    return referral(referral_date="2024-06-01", subject_type="adult_at_risk", age_years=69,
                    **overrides)


def test_an_adult_at_risks_co_resident_subject_counts_as_an_other_adult() -> None:
    """A 69-year-old's spouse, referred too (role `subject`), read as "1 other child in
    the household", their police records counted with the children's."""
    frames = _frames([("spouse", "subject")], [("spouse", "2024-03-01", None)],
                     refs=[_adult_at_risk()])
    row = _row(frames)
    assert (row["household_parents_carers_count"], row["household_other_adults_count"],
            row["household_children_count"]) == (0, 1, 0)
    assert (row[OTHER_ADULT_DA_365], row[CHILD_DA_365]) == (1, 0)


def test_a_childs_co_resident_subject_still_counts_as_a_child() -> None:
    frames = _frames([("brother", "subject")], [("brother", "2024-03-01", None)])
    row = _row(frames)
    assert (row["household_other_adults_count"], row["household_children_count"]) == (0, 1)
    assert (row[OTHER_ADULT_DA_365], row[CHILD_DA_365]) == (0, 1)


def test_one_household_of_a_child_and_an_adult_at_risk_each_counts_the_other_by_its_own_type(
) -> None:
    """Both referred from one household: for each referral the other counts with the
    referral's own group, and a live case gets the same row as the batch."""
    frames = _frames([("gran", "subject")], [("p1", "2024-02-01", None),
                                             ("gran", "2024-03-01", None)],
                     refs=[referral(referral_date="2024-06-01"),
                           _adult_at_risk(referral_id="R2", person_id="gran")])
    table = build_features(frames).set_index("referral_id")
    assert (table.loc["R1", OTHER_ADULT_DA_365], table.loc["R1", CHILD_DA_365]) == (0, 1)
    assert (table.loc["R2", OTHER_ADULT_DA_365], table.loc["R2", CHILD_DA_365]) == (1, 0)
    for referral_id in ("R1", "R2"):
        live = build_case_features(case_payload_for(frames, referral_id))[0]
        np.testing.assert_array_equal(
            live, table.loc[referral_id, list(FEATURE_NAMES)].to_numpy(dtype=np.float64))


@pytest.mark.parametrize(("roles", "counts"), [
    (("other_child", "subject"), (0, 1, 0)),  # the subject's group, an adult's, wins
    (("subject", "parent_carer"), (1, 0, 0)),  # a parent or carer is more adult still
])
def test_an_adult_at_risks_member_listed_twice_counts_once_in_the_most_adult_group(
    roles: tuple[str, str], counts: tuple[int, int, int]
) -> None:
    frames = _frames([("spouse", role) for role in roles], [], refs=[_adult_at_risk()])
    row = _row(frames)
    assert (row["household_parents_carers_count"], row["household_other_adults_count"],
            row["household_children_count"]) == counts


def test_an_other_adult_of_another_household_is_not_linked() -> None:
    frames = _frames([], [("lodger", "2024-02-01", None)])
    frames["household_members"] = pd.concat([frames["household_members"], pd.DataFrame(
        [("h2", "lodger", "other_adult")], columns=["household_id", "person_id", "role"])])
    row = _row(frames)
    assert row["household_other_adults_count"] == 0 and row[OTHER_ADULT_DA_365] == 0


def test_an_extract_whose_referrals_were_all_quarantined_gives_an_empty_table() -> None:
    frames = _frames([("lodger", "other_adult")], [("lodger", "2024-02-01", None)])
    frames["referrals"] = frames["referrals"].iloc[0:0]
    table = build_features(frames)
    assert len(table) == 0 and list(table.columns[-len(FEATURE_NAMES):]) == list(FEATURE_NAMES)


def test_a_member_listed_twice_counts_once_for_every_referral_of_the_household() -> None:
    frames = _frames(
        [("s1", "subject"), ("zed", "sibling"), ("lodger", "other_child"),
         ("lodger", "other_adult"), ("amy", "sibling"), ("amy", "other_child")],
        [("lodger", "2024-02-01", None), ("amy", "2024-02-02", None)],
        refs=[referral(referral_date="2024-06-01"),
              referral(referral_id="R2", person_id="s1", referral_date="2024-06-01")],
    )
    table = build_features(frames).set_index("referral_id")
    for referral_id in ("R1", "R2"):
        row = table.loc[referral_id]
        assert row["household_other_adults_count"] == 1, referral_id
        assert row["household_children_count"] == 3, referral_id  # the other subject, zed, amy
        assert (row[OTHER_ADULT_DA_365], row[CHILD_DA_365]) == (1, 1), referral_id


@pytest.mark.parametrize(("rows", "referrals"), [(1, 1000), (40, 3), (10**6, 7)])
def test_the_features_do_not_depend_on_how_the_build_is_chunked(
    monkeypatch: pytest.MonkeyPatch, rows: int, referrals: int
) -> None:
    """Chunks bound the working memory; a referral bigger than a chunk still gets its own."""
    frames = random_extract(50, seed=9)
    whole = build_features(frames)
    monkeypatch.setattr(links, "CHUNK_ROWS", rows)
    monkeypatch.setattr(links, "CHUNK_REFERRALS", referrals)
    pd.testing.assert_frame_equal(build_features(frames), whole)


@pytest.mark.parametrize("n_keys", [10, 1 << 16, 100_000, 1 << 33])
def test_stable_order_is_numpys_stable_argsort(n_keys: int) -> None:
    keys = np.random.default_rng(n_keys % 997).integers(0, min(n_keys, 1 << 20), 20_000)
    keys = np.concatenate([keys, keys[:5_000]])  # repeated keys: stability shows
    np.testing.assert_array_equal(links.stable_order(keys, n_keys),
                                  np.argsort(keys, kind="stable"))


def _first_chunks(chain: links.Links, records: links.Groups) -> list[tuple[int, int]]:
    """At most 10 chunks: a chunking that never advances must fail, not fill the memory."""
    return list(itertools.islice(links.chunks(chain, records, 7), 10))


def test_chunks_are_the_longest_runs_of_referrals_within_both_limits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Referrals 0-6 expand to 4, 6, 3 + 4, 12, 0, 10 and 1 (link, record) rows."""
    seven = np.arange(7)
    chain = links.Links(referral=np.r_[seven, 2], person=np.r_[seven, 7],
                        relation=np.r_[np.zeros(7, dtype=np.int64), links.CHILDREN])
    size = np.array([4, 6, 3, 12, 0, 10, 1, 4])
    records = links.Groups(order=np.arange(size.sum()), start=np.cumsum(size) - size, size=size)
    monkeypatch.setattr(links, "CHUNK_ROWS", 10)
    monkeypatch.setattr(links, "CHUNK_REFERRALS", 3)
    # A chunk may hold exactly CHUNK_ROWS rows; a referral bigger than that is one alone.
    assert _first_chunks(chain, records) == [(0, 2), (2, 3), (3, 4), (4, 6), (6, 7)]
    monkeypatch.setattr(links, "CHUNK_ROWS", 9)  # one row short of the first two together
    assert _first_chunks(chain, records) == [(r, r + 1) for r in range(7)]
    monkeypatch.setattr(links, "CHUNK_ROWS", 10**6)
    assert _first_chunks(chain, records) == [(0, 3), (3, 6), (6, 7)]
