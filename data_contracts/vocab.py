"""Feed names, column names and vocabularies of the agency feed specification, version 1.

Everything the project knows about the shape of a feed is defined here, once.
The specification itself is `data_contracts/README.md`.
"""

from __future__ import annotations

from typing import Final

SPEC_VERSION: Final = 1

# --- Agencies and feeds -------------------------------------------------------------

AGENCIES: Final[tuple[str, ...]] = (
    "police",
    "health",
    "education",
    "social_care",
    "housing",
    "probation",
)

AGENCY_LABELS: Final[dict[str, str]] = {
    "police": "Police",
    "health": "Health",
    "education": "Education",
    "social_care": "Social care",
    "housing": "Housing",
    "probation": "Probation",
}

REFERRALS: Final = "referrals"
HOUSEHOLD_MEMBERS: Final = "household_members"
OUTCOMES: Final = "outcomes"


def event_feed(agency: str) -> str:
    """Feed name of an agency's event feed, e.g. ``events_police``."""
    return f"events_{agency}"


EVENT_FEEDS: Final[tuple[str, ...]] = tuple(event_feed(a) for a in AGENCIES)
FEEDS: Final[tuple[str, ...]] = (REFERRALS, HOUSEHOLD_MEMBERS, OUTCOMES, *EVENT_FEEDS)
REQUIRED_FEEDS: Final[tuple[str, ...]] = (REFERRALS,)
FEED_FORMATS: Final[tuple[str, ...]] = ("csv", "parquet")

# --- Columns --------------------------------------------------------------------------

REFERRAL_COLUMNS: Final[tuple[str, ...]] = (
    "referral_id",
    "person_id",
    "household_id",
    "referral_date",
    "referral_source",
    "presenting_need",
    "subject_type",
    "age_years",
    "sex",
    "ethnicity_group",
    "disability",
    "imd_decile",
)
HOUSEHOLD_MEMBER_COLUMNS: Final[tuple[str, ...]] = ("household_id", "person_id", "role")
EVENT_COLUMNS: Final[tuple[str, ...]] = (
    "person_id",
    "event_date",
    "recorded_date",
    "event_type",
    "value",
)
OUTCOME_COLUMNS: Final[tuple[str, ...]] = ("referral_id", "outcome_type", "outcome_date")

FEED_COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    REFERRALS: REFERRAL_COLUMNS,
    HOUSEHOLD_MEMBERS: HOUSEHOLD_MEMBER_COLUMNS,
    OUTCOMES: OUTCOME_COLUMNS,
    **{feed: EVENT_COLUMNS for feed in EVENT_FEEDS},
}

# Columns that may be empty in a conforming row.
OPTIONAL_COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    REFERRALS: ("household_id", "imd_decile"),
    HOUSEHOLD_MEMBERS: (),
    OUTCOMES: (),
    **{feed: ("recorded_date", "value") for feed in EVENT_FEEDS},
}

# --- Enumerations ---------------------------------------------------------------------

REFERRAL_SOURCES: Final[tuple[str, ...]] = (
    "police",
    "health",
    "education",
    "social_care",
    "housing",
    "probation",
    "self_or_family",
    "anonymous",
    "other",
)
PRESENTING_NEEDS: Final[tuple[str, ...]] = (
    "abuse_neglect",
    "domestic_abuse",
    "mental_health",
    "substance_misuse",
    "exploitation",
    "radicalisation",
    "online_harm",
    "other",
)
SUBJECT_TYPES: Final[tuple[str, ...]] = ("child", "adult_at_risk")
SEXES: Final[tuple[str, ...]] = ("female", "male", "unknown")
ETHNICITY_GROUPS: Final[tuple[str, ...]] = ("asian", "black", "mixed", "white", "other", "unknown")
HOUSEHOLD_ROLES: Final[tuple[str, ...]] = (
    "subject",
    "parent_carer",
    "sibling",
    "other_adult",
    "other_child",
)
OUTCOME_TYPES: Final[tuple[str, ...]] = (
    "child_protection_plan",
    "section_47_substantiated",
    "looked_after",
    "adult_safeguarding_substantiated",
)

