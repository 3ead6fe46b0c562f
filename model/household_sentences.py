"""Sentences about household members when the referral names no household.

The feed allows a referral without a household (`household_id` empty): its subject's
household at the time is then not known, so nobody's records in it could be looked up,
and the feature build leaves its household features 0 or empty
(`pipelines.feature_spec.FeatureSpec.about_household_members`). A factor of such
features says that, rather than "No parents or carers in the household" or "No police
records about anyone else in the household", which would claim what was never counted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final

from model.sentences import HOUSEHOLD_WORDS, direction_words
from pipelines.feature_spec import FeatureSpec
from pipelines.manifest_lookup import spec_of
from pipelines.phrases import AGENCY_LABELS, RELATION_PHRASES, UNNAMED_HOUSEHOLD


def _people(spec: FeatureSpec) -> str:
    return f"the number of {HOUSEHOLD_WORDS[spec.name][1]} in it is not known"


def _counts(spec: FeatureSpec) -> str:
    return f"{spec.label_plural} {RELATION_PHRASES[spec.relation]} could not be counted"


def _records(spec: FeatureSpec) -> str:
    if spec.event_type is not None:
        return _counts(spec)
    return (f"{AGENCY_LABELS[spec.agency].lower()} records about anyone else in the "
            "household could not be counted")


def _attendance(spec: FeatureSpec) -> str:
    return "the school attendance of the other children in it is not known"


def _referrals(spec: FeatureSpec) -> str:
    return f"{spec.label_plural} to the hub could not be counted"


_BY_KIND: Final[dict[str, Callable[[FeatureSpec], str]]] = {
    "household": _people, "count": _counts, "recency": _records, "attendance": _attendance,
    "previous_referrals": _referrals,
}


def unnamed_household_sentence(names: Sequence[str], contribution: float) -> str:
    """The sentence of a factor about household members (all of `names`) for a referral
    that names no household, e.g. "No household was named with this referral: the number
    of parents or carers in it is not known (raises the score)".

    Raises:
        ValueError: If a member is not about household members, or of a kind with no
            such sentence.
    """
    specs = [spec_of(name) for name in names]
    if not specs or not all(spec.about_household_members for spec in specs):
        raise ValueError(f"not every feature of {list(names)} is about household members")
    words = _BY_KIND.get(specs[0].kind)
    if words is None:
        raise ValueError(f"no sentence for {specs[0].name!r} when no household is named")
    return f"{UNNAMED_HOUSEHOLD}: {words(specs[0])} ({direction_words(contribution)})"
