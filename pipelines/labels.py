"""Training labels as the feed specification defines them, with censoring."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from data_contracts.vocab import LABEL_WINDOW_DAYS
from pipelines.encode import to_days


def build_labels(referrals: pd.DataFrame, outcomes: pd.DataFrame | None,
                 extract_date: dt.date) -> pd.DataFrame:
    """One row per referral: ``referral_id``, ``follow_up_complete``, ``label``.

    The label is 1 when an outcome falls within 365 days after the referral date, else 0.
    A referral whose 365-day follow-up is not complete at the extract date has no label
    (``<NA>``): it must not be trained on as a negative.
    """
    referral_day = to_days(referrals["referral_date"])
    extract_day = extract_date.toordinal() - dt.date(1970, 1, 1).toordinal()
    complete = referral_day + LABEL_WINDOW_DAYS <= extract_day
    labelled: set[str] = set()
    if outcomes is not None and len(outcomes):
        days = pd.Series(referral_day, index=referrals["referral_id"].to_numpy())
        outcome_ref_day = days.reindex(outcomes["referral_id"].to_numpy()).to_numpy()
        delay = to_days(outcomes["outcome_date"]) - outcome_ref_day
        within = (delay >= 0) & (delay <= LABEL_WINDOW_DAYS)
        labelled = set(outcomes["referral_id"].to_numpy()[within])
    positive = referrals["referral_id"].isin(labelled).to_numpy()
    return pd.DataFrame({"referral_id": referrals["referral_id"].to_numpy(),
                         "follow_up_complete": complete,
                         "label": pd.Series(positive, dtype="Int64").where(complete)})