CHILD_MAX_AGE: Final = 17
MAX_AGE: Final = 120
IMD_DECILES: Final[tuple[int, ...]] = tuple(range(1, 11))

EVENT_TYPES: Final[dict[str, tuple[str, ...]]] = {
    "police": (
        "domestic_abuse_incident",
        "dash_high_risk",
        "missing_episode",
        "arrest",
        "victim_of_crime",
        "exploitation_concern",
        "antisocial_behaviour",
        "online_harm_concern",
        "prevent_referral",
    ),
    "health": (
        "ae_attendance",
        "unexplained_injury",
        "missed_appointment",
        "mental_health_contact",
        "substance_misuse_contact",
        "maternity_concern",
        "self_harm",
    ),
    "education": (
        "attendance_rate",
        "suspension",
        "permanent_exclusion",
        "sen_support",
        "ehcp",
        "free_school_meals",
        "child_missing_education",
    ),
    "social_care": (
        "previous_referral",
        "early_help_episode",
        "child_in_need_plan",
        "child_protection_plan",
        "looked_after",
        "adult_safeguarding_enquiry",
        "care_and_support_plan",
    ),
    "housing": (
        "homelessness_application",
        "temporary_accommodation",
        "eviction_notice",
        "rent_arrears",
        "overcrowding",
    ),
    "probation": (
        "under_supervision",
        "mappa_nominal",
        "domestic_abuse_perpetrator_programme",
    ),
}

# Records a service keeps about a person only while a child, and only once an adult (a
# sixth former's attendance or a care leaver's plans run a little past 18: the live case
# allows for it, `api.age_doubtful`).
CHILDHOOD_EVENT_TYPES: Final[frozenset[tuple[str, str]]] = frozenset({
    ("education", "attendance_rate"), ("education", "suspension"),
    ("education", "permanent_exclusion"), ("education", "sen_support"),
    ("education", "free_school_meals"), ("education", "child_missing_education"),
    ("social_care", "child_in_need_plan"), ("social_care", "child_protection_plan"),
    ("social_care", "looked_after")})
ADULTHOOD_EVENT_TYPES: Final[frozenset[tuple[str, str]]] = frozenset({
    ("social_care", "adult_safeguarding_enquiry"), ("social_care", "care_and_support_plan")})

# Every (agency, event type) pair of the vocabulary, in a fixed order (its index codes it).
EVENT_PAIRS: Final[tuple[tuple[str, str], ...]] = tuple(
    (agency, event_type) for agency in AGENCIES for event_type in EVENT_TYPES[agency])

# Event types whose `value` column carries a number, with its allowed range.
VALUED_EVENT_TYPES: Final[dict[tuple[str, str], tuple[float, float]]] = {
    ("education", "attendance_rate"): (0.0, 100.0),
}

# The columns whose values come from a vocabulary above, in every feed that has them. The
# vocabularies are exact: nothing is trimmed or folded to match one.
CODED_COLUMNS: Final[frozenset[str]] = frozenset({
    "referral_source", "presenting_need", "subject_type", "sex", "ethnicity_group", "role",
    "outcome_type", "event_type"})

# --- Identifiers ----------------------------------------------------------------------

