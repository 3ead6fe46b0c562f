"""Column names that name a direct identifier: a person's name, date of birth, address,
postcode, NHS or National Insurance number, phone number or e-mail address.

A name is read as words (split at separators, and again at camel case: ``childName``) and
as one compact word (``dateofbirth``), in any case. A name qualified as an
organisation's or a place's (``agency_name``, ``School Name``) is not a person's. Whether
a feed so named is refused, and the search of its cells, is `data_contracts.identifiers`'s.
"""

from __future__ import annotations

import re
from typing import Final

# Whole-name tokens (after splitting on separators) and compact fragments
# (after removing separators) that name a direct identifier.
_NAME_TOKENS: Final = frozenset(
    {
        "name", "names", "forename", "forenames", "surname", "surnames", "dob",
        "address", "addr", "postcode", "postcodes", "zip", "zipcode", "phone",
        "telephone", "tel", "mobile", "email", "mail", "nhs", "nino", "bday",
    }
)  # fmt: skip
# Whole names (separators removed) that name one, though as a word in a longer name they
# need not (`birth_order`, `street_team`).
_WHOLE_NAMES: Final = frozenset({"birth", "born", "street", "streetname", "housenumber",
                                  "houseno", "dob", "bdate"})  # `d_o_b`, `D.O.B.`
# `birth` or `born` beside a word of a date (`born_on`, `date_born`, `birth_dt`) names a
# date of birth, which no content check can tell from any other date.
_BIRTH_WORDS: Final = frozenset({"birth", "born"})
_DATE_WORDS: Final = frozenset({"date", "dt", "d", "day", "on", "when"})
_BIRTH_DATE_NAMES: Final = frozenset({first + second for b in _BIRTH_WORDS for d in _DATE_WORDS
                                      for first, second in ((b, d), (d, b))})
# A name qualified by one of these words, just before it, is an organisation's or a
# place's (`agency_name`, `School Name`, `gpPracticeName`), not a person's: the
# specification forbids people's names. `child_name`, `officer_name`, `team_leader_name`
# stay refused.
ORGANISATION_WORDS: Final = frozenset(
    {
        "agency", "team", "school", "college", "academy", "nursery", "service", "services",
        "organisation", "organization", "org", "provider", "unit", "site", "setting",
        "practice", "surgery", "clinic", "hospital", "trust", "force", "authority",
        "council", "department", "dept", "directorate", "station", "court", "prison",
        "office", "charity", "company", "employer", "establishment", "institution",
    }
)  # fmt: skip
_NAME_WORDS: Final = frozenset({"name", "names"})
_NAME_FRAGMENTS: Final = (
    "firstname", "lastname", "fullname", "givenname", "familyname", "middlename",
    "maidenname", "forename", "surname", "dateofbirth", "birthdate", "birthday", "address",
    "postcode", "zipcode", "nhsnumber", "nhsno", "ninumber", "nationalinsurance",
    "telephone", "phonenumber", "phoneno", "mobilenumber", "mobileno", "email",
)  # fmt: skip


def _words(column: str, *, split_camel_case: bool) -> list[str]:
    text = column.strip()
    if split_camel_case:  # childName -> child Name (NHSNumber and DoB stay one word)
        text = re.sub(r"(?<=[a-z0-9])(?=[A-Z][a-z])", " ", text)
    return [t for t in re.split(r"[^a-z0-9]+", text.lower()) if t]


def _an_organisations_name(tokens: list[str], at: int) -> bool:
    return at > 0 and tokens[at - 1] in ORGANISATION_WORDS


def identifier_column_name(column: str) -> bool:
    """Whether a column's name says it holds a direct identifier (any case, separator or
    camel case), a name qualified as an organisation's apart."""
    return any(_names_identifier(_words(column, split_camel_case=split))
               for split in (False, True))


def _names_identifier(tokens: list[str]) -> bool:
    if any(t in _NAME_TOKENS for i, t in enumerate(tokens)
           if not (t in _NAME_WORDS and _an_organisations_name(tokens, i))):
        return True
    if {"ni", "no"} <= set(tokens) or {"ni", "number"} <= set(tokens):
        return True
    compact = "".join(tokens)
    if _BIRTH_WORDS & set(tokens) and _DATE_WORDS & set(tokens):
        return True
    if compact in _BIRTH_DATE_NAMES:  # the same written as one word (`BIRTHDT`, `dateborn`)
        return True
    return compact in _WHOLE_NAMES or any(fragment in compact for fragment in _NAME_FRAGMENTS)
