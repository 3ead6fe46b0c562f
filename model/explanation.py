"""The typed records of a case's explanation: what leaves the explainer.

Plain frozen dataclasses of Python values (no NumPy, no SHAP), so the API, the batch
output and the tests all read the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal

from data_contracts.vocab import AGENCIES, AGENCY_LABELS

Direction = Literal["raises", "lowers"]
# The hub's own information: the referral's details and the earlier referrals to the hub.
REFERRAL_GROUP: Final = "referral"
AGENCY_GROUPS: Final[tuple[str, ...]] = (*AGENCIES, REFERRAL_GROUP)
GROUP_LABELS: Final[dict[str, str]] = {
    **AGENCY_LABELS, REFERRAL_GROUP: "The referral and earlier referrals to the hub"}


@dataclass(frozen=True)
class FactorRecord:
    """One factor's part in a case's score: the summed contributions of `features`.

    A factor is one concern (the counts over every window and the recency of one event
    type about one relation) or one other feature. `feature` and `value` are its headline
    feature (the count on record, for a concern) and that feature's value.
    """

    feature: str
    value: float | int | bool | None
    contribution: float
    direction: Direction
    agency: str
    sentence: str
    features: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """The record as a JSON-ready dict."""
        return {"feature": self.feature, "value": self.value, "contribution": self.contribution,
                "direction": self.direction, "agency": self.agency, "sentence": self.sentence,
                "features": list(self.features)}


@dataclass(frozen=True)
class Explanation:
    """Why one case got its score (log-odds; see `model.sentences.CONTRIBUTIONS_NOTE`)."""

    raw_score: float
    base_value: float
    compared_with: str  # the reference the base value scores, in one sentence
    top_factors: list[FactorRecord]
    contributions_by_agency: dict[str, float]
    # The agencies that held no record about the subject or household, but education for
    # an adult at risk (`model.factor_text.worth_telling`).
    agencies_not_seen: list[str]
    warnings: list[str]
