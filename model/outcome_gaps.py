"""Stretches of referrals whose outcomes look unrecorded: too few outcomes to be chance.

An outcomes feed that starts later than the referrals (or stops, or skips a period)
makes every labelled referral of the missing stretch a negative: nothing in the labels
says so. `outcome_gaps` reads the labelled referrals by calendar quarter and finds the
quarters whose outcomes are implausibly few against the other quarters' rate: at most
half of it, and a binomial chance of so few (or fewer) under that rate below
`MAX_CHANCE` shared among the quarters (Bonferroni), so that a small quarter with no
outcome by chance is not one. Consecutive such quarters make one stretch.

The training command, the fairness audit and monitoring all ask this one function.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, fields
from typing import Any, Final

import numpy as np
import pandas as pd
import scipy  # scipy.stats loads on first use (`model.score_intervals` says why)

# The chance, under the other quarters' outcome rate, of a quarter's outcomes being so
# few, below which they are taken as unrecorded (divided among the quarters judged).
MAX_CHANCE: Final = 0.001
# ... and only when the quarter's rate is at most this share of the other quarters'.
MAX_SHARE_OF_RATE: Final = 0.5
# The key under which the training report, `fairness.json` and `monitor.json` list them.
OUTCOME_GAPS: Final = "outcome_gaps"
_ROUNDS: Final = 5  # the other quarters' rate is re-read without the stretches found


@dataclass(frozen=True)
class OutcomeGap:
    """Consecutive quarters of labelled referrals with implausibly few outcomes."""

    first_referral: str  # ISO dates of the stretch's first and last labelled referral
    last_referral: str
    quarters: str  # e.g. "2017Q1-2020Q1"
    referrals: int
    outcomes: int
    other_rate: float  # the outcome rate of the labelled referrals of the other quarters
    chance: float  # P(outcomes or fewer among these referrals | other_rate)
    leading: bool  # the stretch starts with the earliest labelled referrals
    next_quarter: str  # the first day after the stretch's last quarter

    def to_json(self) -> dict[str, Any]:
        """As a report records it, with its sentence (`describe`) for the pages."""
        return asdict(self) | {"description": self.describe()}

    @classmethod
    def from_json(cls, recorded: dict[str, Any]) -> OutcomeGap:
        """The stretch a report recorded (`to_json`)."""
        return cls(**{f.name: recorded[f.name] for f in fields(cls)})

    def describe(self) -> str:
        """The stretch in one sentence (the commands add what it means for them)."""
        return (f"outcomes look unrecorded for the referrals of {self.first_referral} to "
                f"{self.last_referral} ({self.quarters}): {self.outcomes:,} outcomes among "
                f"{self.referrals:,} labelled referrals ({self.outcomes / self.referrals:.1%}) "
                f"against {self.other_rate:.1%} in the other quarters (chance of so few: "
                f"{_chance_text(self.chance)})")


def _chance_text(chance: float) -> str:
    return "under 1e-12" if chance < 1e-12 else f"{chance:.1g}"


def _low_quarters(n: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, float]:
    """Which quarters have implausibly few outcomes, and the other quarters' rate."""
    low = np.zeros(len(n), dtype=bool)
    rate = 0.0
    for _ in range(_ROUNDS):
        rate = float(k[~low].sum() / n[~low].sum())
        if rate == 0.0:  # no outcome anywhere else: nothing to compare with
            return np.zeros(len(n), dtype=bool), rate
        found = ((scipy.stats.binom.cdf(k, n, rate) < MAX_CHANCE / len(n))
                 & (k <= MAX_SHARE_OF_RATE * rate * n))
        if (found == low).all() or found.all():
            break
        low = found
    return low, rate


def outcome_gaps(referral_dates: pd.Series, labels: np.ndarray) -> list[OutcomeGap]:
    """The stretches of labelled referrals whose outcomes look unrecorded (see module doc).

    Args:
        referral_dates: Each labelled referral's date.
        labels: Its label, 1 or 0, in the same order.
    """
    if len(labels) == 0:
        return []
    dates = pd.to_datetime(pd.Series(np.asarray(referral_dates)))
    frame = pd.DataFrame({"quarter": dates.dt.to_period("Q").to_numpy(), "date": dates,
                          "label": np.asarray(labels, dtype=np.int64)})
    table = frame.groupby("quarter").agg(n=("label", "size"), k=("label", "sum"),
                                         first=("date", "min"), last=("date", "max"))
    n, k = table["n"].to_numpy(), table["k"].to_numpy()
    low, rate = _low_quarters(n, k)
    # Runs of consecutive low quarters (quarters without a labelled referral are skipped).
    starts = np.flatnonzero(low & ~np.r_[False, low[:-1]])
    ends = np.flatnonzero(low & ~np.r_[low[1:], False])
    return [_gap(table.iloc[a:b + 1], rate, leading=bool(a == 0))
            for a, b in zip(starts, ends, strict=True)]


def _gap(rows: pd.DataFrame, rate: float, *, leading: bool) -> OutcomeGap:
    referrals, outcomes = int(rows["n"].sum()), int(rows["k"].sum())
    first, last = rows.index[0], rows.index[-1]
    day: dt.date = (last + 1).start_time.date()
    return OutcomeGap(
        first_referral=rows["first"].iloc[0].date().isoformat(),
        last_referral=rows["last"].iloc[-1].date().isoformat(),
        quarters=str(first) if first == last else f"{first}-{last}",
        referrals=referrals, outcomes=outcomes, other_rate=rate,
        chance=float(scipy.stats.binom.cdf(outcomes, referrals, rate)), leading=leading,
        next_quarter=day.isoformat())


def gap_warnings(gaps: list[dict[str, Any]], *, counted_as: str,
                 since_option: str | None = None) -> list[str]:
    """One warning line per stretch (as a report records it: `OutcomeGap.to_json`).

    Args:
        counted_as: What the command did with the stretch's referrals, e.g. "they were
            trained on as negatives".
        since_option: The command's option that starts from a date, offered after a
            leading stretch (None: the command has none).
    """
    lines = []
    for found in gaps:
        gap = OutcomeGap.from_json(found)
        act = (f"check the outcomes feed, or use {since_option} {gap.next_quarter} to leave "
               "them out" if since_option and gap.leading
               else "check the outcomes feed for that period")
        lines.append(f"warning: {gap.describe()}; {counted_as}: {act}")
    return lines
