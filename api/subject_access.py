"""Subject access: everything the service holds about one person, in plain language.

Every referral in which the person was the subject or a household member, each score
whose case named them (a referral scored again with another household is not the new
members' before, nor the old members' after) with its explanation, model version and
escalations, each decision made on those scores with its reason, the audit entries
about those referrals, and the audit entries that name the person themselves (a subject
access request, a refused try at one), so a data controller can answer a subject access
request and a family can see and challenge what was used. The caller audits the request
itself (`safeguard subject-access`, `GET /v1/subjects/{person_id}`).

Much of it is about other people: a referral in which the person was a household member
is about its subject (a child's explanation in a parent's report), an explanation's
household factors are about the other members, and practitioners' reasons may name
anyone. The controller must review such information before release (UK GDPR Art. 15(4);
DPA 2018 Sch. 2 Part 3), so the record keeps all of it, and says of each referral the
requester's role there, and of each factor and each escalation rule that fired whom it is
about (`THIRD_PARTY`, `FREE_TEXT`). A rule is read by the features the governance
settings name for it (the same name in `rules`); a rule not found there may rest on
anyone's records in the household.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from functools import cache
from typing import Any, Final

from sqlalchemy import ColumnElement, String, func, literal_column, select
from sqlalchemy.orm import Session

from api.access_refusals import kept_asked
from api.referral_people import HOUSEHOLD_SUBJECT, SUBJECT
from api.schemas import DecisionOut, ScoreResult
from api.settings import Settings
from api.store import repository
from api.store.models import AuditEntry, ReferralPerson
from model.golden_people import AGENCY_RECORDS, CASE_SUBJECT, EARLIER_REFERRAL, search_golden_sets
from model.registry import ModelRegistry, RegistryUnavailable

logger = logging.getLogger(__name__)

ROLE_WORDS = {SUBJECT: "the person the referral was about", "parent_carer": "a parent or carer",
              "other_adult": "another adult in the household", "sibling": "a brother or sister",
              "other_child": "another child in the household",
              HOUSEHOLD_SUBJECT: "a member of the household who is the subject of referrals "
                                 "of their own"}
# In a golden case a household member named "subject" is the subject of referrals of
# their own, as in the household feed.
GOLDEN_ROLE_WORDS: Final = {
    **ROLE_WORDS, SUBJECT: ROLE_WORDS[HOUSEHOLD_SUBJECT],
    CASE_SUBJECT: "the person the reference case's referral was about",
    EARLIER_REFERRAL: "the person of an earlier referral the case lists",
    AGENCY_RECORDS: "the person of agency records the case holds"}
THIRD_PARTY: Final = "information about other people: review before release"
FREE_TEXT: Final = "a practitioner's words, which may name other people: review before release"
# Whom a factor is about, by what its feature concerns (`pipelines.feature_spec`), read
# by whether the requester is the referral's subject.
_ABOUT: Final = {
    (True, "subject"): "the person", (True, "referral"): "the referral",
    (True, "household"): "other members of the household",
    (False, "subject"): "the referral's subject, another person",
    (False, "referral"): "the referral",
    (False, "household"): "the household, which includes the person and others",
}


@cache
def _concerns() -> dict[str, str]:
    from pipelines.manifest import build_manifest

    return {spec.name: spec.concerns for spec in build_manifest()}


def _roles(session: Session, person_id: str) -> dict[str, dict[str, Any]]:
    rows = session.execute(
        select(ReferralPerson.referral_id, ReferralPerson.role, ReferralPerson.household_id,
               ReferralPerson.score_id)
        .where(ReferralPerson.person_id == person_id).order_by(ReferralPerson.id)).all()
    found: dict[str, dict[str, Any]] = {}
    for referral_id, role, household_id, score_id in rows:
        entry = found.setdefault(referral_id, {"roles": [], "households": [], "scores": set()})
        if role not in entry["roles"]:
            entry["roles"].append(role)
        if household_id and household_id not in entry["households"]:
            entry["households"].append(household_id)
        entry["scores"].add(score_id)  # None: stored before scores were told apart
    return found


def _entry(row: AuditEntry) -> dict[str, Any]:
    return {"seq": row.seq, "at": row.created_at.isoformat(), "user": row.user_name,
            "role": row.role, "action": row.action, "model_version": row.model_version}


def _audit(session: Session, referral_id: str) -> list[dict[str, Any]]:
    rows = session.scalars(select(AuditEntry).where(AuditEntry.referral_id == referral_id)
                           .order_by(AuditEntry.seq)).all()
    return [_entry(row) for row in rows]


def person_named(dialect: str) -> ColumnElement[str]:
    """The person an entry's details name, spelt as migration 0012 indexes it."""
    if dialect == "sqlite":
        return func.json_extract(AuditEntry.details, literal_column("'$.person_id'"),
                                 type_=String)
    return AuditEntry.details.op("->>", return_type=String)(literal_column("'person_id'"))


def _audit_naming(session: Session, person_id: str) -> list[dict[str, Any]]:
    """Entries whose details name the person (an index seek, not a scan of the trail)."""
    named = person_named(session.get_bind().dialect.name)
    rows = session.scalars(select(AuditEntry).where(named == person_id)
                           .order_by(AuditEntry.seq)).all()
    return [{**_entry(row), "referral_id": row.referral_id} for row in rows]


