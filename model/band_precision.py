"""The very-high band's precision as an acceptance measure, judged only on enough referrals.

`min_very_high_band_precision` reads the outcome rate of the test referrals the model put
in the very-high band: often a handful (version 1 of an independent probe was judged
"met", 0.444, on 9 referrals, whose exact 95% interval runs from 0.14 to 0.79). A rate
on fewer referrals than the board judges a group's rate on (the fairness audit's
`min_group_size`, "too small to judge") is not judged: it is not met, so the version
needs more test referrals or a waiver naming it with a reason, as a threshold with
nothing measured does (`model.acceptance`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from model.finite_json import finite_number
from model.threshold_checks import ThresholdCheck

VERY_HIGH_BAND: Final = "very high"
NAME: Final = "min_very_high_band_precision"
DESCRIPTION: Final = "outcome rate of the test referrals in the very-high band (its precision)"


@dataclass(frozen=True)
class BandRate:
    """A band's outcome rate on the test referrals, with how many referrals it rests on."""

    rate: float | None
    referrals: int | None  # None: the version's table did not record the count
    minimum: int  # the fewest referrals a rate is judged on

    def too_few(self) -> bool:
        """Whether the rate rests on fewer referrals than it is judged on (or an unknown
        number)."""
        return self.referrals is None or self.referrals < self.minimum



def band_rate(rows: Iterable[Mapping[str, Any]], *, minimum: int,
              band: str = VERY_HIGH_BAND) -> BandRate:
    """A band's rate and count from the rates-by-band table's rows (`model.train`)."""
    for row in rows:
        if row.get("band") == band:
            count = finite_number(row.get("referrals"))
            return BandRate(finite_number(row.get("outcome_rate")),
                            None if count is None else int(count), minimum)
    return BandRate(None, 0, minimum)


def precision_check(required: float, band: BandRate | float | None) -> ThresholdCheck:
    """`min_very_high_band_precision` against its threshold. A bare rate (no count: the
    callers that test other thresholds) is judged as measured."""
    measured = band.rate if isinstance(band, BandRate) else finite_number(band)
    if measured is None:
        return ThresholdCheck(NAME, DESCRIPTION, f">= {required:g}", None, False,
                              "not measured", threshold=required)
    if isinstance(band, BandRate) and band.too_few():
        count = ("an unrecorded number of" if band.referrals is None
                 else f"{band.referrals:,}")
        return ThresholdCheck(
            NAME, DESCRIPTION, f">= {required:g}", measured, False,
            f"not judged ({count} referrals, fewer than {band.minimum:,}): the fewest the "
            "board judges a group's rate on (the fairness audit's min_group_size); it needs "
            "more test referrals, or a waiver naming it with a reason",
            threshold=required, judged=False)
    return ThresholdCheck(NAME, DESCRIPTION, f">= {required:g}", measured,
                          measured >= required, threshold=required)
