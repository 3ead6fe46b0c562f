"""What an acceptance check records: one threshold met or not, the groups beyond it.

`model.acceptance` makes the checks; the model card, the approval gate and its pages
read them. A figure is shown with as many digits as it takes to stay on its side of
the threshold it is judged against (`on_its_side`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


def on_its_side(value: float, bounds: tuple[float, ...], places: int = 4,
                kind: str = "g") -> str:
    """`value` with `places` digits (format `kind`), or as many more as it takes (up to 6
    more) to fall on the same side of each bound as the value itself: 1.25004 beyond a
    threshold of 1.25 reads "1.25004", never "1.25"."""
    for digits in range(places, places + 7):
        text = f"{value:.{digits}{kind}}"
        if all((float(text) < bound) == (value < bound)
               and (float(text) > bound) == (value > bound) for bound in bounds):
            return text
    return text


@dataclass(frozen=True)
class GroupFigure:
    """A judged group beyond a fairness threshold, with the figure that puts it there."""

    group: str  # as people read it (`model.acceptance.group_name`): ``Asian female subjects``
    metric: str  # e.g. "selection rate ratio", "calibration gap"
    value: float | None  # None: withheld from publication, or an undefined ratio (`note`)
    note: str = ""
    withheld: bool = False
    # Where the figure crosses its threshold (a ratio: 1/threshold and the threshold; a
    # gap: -threshold and the threshold): `text` shows it on its side of each.
    bounds: tuple[float, ...] = ()

    def text(self) -> str:
        """E.g. ``Asian subjects (selection rate ratio 0.57)``."""
        shown = ("withheld from publication" if self.withheld else
                 "undefined" if self.value is None else on_its_side(self.value, self.bounds))
        return f"{self.group} ({self.metric} {shown}{': ' + self.note if self.note else ''})"


@dataclass(frozen=True)
class ThresholdCheck:
    """One threshold: what is required, what the version measured, whether it is met."""

    name: str
    description: str
    required: str
    measured: float | None
    met: bool
    detail: str = ""
    withheld: bool = False  # measured, but withheld from publication (`measured` None)
    # A fairness threshold's judged groups beyond it, worst first: what a waiver covers.
    groups: tuple[GroupFigure, ...] = ()
    # A fairness threshold's groups beyond it on the point estimate that are not findings
    # (the interval includes 1, the difference falls to the correction for many
    # comparisons, or the audit of an extract does not call it a finding); shown, not
    # failing it (no waiver needed).
    possible: tuple[GroupFigure, ...] = ()
    threshold: float | None = None  # the number in `required`
    # The version's own threshold where the board's is stricter (it is judged at the
    # board's: `model.agreed_thresholds`); None: judged at its own.
    trained_threshold: float | None = None
    # False: measured on too few referrals to judge (`model.band_precision`): not met,
    # and said so ("not judged"), not "NO".
    judged: bool = True

    @property
    def verdict(self) -> str:
        """Whether it is met, in the card's words: met with groups beyond it on the point
        estimate that are not findings says so (a probe's card read "<= 1.25 | 2.825 |
        yes", the figure a possible disparity only)."""
        if not self.judged:
            return "not judged"
        if not self.met:
            return "NO"
        return "yes: no finding beyond it, possible disparities only" if self.possible else "yes"

    def measured_text(self, places: int = 3, kind: str = "f") -> str:
        """`measured` in format `kind` ("f": `places` decimals; "g": significant digits),
        with as many more digits as it takes (up to 6 more) to stay on its side of the
        threshold: a ROC AUC of 0.69996 read "0.700" beside ">= 0.7" and "NO"."""
        if self.measured is None:
            return "not measured"
        bounds = () if self.threshold is None else (self.threshold,)
        return on_its_side(self.measured, bounds, places, kind)


def read_both_ways(group: str, ratio: float | None, measured: float | None) -> str:
    """What a ratio check's measured figure is, when the ratio furthest from 1 is below 1
    and so measured read the other way ("" otherwise): "measured 2.947" matched no group
    listed (its ratio, 0.3394, is 1/2.947)."""
    if ratio is None or measured is None or not 0 < ratio < 1:
        return ""
    return f"measured read both ways: the ratio of {group}, {ratio:.4g}, is 1/{measured:.4g}"


def groups_text(groups: Sequence[GroupFigure], shown: int | None = None) -> str:
    """The groups beyond a threshold as one line: "groups beyond it: ...; ...". With
    `shown`, at most that many named, then how many more and where they are (a refusal
    naming ~40 groups ran to 5,069 characters on one line)."""
    if shown is None or len(groups) <= shown:
        return "groups beyond it: " + "; ".join(g.text() for g in groups)
    return (f"{len(groups)} groups beyond it: " + "; ".join(g.text() for g in groups[:shown])
            + f"; and {len(groups) - shown} more: see the model card")


def possible_text(groups: Sequence[GroupFigure]) -> str:
    """A threshold's possible disparities as one line (not counted against it)."""
    return ("possible disparities, not counted (beyond it on the point estimate, but the "
            "95% interval includes 1, equal rates, or the difference does not stand "
            "correction for the audit's many comparisons: more referrals needed to tell): "
            + "; ".join(g.text() for g in groups))
