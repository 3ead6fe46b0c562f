"""Which golden cases name a person, and a registry search that never reads "could not
search" as "nothing held"."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from model.golden_people import golden_cases_naming, search_golden_sets
from model.registry import RegistryError, RegistryUnavailable
from model.registry_records import VersionInfo


def _case(subject: str = "S1", **payload: Any) -> dict[str, Any]:
    return {"payload": {"referral": {"referral_id": f"R-{subject}", "person_id": subject,
                                     "referral_date": "2024-01-02"},
                        "household_members": [], "events": [], "previous_referrals": [],
                        **payload},
            "expected": {"raw_score": 0.0, "probability": 0.1, "score": 3, "band": "low"}}


def test_each_role_a_golden_case_can_give_a_person() -> None:
    case = _case(household_members=[{"person_id": "S1", "role": "subject"},
                                    {"person_id": "M1", "role": "subject"},
                                    {"person_id": "M2", "role": "sibling"}],
                 events=[{"agency": "police", "person_id": "M2", "event_type": "arrest",
                          "event_date": "2023-05-01", "recorded_date": None, "value": None}],
                 previous_referrals=[{"referral_id": "R-0", "person_id": "M1",
                                      "referral_date": "2022-01-01"}])
    [subject] = golden_cases_naming([case], "S1")
    assert subject.roles == ["case_subject"] and subject.requester_is_subject
    assert subject.referral == case["payload"]["referral"]
    assert subject.expected_rating == {"score": 3, "band": "low"}
    [member] = golden_cases_naming([case], "M1")
    assert member.roles == ["subject", "earlier_referral"] and member.referral is None
    assert member.earlier_referrals == [{"referral_id": "R-0", "referral_date": "2022-01-01"}]
    [sibling] = golden_cases_naming([case], "M2")
    assert sibling.roles == ["sibling", "agency_records"]
    assert [r["event_type"] for r in sibling.agency_records] == ["arrest"]
    assert golden_cases_naming([case], "S") == []  # a prefix is another token


@dataclass
class FakeRegistry:
    """Versions and their golden files; `down_after` reads, the registry goes away."""

    files: dict[str, bytes | None | Exception]
    down_after: int | None = None
    reads: list[str] = field(default_factory=list)

    def list_versions(self) -> list[VersionInfo]:
        if self.down_after == 0:
            raise RegistryUnavailable("the model registry at http://x cannot be reached")
        return [VersionInfo("m", v, (), 0, "run", "src", {}) for v in self.files]

    def read_artifact(self, version: str, path: str) -> bytes | None:
        assert path == "risk_model/golden_cases.json"
        self.reads.append(version)
        if self.down_after is not None and len(self.reads) > self.down_after:
            raise RegistryUnavailable("the model registry at http://x cannot be reached")
        found = self.files[version]
        if isinstance(found, Exception):
            raise found
        return found


def test_versions_naming_the_person_and_those_that_could_not_be_read() -> None:
    registry = FakeRegistry({"4": json.dumps([_case("S1")]).encode(),
                             "3": json.dumps([_case("S2")]).encode(), "2": None,
                             "1": RegistryError("its run's artefact folder is missing")})
    found = search_golden_sets(registry, "S1")  # type: ignore[arg-type]
    assert found.searched and found.versions_searched == ["4", "3", "2", "1"]
    assert [v.version for v in found.versions] == ["4"]
    assert sorted(found.unreadable) == ["1", "2"]
    assert "artefact folder is missing" in found.unreadable["1"]


def test_a_registry_that_cannot_be_reached_is_not_searched_not_empty() -> None:
    for down_after in (0, 1):  # before listing; part way through the versions
        registry = FakeRegistry({"2": json.dumps([_case("S2")]).encode(),
                                 "1": json.dumps([_case("S1")]).encode()},
                                down_after=down_after)
        found = search_golden_sets(registry, "S1")  # type: ignore[arg-type]
        assert not found.searched and found.versions == []
        assert found.unavailable and "cannot be reached" in found.unavailable
