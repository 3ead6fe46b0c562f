"""Planted disparities: known unfairness in the extract that a correct fairness audit must find.

Each mechanism acts on the extract only, never on the truth: the true probabilities
and labels are computed from the records as they happened, before any planted effect,
so a seed gives the same truth whatever the disparity settings (tested).

- *recording bias*: an agency makes more records about one group at the same true
  risk (extra records drawn at ``strength - 1`` times the group's usual rates); a
  model that reads them over-predicts the group's risk.
- *missing information*: an agency's records about one group are absent from the
  extract with probability ``strength``; a model under-predicts the group's risk.

Settings are written ``default``, ``none`` or comma-separated ``name=strength`` pairs,
optionally after ``default`` or ``none`` (e.g. ``none,police_recording_black=1.5``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

RECORDING_BIAS: Final = "recording_bias"
MISSING_INFORMATION: Final = "missing_information"
Kind = Literal["recording_bias", "missing_information"]


@dataclass(frozen=True)
class Disparity:
    """One planted mechanism.

    Attributes:
        name: Its name in settings.
        kind: ``recording_bias`` (strength: rate multiplier, 1 = off) or
            ``missing_information`` (strength: share of records absent, 0 = off).
        agencies: The agencies whose records are affected.
        ethnicity_group: The group (``ethnicity_group`` of the referral's household).
        default: Strength at default settings.
        audit_finding: What a correct audit of a model trained on the extract finds.
    """

    name: str
    kind: Kind
    agencies: tuple[str, ...]
    ethnicity_group: str
    default: float
    audit_finding: str

    @property
    def off(self) -> float:
        """The strength at which the mechanism does nothing."""
        return 1.0 if self.kind == RECORDING_BIAS else 0.0

    def check(self, strength: float) -> None:
        """Refuse a strength outside the mechanism's range."""
        if self.kind == RECORDING_BIAS and not 1.0 <= strength <= 10.0:
            raise ValueError(f"{self.name}: a recording bias is a rate multiplier in [1, 10]")
        if self.kind == MISSING_INFORMATION and not 0.0 <= strength <= 1.0:
            raise ValueError(f"{self.name}: missing information is a share in [0, 1]")


DISPARITIES: Final[tuple[Disparity, ...]] = (
    Disparity(
        "police_recording_black",
        RECORDING_BIAS,
        ("police",),
        "black",
        2.5,
        "predicted risk above the observed rate for black children and adults",
    ),
    Disparity(
        "health_social_care_missing_asian",
        MISSING_INFORMATION,
        ("health", "social_care"),
        "asian",
        0.6,
        "predicted risk below the observed rate for asian children and adults",
    ),
)
DISPARITY_BY_NAME: Final[dict[str, Disparity]] = {d.name: d for d in DISPARITIES}

Strengths = tuple[tuple[str, float], ...]


def default_strengths() -> Strengths:
    """Every mechanism at its default strength."""
    return tuple((d.name, d.default) for d in DISPARITIES)


def no_strengths() -> Strengths:
    """Every mechanism switched off."""
    return tuple((d.name, d.off) for d in DISPARITIES)


def check_strengths(strengths: Strengths) -> None:
    """Refuse unknown mechanisms and strengths out of range."""
    for name, strength in strengths:
        if name not in DISPARITY_BY_NAME:
            raise ValueError(f"unknown disparity {name!r}; known: {', '.join(DISPARITY_BY_NAME)}")
        DISPARITY_BY_NAME[name].check(strength)


def parse_disparities(text: str) -> Strengths:
    """``default``, ``none`` or ``[default|none,]name=strength,...`` as strengths.

    Raises:
        ValueError: On an unknown name, a malformed pair or a strength out of range.
    """
    items = [item.strip() for item in text.split(",") if item.strip()]
    strengths = dict(default_strengths())
    if items and items[0] in ("default", "none"):
        strengths = dict(no_strengths() if items.pop(0) == "none" else default_strengths())
    for item in items:
        name, equals, value = item.partition("=")
        if not equals:
            raise ValueError(f"{item!r}: expected default, none or name=strength")
        try:
            strengths[name.strip()] = float(value)
        except ValueError:
            raise ValueError(f"{item!r}: the strength must be a number") from None
    result = tuple(strengths.items())
    check_strengths(result)
    return result
