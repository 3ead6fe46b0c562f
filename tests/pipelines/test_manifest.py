"""Every feature is attributed to the agency whose feed it is built from (per the contracts)."""

from __future__ import annotations

import numpy as np
import pytest

from data_contracts.vocab import AGENCIES, EVENT_TYPES, VALUED_EVENT_TYPES, event_feed
from pipelines.features import build_features
from pipelines.manifest import FEATURE_NAMES, manifest_records
from tests.pipelines.factories import random_extract

# The agency whose feed holds each event type, according to the feed specification.
AGENCY_OF_EVENT_TYPE = {event_type: agency
                        for agency, types in EVENT_TYPES.items() for event_type in types}
NOT_AN_AGENCY = "referral"  # details the referral itself carries


def test_the_contracts_give_every_event_type_one_agency() -> None:
    assert sum(len(types) for types in EVENT_TYPES.values()) == len(AGENCY_OF_EVENT_TYPE)


def test_every_event_feature_is_attributed_to_the_agency_whose_feed_holds_that_event() -> None:
    wrong = {record["name"]: (record["agency"], AGENCY_OF_EVENT_TYPE.get(record["event_type"]))
             for record in manifest_records()
             if record["event_type"] is not None
             and AGENCY_OF_EVENT_TYPE.get(record["event_type"]) != record["agency"]}
    assert wrong == {}, "feature: (manifest agency, agency of its event type in the contracts)"


def test_the_attendance_features_are_educations_valued_attendance_records() -> None:
    attendance = [r for r in manifest_records() if r["kind"] == "attendance"]
    assert attendance
    for record in attendance:
        assert (record["agency"], record["event_type"]) in VALUED_EVENT_TYPES


def test_every_agency_named_in_a_feature_name_is_its_agency() -> None:
    for record in manifest_records():
        named = [a for a in AGENCIES if f"_{a}_" in f"_{record['name']}_"]
        if named and record["kind"] != "context":  # e.g. referral_source_police
            assert named == [record["agency"]], record["name"]
        assert record["agency"] in (*AGENCIES, NOT_AN_AGENCY), record["name"]


@pytest.mark.parametrize("agency", AGENCIES)
def test_without_an_agencys_feed_only_that_agencys_features_change(agency: str) -> None:
    """What a feature is built from decides its agency: drop one feed, see what moves."""
    frames = random_extract(80, seed=5)
    full = build_features(frames).set_index("referral_id")[list(FEATURE_NAMES)]
    without = build_features({name: frame for name, frame in frames.items()
                              if name != event_feed(agency)})
    without = without.set_index("referral_id")[list(FEATURE_NAMES)]
    changed = [name for name in FEATURE_NAMES
               if not np.array_equal(full[name].to_numpy(dtype=np.float64),
                                     without[name].to_numpy(dtype=np.float64), equal_nan=True)]
    agency_of = {record["name"]: record["agency"] for record in manifest_records()}
    assert changed, f"the random extract holds no {agency} records"
    assert {name: agency_of[name] for name in changed if agency_of[name] != agency} == {}
    assert f"{agency}_records_held" in changed
