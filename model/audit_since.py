"""`safeguard audit fairness --since DATE`: the referrals of a newer extract only.

A later extract of a hub holds its earlier referrals too, so an audit of the whole of
it mixes years of referrals (and, on the training hub, the ones the model learned from)
with the recent ones a board asks about. `--since` keeps the labelled referrals dated on
or after the day given; a family (`model.families.with_families`, in `audit_frame`) is
still formed over the whole extract, so that two recent referrals linked only through an
earlier one are drawn together, as they are in the audit of the whole extract.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd


def referrals_since(labelled: pd.DataFrame, since: dt.date | None) -> pd.DataFrame:
    """The labelled referrals (with ``referral_date``) dated on or after `since` (all of
    them when None).

    Raises:
        ValueError: When none is left, naming the dates the extract's referrals span.
    """
    if since is None:
        return labelled
    dates = pd.to_datetime(labelled["referral_date"])
    kept = labelled.loc[(dates >= pd.Timestamp(since)).to_numpy()].reset_index(drop=True)
    if kept.empty:
        span = (f"run from {dates.min().date()} to {dates.max().date()}" if len(dates)
                else "are none")
        raise ValueError(f"--since {since.isoformat()}: no labelled referral is dated on or "
                         f"after it (the extract's labelled referrals {span})")
    return kept