def _about(features: Sequence[str] | None, *, own: bool) -> tuple[str, bool]:
    """Whom information read from `features` is about (None: not known, so possibly the
    subject or anyone in the household), and whether that includes another person."""
    concerns = _concerns()
    kinds = ({"subject", "household"} if features is None
             else {concerns.get(name, "household") for name in features})
    about = " or ".join(_ABOUT.get((own, kind), "other people") for kind in
                        sorted(kinds, key=["subject", "referral", "household"].index))
    return about, about not in ("the person", "the referral")


def _score(stored: Any, *, own: bool, rules: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    result = ScoreResult.model_validate(stored.result).model_dump(mode="json")
    for factor in result["top_factors"]:
        factor["about"], factor["third_party"] = _about([factor["feature"]], own=own)
    for rule in result["escalations"]:
        rule["about"], rule["third_party"] = _about(rules.get(rule["rule"]), own=own)
    return {"id": stored.id, "at": stored.created_at.isoformat(), "by": stored.user_name,
            "result": result}


def _referral(session: Session, referral_id: str, found: dict[str, Any],
              rules: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """The referral's scores whose case named the person, and the decisions made on them
    (every score and decision, when some were stored before scores were told apart)."""
    named, own = found["scores"], SUBJECT in found["roles"]
    every = None in named
    scores = [_score(s, own=own, rules=rules) for s in repository.scores_for(session, referral_id)
              if every or s.id in named]
    decisions = [{**DecisionOut.model_validate(d, from_attributes=True).model_dump(mode="json"),
                  "release_review": FREE_TEXT if d.reason else None}
                 for d in repository.decisions_for(session, referral_id)
                 if every or d.score_id in named]
    return {"referral_id": referral_id, "roles": found["roles"],
            "role_words": [ROLE_WORDS.get(r, r.replace("_", " ")) for r in found["roles"]],
            "requester_is_subject": own, "release_review": None if own else THIRD_PARTY,
            "households": found["households"], "scores": scores, "decisions": decisions,
            "audit": _audit(session, referral_id)}


def golden_sets_record(registry: ModelRegistry, person_id: str, *,
                       show_address: bool) -> dict[str, Any]:
    """The registered versions whose golden sets name the person, each case with the
    person's roles in words and, when the case is about someone else, `release_review`.
    A registry that cannot be reached says so (without its address unless `show_address`:
    the log says where)."""
    found = asdict(search_golden_sets(registry, person_id))
    if found["unavailable"] and not show_address:
        logger.error("subject access: golden sets not searched: %s", found["unavailable"])
        found["unavailable"] = RegistryUnavailable.WITHOUT_ADDRESS
    for version in found["versions"]:
        for case in version["cases"]:
            case["role_words"] = [GOLDEN_ROLE_WORDS.get(r, r.replace("_", " "))
                                  for r in case["roles"]]
            case["release_review"] = None if case["requester_is_subject"] else THIRD_PARTY
    return found


def audit_details(record: Mapping[str, Any]) -> dict[str, Any]:
    """What a subject access entry records: the person, the referrals found, and that the
    model versions' golden sets were searched (which, and which name the person) or not.
    A token that finds nothing, no referral and no golden set, is kept as its SHA-256
    (`asked_sha256`: it may be a key's secret pasted in the wrong place), and so is not
    among the entries a later report lists as naming the person."""
    golden = record["model_golden_sets"]
    searched: dict[str, Any] = {"searched": golden["searched"]}
    if golden["searched"]:
        searched |= {"versions": golden["versions_searched"],
                     "naming_person": [v["version"] for v in golden["versions"]],
                     "unreadable": sorted(golden["unreadable"])}
    else:
        searched["reason"] = golden["unavailable"]
    found = bool(record["referrals"] or golden["versions"])
    return {**kept_asked("person_id", record["person_id"], held=found),
            "referrals": len(record["referrals"]), "model_golden_sets": searched}


def subject_access_record(session: Session, person_id: str, *,
                          rules: Mapping[str, Sequence[str]],
                          golden: Mapping[str, Any]) -> dict[str, Any]:
    """Every referral held that names the person, with its scores, decisions and audit,
    the person's own referrals first; the other audit entries naming the person; and the
    model versions' golden sets naming them (`golden`, from `golden_sets_record`).

    `rules` maps each escalation rule's name to the features it reads (`rule_features`).
    """
    found = _roles(session, person_id)
    referrals = [_referral(session, rid, entry, rules) for rid, entry in found.items()]
    referrals.sort(key=lambda referral: not referral["requester_is_subject"])  # stable
    households = sorted({h for entry in found.values() for h in entry["households"]})
    return {"person_id": person_id, "households": households, "referrals": referrals,
            "audit_naming_person": _audit_naming(session, person_id),
            "model_golden_sets": dict(golden),
            "third_party_referrals": sum(not r["requester_is_subject"] for r in referrals)}


def rule_features(settings: Settings) -> dict[str, tuple[str, ...]]:
    """The features each escalation rule of the governance settings in force reads."""
    from model.governance import load_governance

    governance = load_governance(settings.governance_settings_path)[0]
    return {rule.name: rule.features for rule in governance.escalation_rules}
