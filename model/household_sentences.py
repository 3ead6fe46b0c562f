"""What a rating says when the referral's household members are not known.

The feed allows a referral without a household (`household_id` empty), and a household
named may be listed nowhere in household_members (the feed absent, or without its rows):
either way who is in it, and so their records, could not be looked up, the feature build
leaves its household features 0 or empty
(`pipelines.feature_spec.FeatureSpec.about_household_members`) and `household_known` 0.
Every such rating warns of it (`UNNAMED_HOUSEHOLD_WARNING`, whatever its top factors:
the spec's "a parent's domestic abuse incidents shape a child's risk"), and the warning
alone says why (`pipelines.phrases.UNNAMED_HOUSEHOLD`, once per rating). A factor of such
features says only what it could not count, rather than "No parents or carers in the
household" or "No police records about anyone else in the household", which would claim
what was never counted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final

from model.sentences import (
    Subject,
    direction_words,
    household_people,
    involving,
    whose_attendance,
)
from pipelines.feature_spec import FeatureSpec
from pipelines.manifest_lookup import spec_of
from pipelines.phrases import AGENCY_LABELS, SUBJECT_PHRASES, UNNAMED_HOUSEHOLD

# Each kind's words take the feature and who was referred (`model.sentences`' words for
# them: an adult at risk's household children are not "other" children).


def _people(spec: FeatureSpec, who: str) -> str:
    return f"the number of {household_people(spec, who)[1]} in the household is not known"


def _counts(spec: FeatureSpec, who: str) -> str:
    return f"{spec.label_plural} {involving(spec, who)} could not be counted"


def _records(spec: FeatureSpec, who: str) -> str:
    if spec.event_type is not None:
        return _counts(spec, who)
    return (f"{AGENCY_LABELS[spec.agency].lower()} records about anyone else in the "
            "household could not be counted")


def _attendance(spec: FeatureSpec, who: str) -> str:
    return f"the school attendance of {whose_attendance(spec, who)} is not known"


def _referrals(spec: FeatureSpec, who: str) -> str:
    return f"{spec.label_plural} to the hub could not be counted"


_BY_KIND: Final[dict[str, Callable[[FeatureSpec, str], str]]] = {
    "household": _people, "count": _counts, "recency": _records, "attendance": _attendance,
    "previous_referrals": _referrals,
}


# The warning of every rating whose household members are not known (`household_known`
# 0): the one place a rating says why its household factors could not count anybody.
UNNAMED_HOUSEHOLD_WARNING: Final = (
    f"{UNNAMED_HOUSEHOLD}: records about parents, carers and anyone else in the household "
    "could not be counted, and the score was made without them (not known, which is not the "
    "same as nothing concerning).")


def unnamed_household_sentence(names: Sequence[str], contribution: float, *,
                               subject: Subject = "child") -> str:
    """The sentence of a factor about household members (all of `names`) for a referral
    whose household members are not known, e.g. "The number of parents or carers in the
    household is not known (raises the score)" (the rating's warning says why:
    `UNNAMED_HOUSEHOLD_WARNING`). `subject`: the person referred is a child, an adult at
    risk (the household's children are then not "other" children) or unknown.

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
    text = words(specs[0], SUBJECT_PHRASES[subject])
    return f"{text[0].upper()}{text[1:]} ({direction_words(contribution)})"
