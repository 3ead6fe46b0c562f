"""Records about a case's subject of a kind kept only at another age, said in a warning.

A school's free-school-meals record or a child protection plan is kept about a child; an
adult safeguarding enquiry or a care and support plan about an adult
(`data_contracts.vocab.CHILDHOOD_EVENT_TYPES`, `ADULTHOOD_EVENT_TYPES`). One about the
subject dated when they were certainly of the other age (by a margin: a sixth former turns
18 at school, a transition assessment starts at 16) is more likely another person's record
under a token shared by mistake. The specification does not refuse such a record, so it
is counted, and the practitioner is told to check it (until 7 December a 70-year-old's
case counted "9 free-school-meals records involving this adult" without a word).

The subject's age is known in whole years at the referral date, so the birthday is known
within a year: a record counts as of another age only when it is for every birthday the
age allows.
"""

from __future__ import annotations

from datetime import date
from typing import Final

import numpy as np

from api.case_payload import CasePayload
from data_contracts.rules import day_of
from data_contracts.vocab import ADULTHOOD_EVENT_TYPES, CHILDHOOD_EVENT_TYPES, EVENT_PAIRS
from pipelines.case_records import EventColumns
from pipelines.phrases import EVENT_LABELS

CHILDHOOD_ENDS: Final = 20  # a record of childhood dated at this age or later is doubtful
ADULTHOOD_STARTS: Final = 16  # a record of adulthood dated before this age is doubtful
_CHILDHOOD: Final = np.array([pair in CHILDHOOD_EVENT_TYPES for pair in EVENT_PAIRS] + [False])
_ADULTHOOD: Final = np.array([pair in ADULTHOOD_EVENT_TYPES for pair in EVENT_PAIRS] + [False])


def _years_before(day: date, years: int) -> int:
    """The day number `years` whole years before `day` (29 February: the 28th)."""
    year = day.year - years
    try:
        return day_of(day.replace(year=year))
    except ValueError:
        return day_of(day.replace(year=year, day=28))


def _kinds(pairs: np.ndarray) -> str:
    names = sorted({EVENT_LABELS[EVENT_PAIRS[code][1]][1] for code in pairs.tolist()})
    return ", ".join(names)


def age_doubtful_warnings(case: CasePayload, columns: EventColumns | None) -> list[str]:
    """The warnings about records of the subject of a kind kept only at another age."""
    if columns is None or not len(columns.pair):
        return []
    referral, subject = case.referral, case.referral.person_id
    about = np.fromiter((person == subject for person in columns.person_id), bool,
                        len(columns.person_id))
    pair = np.where(columns.pair < 0, len(EVENT_PAIRS), columns.pair)  # unknown: neither
    # Aged A at the referral date: born after A + 1 years before it, on or before A years.
    older_than = _years_before(referral.referral_date, referral.age_years - CHILDHOOD_ENDS)
    younger_than = _years_before(referral.referral_date,
                                 referral.age_years + 1 - ADULTHOOD_STARTS)
    found = []
    for kinds, doubtful, when in (
            (_CHILDHOOD, columns.event_day >= older_than,
             f"kept only about children, dated when this person was {CHILDHOOD_ENDS} or older"),
            (_ADULTHOOD, columns.event_day < younger_than,
             f"kept only about adults, dated when this person was under {ADULTHOOD_STARTS}")):
        hit = about & kinds[pair] & doubtful
        if count := int(hit.sum()):
            records = "1 record" if count == 1 else f"{count:,} records"
            found.append(f"{records} about the person referred {'is' if count == 1 else 'are'} "
                         f"of a kind {when} ({_kinds(pair[hit])}): check "
                         f"{'it is' if count == 1 else 'they are'} this person's, not "
                         "another's under the same token; counted in the score.")
    return found
