"""Where the registered versions' golden sets name a person: for subject access.

A version's golden set (`model.golden`) is kept with its model: reference cases, each a
whole case payload (the referral, its household, earlier referrals, agency records) with
the rating the model gave it, scored again every time the version is loaded. Those are
real people's records, so a subject access request must find them: the subject of a
case, a member of its household, the person of an earlier referral or of an agency
record. The golden file is read alone (`ModelRegistry.read_artifact`), not the model,
and a version whose file does not contain the token is not parsed.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from model.run_artifacts import GOLDEN_FILE

if TYPE_CHECKING:
    from model.registry import ModelRegistry

PURPOSE: Final = ("reference cases stored with a model version and scored again every time "
                  "the service loads that version, to prove the model still gives the ratings "
                  "it gave when it was registered")
# The person's roles in a golden case: household roles (`data_contracts.vocab`) besides these.
CASE_SUBJECT: Final = "case_subject"
EARLIER_REFERRAL: Final = "earlier_referral"
AGENCY_RECORDS: Final = "agency_records"


@dataclass(frozen=True)
class GoldenCase:
    """One reference case naming the person: their roles there and their records in it."""

    referral_id: str
    referral_date: str | None
    roles: list[str]
    requester_is_subject: bool
    referral: dict[str, Any] | None  # the case's referral, when the person is its subject
    earlier_referrals: list[dict[str, Any]]
    agency_records: list[dict[str, Any]]
    expected_rating: dict[str, Any]  # the score and band the case's golden rating holds


@dataclass(frozen=True)
class GoldenVersion:
    """A registered version whose golden set names the person."""

    version: str
    aliases: list[str]
    registered_at: str
    cases: list[GoldenCase]


@dataclass(frozen=True)
class GoldenSearch:
    """What the search of every version's golden set found, and what it could not read."""

    searched: bool  # False: the registry could not be reached, so nothing was searched
    unavailable: str | None = None  # why not
    versions_searched: list[str] = field(default_factory=list)
    versions: list[GoldenVersion] = field(default_factory=list)
    unreadable: dict[str, str] = field(default_factory=dict)  # version: why
    purpose: str = PURPOSE


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def golden_case_naming(case: Mapping[str, Any], person_id: str) -> GoldenCase | None:
    """The person's roles and records in one golden case (None when it does not name them)."""
    payload = case.get("payload") or {}
    referral = payload.get("referral") or {}
    own = referral.get("person_id") == person_id
    roles = [CASE_SUBJECT] if own else []
    # The case's subject is also listed in its household, as "subject": said once.
    roles += [str(m.get("role")) for m in payload.get("household_members") or ()
              if m.get("person_id") == person_id and not (own and m.get("role") == "subject")]
    earlier = [{"referral_id": _text(p.get("referral_id")),
                "referral_date": _text(p.get("referral_date"))}
               for p in payload.get("previous_referrals") or () if p.get("person_id") == person_id]
    records = [{key: e.get(key) for key in ("agency", "event_type", "event_date",
                                            "recorded_date", "value")}
               for e in payload.get("events") or () if e.get("person_id") == person_id]
    roles += [EARLIER_REFERRAL] * bool(earlier) + [AGENCY_RECORDS] * bool(records)
    if not roles:
        return None
    expected = case.get("expected") or {}
    return GoldenCase(
        referral_id=str(referral.get("referral_id")),
        referral_date=_text(referral.get("referral_date")), roles=roles,
        requester_is_subject=own, referral=dict(referral) if own else None,
        earlier_referrals=earlier, agency_records=records,
        expected_rating={key: expected.get(key) for key in ("score", "band")})


def golden_cases_naming(cases: Sequence[Mapping[str, Any]], person_id: str) -> list[GoldenCase]:
    """Every case of a golden set that names the person, in the set's order."""
    return [found for case in cases if (found := golden_case_naming(case, person_id))]


def search_golden_sets(registry: ModelRegistry, person_id: str) -> GoldenSearch:
    """Every registered version whose golden set names the person.

    A registry that cannot be reached gives `searched=False` and why (never "nothing
    held"); a version whose golden file cannot be read is listed in `unreadable`.
    """
    from model.registry import MODEL_ARTIFACT, RegistryError, RegistryUnavailable

    try:
        versions = registry.list_versions()
    except RegistryUnavailable as exc:
        return GoldenSearch(searched=False, unavailable=str(exc))
    search = GoldenSearch(searched=True, versions_searched=[v.version for v in versions])
    needle = json.dumps(person_id).encode()  # as the JSON file spells it, quotes and all
    for info in versions:
        try:
            data = registry.read_artifact(info.version, f"{MODEL_ARTIFACT}/{GOLDEN_FILE}")
            if data is None:
                search.unreadable[info.version] = "it has no golden set file"
                continue
            if needle not in data:
                continue
            cases = golden_cases_naming(json.loads(data), person_id)
        except RegistryUnavailable as exc:  # went away part way: not "nothing held"
            return GoldenSearch(searched=False, unavailable=str(exc))
        except (RegistryError, ValueError, AttributeError, TypeError) as exc:
            search.unreadable[info.version] = f"its golden set could not be read ({exc})"
            continue
        if cases:
            registered = dt.datetime.fromtimestamp(info.created_at / 1000, dt.UTC)
            search.versions.append(GoldenVersion(
                version=info.version, aliases=list(info.aliases),
                registered_at=registered.isoformat(timespec="seconds"), cases=cases))
    return search
