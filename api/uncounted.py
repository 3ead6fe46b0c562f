"""What a case holds that its score does not count, said in the score's warnings.

The point-in-time rule and the household link leave out, as every batch score does,
records known only after the referral date, earlier referrals dated on or after it, and
records or earlier referrals about people the case does not name (neither its subject
nor a member of its household). A practitioner who sent them is told, not left to
think they weighed.
"""

from __future__ import annotations

import numpy as np

from api.case_payload import CasePayload
from data_contracts.rules import day_of
from pipelines.case_records import EventColumns


def _some(count: int, one: str, many: str) -> str:
    return one if count == 1 else many.format(count=f"{count:,}")


def _named(case: CasePayload) -> set[str]:
    """The people a case names: its subject and the members of its household."""
    return {case.referral.person_id, *(member.person_id for member in case.household_members)}


def _late_records(case: CasePayload, columns: EventColumns | None) -> str | None:
    """Records about the case's people known only after the referral date (a record about
    someone the case does not name is told of once, by `_strangers`)."""
    if columns is None or not len(columns.known_day):
        return None
    referral_date = case.referral.referral_date
    named = _named(case)
    about_named = np.fromiter((person in named for person in columns.person_id), bool,
                              len(columns.person_id))
    late = int(((columns.known_day > day_of(referral_date)) & about_named).sum())
    if not late:
        return None
    return (f"{_some(late, '1 record was', '{count} records were')} not counted: known only "
            f"after the referral date ({referral_date:%-d %B %Y}). A score uses what was "
            "known when the referral arrived; score a new referral to weigh later information.")


def _later_referrals(case: CasePayload) -> str | None:
    """Earlier referrals of the case's people dated on or after the referral date: both
    engines count only those strictly before it."""
    referral_date, named = case.referral.referral_date, _named(case)
    later = sum(earlier.referral_date >= referral_date and earlier.person_id in named
                for earlier in case.previous_referrals)
    if not later:
        return None
    return (f"{_some(later, '1 earlier referral was', '{count} earlier referrals were')} not "
            f"counted: dated on or after this referral's date ({referral_date:%-d %B %Y}).")


def _strangers(case: CasePayload, columns: EventColumns | None) -> str | None:
    named = _named(case)
    records = sum(person not in named for person in columns.person_id) if columns else 0
    referrals = sum(earlier.person_id not in named for earlier in case.previous_referrals)
    parts = [_some(count, one, many) for count, one, many in (
        (records, "1 record", "{count} records"),
        (referrals, "1 earlier referral", "{count} earlier referrals"))
        if count]
    if not parts:
        return None
    verb = "was" if records + referrals == 1 else "were"
    return (f"{' and '.join(parts)} about people this case does not name (neither its "
            f"subject nor a member of its household) {verb} not counted: add them to "
            "household_members if they belong to the household.")


def uncounted_warnings(case: CasePayload, columns: EventColumns | None) -> list[str]:
    """The score's warnings about what the case holds that was not counted (see module)."""
    found = (_late_records(case, columns), _later_referrals(case), _strangers(case, columns))
    return [warning for warning in found if warning]