TOKEN_PATTERN: Final = r"^[A-Za-z0-9_-]{1,64}$"
TOKEN_MAX_LENGTH: Final = 64
NOT_A_TOKEN: Final = "not a pseudonymous token (1 to 64 letters, digits, - or _)"
# A referral id: the specification's "string", so "MASH/2023/0001" and "Ref #3" are ids:
# 1 to 100 characters (the store's column), no control character (a line break or NUL
# would break the files and pages written from it) nor invisible format character (a
# direction control would show it reordered; a zero-width space or joiner, a byte-order
# mark or a soft hyphen would make "R1\u200b" another referral that reads "R1"), no white
# space at either end, Unicode's included (nothing is trimmed: "R1 " is not "R1", though a
# form or a parser that trims would make it so), and not "." or ".." (an address holding
# one is read as a step up a folder, whatever its quoting). The CSVs the product writes
# defuse a formula (`data_contracts.csv_output`), pages escape markup, and links quote it.
#
# The format characters are Unicode's category Cf (Unicode 14, Python 3.11's
# `unicodedata`; `tests/data_contracts/test_referral_ids.py` checks each is refused).
# Written out, not found by scanning `unicodedata` at import (0.4 s on every start).
_FORMAT_CHARACTERS: Final[tuple[tuple[int, int], ...]] = (
    (0x00AD, 0x00AD), (0x0600, 0x0605), (0x061C, 0x061C), (0x06DD, 0x06DD),
    (0x070F, 0x070F), (0x0890, 0x0891), (0x08E2, 0x08E2), (0x180E, 0x180E),
    (0x200B, 0x200F), (0x202A, 0x202E), (0x2060, 0x2064), (0x2066, 0x206F),
    (0xFEFF, 0xFEFF), (0xFFF9, 0xFFFB), (0x110BD, 0x110BD), (0x110CD, 0x110CD),
    (0x13430, 0x13438), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A), (0xE0001, 0xE0001),
    (0xE0020, 0xE007F))


def _in_a_class(first: int, last: int) -> str:
    """Code points ``first`` to ``last`` inside a regex character class: a range, but
    beyond U+FFFF one by one, as a reader of the OpenAPI document without the `u` flag
    (Swagger UI's) reads such a range as an error."""
    if last <= 0xFFFF:
        return chr(first) if first == last else f"{chr(first)}-{chr(last)}"
    return "".join(map(chr, range(first, last + 1)))


_NOT_IN_AN_ID: Final = "\\x00-\\x1f\\x7f-\\x9f" + "".join(
    _in_a_class(first, last) for first, last in _FORMAT_CHARACTERS)
_NOT_AT_AN_END: Final = (_NOT_IN_AN_ID + " \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f"
                         "\u205f\u3000")
REFERRAL_ID_PATTERN: Final = (
    f"^(?:[^{_NOT_AT_AN_END}.]|[^{_NOT_AT_AN_END}.][^{_NOT_AT_AN_END}]|\\.[^{_NOT_AT_AN_END}.]"
    f"|[^{_NOT_AT_AN_END}][^{_NOT_IN_AN_ID}]{{1,98}}[^{_NOT_AT_AN_END}])$")
REFERRAL_ID_MAX_LENGTH: Final = 100
# Columns of the specification that take free text (its "string"): like a column it does
# not name, each is searched for identifiers written inside its text
# (`data_contracts.identifiers`), since `Jane Smith 07700 900123` is a referral id's shape.
FREE_TEXT_COLUMNS: Final[frozenset[str]] = frozenset({"referral_id"})
# What a feed's quarantine and the Score page say of an id the pattern refuses.
NOT_A_REFERRAL_ID: Final = ("not a referral id (1 to 100 characters, no control or invisible "
                            "format character, no space at either end, not . or ..)")
# What an identifier refused by its pattern is called, in place of the pattern itself.
NOT_AN_IDENTIFIER: Final[dict[str, str]] = {REFERRAL_ID_PATTERN: NOT_A_REFERRAL_ID,
                                            TOKEN_PATTERN: NOT_A_TOKEN}

# A date as the specification writes it (feeds, options): YYYY-MM-DD, ASCII digits.
DATE_SHAPE: Final = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"

# Booleans as the specification writes them in CSV.
TRUE_STRINGS: Final[frozenset[str]] = frozenset({"true", "1"})
FALSE_STRINGS: Final[frozenset[str]] = frozenset({"false", "0"})

# --- Labels ---------------------------------------------------------------------------

LABEL_WINDOW_DAYS: Final = 365
