"""Whom a scored referral is about, and the rule that a referral keeps its subject.

Each score stores the case's subject and household members (`ReferralPerson`), so a
subject access request finds every referral naming a person. A referral id scored again
about another subject is refused (409), never stored: the referral's scores, decisions
and audit would otherwise mix two people's records, and a subject access request for
either would disclose the other's (the feeds' rule: a referral id on two rows with other
values is used on neither).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from fastapi import HTTPException, status
from sqlalchemy import Connection, select

from api.case_payload import CasePayload
from api.store.models import REFERRAL_PERSON_TABLE, utcnow

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


def check_subjects(rows: Sequence[Mapping[str, Any]]) -> Callable[[Connection], None]:
    """A `store_with_audit` check: refuse rows naming a subject other than the one stored
    for their referral, or than an earlier row's for the same referral."""

    def check(connection: Connection) -> None:
        subjects = {str(r["referral_id"]): str(r["person_id"]) for r in reversed(rows)
                    if r["role"] == SUBJECT}  # reversed: the first row of a referral wins
        changed = {str(r["referral_id"]) for r in rows if r["role"] == SUBJECT
                   and subjects[str(r["referral_id"])] != r["person_id"]}
        table = REFERRAL_PERSON_TABLE.c
        # A referral's first subject row is its subject's: before 5 December a household
        # member the household feed named a subject was stored as one too, after it.
        rows_stored = connection.execute(
            select(table.referral_id, table.person_id)
            .where(table.role == SUBJECT, table.referral_id.in_(sorted(subjects)))
            .order_by(table.id))
        stored: dict[str, str] = {}
        for referral, person in rows_stored:
            stored.setdefault(referral, person)
        changed.update(referral for referral, person in stored.items()
                       if subjects[referral] != person)
        if changed:
            raise SubjectChanged(sorted(changed))

    return check
