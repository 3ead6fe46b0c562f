"""One feature's definition (`FeatureSpec`) and how feature names are spelt.

`pipelines.manifest` builds the feature set from these; every name is spelt by one
function here, so a look-up and the definition can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

Direction = Literal["increases", "decreases", "none"]
Kind = Literal[
    "count", "recency", "coverage", "attendance", "previous_referrals", "household", "context",
    "protected",
]

# Kinds of feature read from agency records (the rest are details of the referral).
RECORD_KINDS: Final = frozenset({"count", "recency", "coverage", "attendance",
                                 "previous_referrals"})
# Relations of the members of the subject's household (the rest: the subject, the referral).
HOUSEHOLD_RELATIONS: Final = frozenset({"parents_carers", "other_adults", "children",
                                        "household"})
# The flag saying whether the referral names the subject's household (feed: household_id).
HOUSEHOLD_KNOWN: Final = "household_known"
# The model reads "no such record" in a days-since feature (empty in the feature table)
# as this many days, so that "no record" sits beyond every real gap: with a decreasing
# monotonic constraint, a record present can then only raise the score.
NO_RECORD_DAYS: Final = 36_525.0


@dataclass(frozen=True)
class FeatureSpec:
    """One feature of the manifest."""

    name: str
    description: str
    kind: Kind
    agency: str  # one of AGENCIES, or "referral": the referral's details and earlier referrals
    relation: str  # subject, parents_carers, other_adults, children, household, referral
    window: str | None
    direction: Direction
    event_type: str | None = None
    unit: str = "records"
    protected: bool = False
    label_singular: str = ""
    label_plural: str = ""

    @property
    def concerns(self) -> str:
        """Whether the feature is about the subject, the household or the referral."""
        if self.relation in ("subject", "referral"):
            return self.relation
        return "household"

    @property
    def about_household_members(self) -> bool:
        """Whether the value is read from the members of the subject's household (how many
        there are, or records about them): not known when the referral names no household,
        or one that household_members lists nowhere (`HOUSEHOLD_KNOWN` 0), though the
        feature build then leaves it 0 or empty. Not the
        records-held flags (about the subject or household) nor `HOUSEHOLD_KNOWN` itself."""
        return (self.relation in HOUSEHOLD_RELATIONS and self.kind != "coverage"
                and self.name != HOUSEHOLD_KNOWN)

    @property
    def monotonic_constraint(self) -> int:
        """The sign for a monotonic constraint: 1, -1 or 0."""
        return {"increases": 1, "decreases": -1, "none": 0}[self.direction]

    @property
    def from_records(self) -> bool:
        """Whether the feature is read from agency records (else a detail of the referral)."""
        return self.kind in RECORD_KINDS

    @property
    def no_record_value(self) -> float | None:
        """The feature's value when no agency holds any record (None: empty), or None for a
        referral detail (which has no such value)."""
        if not self.from_records or self.unit in ("days", "percent"):
            return None
        return 0.0

    @property
    def no_record_as_days(self) -> bool:
        """Whether the model reads an empty value of this feature as `NO_RECORD_DAYS`."""
        return self.unit == "days" and self.direction == "decreases"

    @property
    def model_input(self) -> bool:
        """Whether a model may read this feature (a protected characteristic only when
        governance allows: `pipelines.manifest.model_feature_names`).

        Not the records-held flags (kind ``coverage``): any record an agency holds, of a
        concern or not, turns its flag from 0 to 1, so a flag the model read could carry
        "a record is held" against the very records of concern it flags (a model learnt
        "records held lowers risk", and one old domestic-abuse incident then lowered a
        score from 7 to 2). They stay in the feature table for what reads them beside
        the model ("not seen", partnership evidence, monitoring coverage); the model still
        knows an agency held nothing, from its days-since-latest-record features, which
        are constrained so that a record present can only raise the score.
        """
        return self.kind != "coverage"

    @property
    def is_concern(self) -> bool:
        """Whether records of this feature are a concern: more of them, or more recent ones,
        can only raise the score (a monotonic constraint), never lower it."""
        return self.kind in ("count", "recency", "previous_referrals") and (
            self.direction != "none")

    @property
    def concern(self) -> str:
        """The factor an explanation sums this feature into: counts over every window and
        the recency of one event type about one relation form one factor; other features
        are factors of their own."""
        if self.kind == "count" or (self.kind == "recency" and self.event_type is not None):
            return f"{self.relation}_{self.agency}_{self.event_type}"
        if self.kind == "previous_referrals" and self.relation == "subject":
            return "subject_previous_referrals"
        return self.name

    def records_present(self, value: float | None) -> bool:
        """Whether a value of this record feature says some record is present."""
        if value is None or value != value:
            return False
        return value > 0 if self.unit != "days" else True


def count_feature_name(relation: str, agency: str, event_type: str, window: str) -> str:
    """Name of a count feature, e.g. ``parents_carers_police_domestic_abuse_incident_365d``."""
    return f"{relation}_{agency}_{event_type}_{window}"


def coverage_feature_name(agency: str) -> str:
    """Name of the flag saying whether an agency held any record, e.g. ``police_records_held``."""
    return f"{agency}_records_held"


def need_feature_name(need: str) -> str:
    """Name of the one-hot flag of a presenting need, e.g. ``presenting_need_other``."""
    return f"presenting_need_{need}"


def source_feature_name(source: str) -> str:
    """Name of the one-hot flag of a referral source, e.g. ``referral_source_police``."""
    return f"referral_source_{source}"


def household_count_feature_name(relation: str) -> str:
    """Name of a household's head count by relation, e.g. ``household_children_count``."""
    return f"household_{relation}_count"


def sex_feature_name(sex: str) -> str:
    """Name of the one-hot flag of a recorded sex, e.g. ``sex_female``."""
    return f"sex_{sex}"


def ethnicity_feature_name(group: str) -> str:
    """Name of the one-hot flag of an ethnicity group, e.g. ``ethnicity_white``."""
    return f"ethnicity_{group}"


ADULT_AT_RISK: Final = "subject_is_adult_at_risk"
