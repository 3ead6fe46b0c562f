"""Whom a scored referral is about, and the rule that a referral keeps its subject.

Each score stores the case's subject and household members (`ReferralPerson`, naming
the score), so a subject access request finds every referral, and every score of it,
whose case named a person. A referral id scored again
about another subject is refused (409), never stored: the referral's scores, decisions
and audit would otherwise mix two people's records, and a subject access request for
either would disclose the other's (the feeds' rule: a referral id on two rows with other
values is used on neither).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from fastapi import HTTPException, status
from sqlalchemy import Connection, bindparam, select

from api.case_payload import CasePayload
from api.store.models import REFERRAL_PERSON_TABLE, SCORE_TABLE, utcnow

SUBJECT = "subject"
# A household member the household feed names a subject (of referrals of their own): not
# this referral's subject, so stored apart.
HOUSEHOLD_SUBJECT = "household_subject"


def people_rows(case: CasePayload) -> list[dict[str, object]]:
    """The subject and household members of a case, as `ReferralPerson` rows."""
    referral, now = case.referral, utcnow()
    subject = {"referral_id": referral.referral_id, "person_id": referral.person_id,
               "household_id": referral.household_id, "role": SUBJECT, "created_at": now}
    return [subject] + [
        {**subject, "person_id": member.person_id,
         "role": HOUSEHOLD_SUBJECT if member.role == SUBJECT else member.role}
        for member in case.household_members if member.person_id != referral.person_id]


def named_by(people: Sequence[Sequence[Mapping[str, object]]]
             ) -> Callable[[Mapping[str, Sequence[Mapping[str, Any]]]], list[dict[str, object]]]:
    """The people of each score (in the scores' order) as rows naming their score, once
    the scores are written (an `api.audit.Inserts` function)."""

    def rows(written: Mapping[str, Sequence[Mapping[str, Any]]]) -> list[dict[str, object]]:
        scores = written[SCORE_TABLE.name]
        return [{**person, "score_id": score["id"]}
                for score, named in zip(scores, people, strict=True) for person in named]

    return rows


class SubjectChanged(HTTPException):
    """A referral id already stored (or sent earlier in the same request) about another
    subject: answered 409, nothing stored."""

    def __init__(self, referral_ids: Sequence[str]) -> None:
        listed = ", ".join(repr(r) for r in referral_ids[:5])
        more = f" and {len(referral_ids) - 5:,} more" if len(referral_ids) > 5 else ""
        super().__init__(
            status.HTTP_409_CONFLICT,
            f"referral {listed}{more} was scored about another person: a referral keeps its "
            "subject. Nothing was stored; score this case under its own referral id",
        )


_SUBJECT_OF = select(REFERRAL_PERSON_TABLE.c.person_id).where(
    REFERRAL_PERSON_TABLE.c.referral_id == bindparam("referral_id"),
    REFERRAL_PERSON_TABLE.c.role == SUBJECT).limit(1)


def check_subjects(rows: Sequence[Mapping[str, Any]]) -> Callable[[Connection], None]:
    """A `store_with_audit` check: refuse rows naming a subject other than the one stored
    for their referral, or than an earlier row's for the same referral."""

    def check(connection: Connection) -> None:
        subjects = {str(r["referral_id"]): str(r["person_id"]) for r in reversed(rows)
                    if r["role"] == SUBJECT}  # reversed: the first row of a referral wins
        changed = {str(r["referral_id"]) for r in rows if r["role"] == SUBJECT
                   and subjects[str(r["referral_id"])] != r["person_id"]}
        # One index seek a referral: every score of a referral adds a subject row, so
        # reading them all made each check slower the more often a referral was scored
        # (served throughput fell to a quarter in the benchmark, which scores the same
        # cases again and again: 105 per second against 417 before the check, same host).
        # Any subject row will do: they all name one person.
        for referral, person in subjects.items():
            stored = connection.execute(_SUBJECT_OF, {"referral_id": referral}).scalar()
            if stored is not None and stored != person:
                changed.add(referral)
        if changed:
            raise SubjectChanged(sorted(changed))

    return check
