"""How promptly each agency's information reached the hub, and what arrived too late.

Two measures per agency, from the validated feeds alone (no model):

- delay: recorded date minus event date of every record; an empty recorded date means
  the event date (the feed specification), so a delay of 0, and such records are
  counted too (`dated`), since an agency that never gives one shows no delay at all;
- late information: for every referral, the records about its subject or household
  whose event happened on or before the referral date ("would have informed it"),
  and among them those recorded only after the referral date, which the point-in-time
  features rightly could not use: information that existed but arrived too late.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from data_contracts.vocab import AGENCIES, REFERRALS, event_feed
from pipelines.encode import NO_DAY, EncodedExtract, encode_frames, to_days
from pipelines.links import chunk_links, chunks, expand, group_items, referral_links

_N_AGENCIES = len(AGENCIES)


def record_delays(frames: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per record: ``agency``, ``recorded_date`` (the event date when empty),
    ``delay_days`` (0 then) and ``dated`` (whether the feed gave a recorded date)."""
    parts = []
    for agency in AGENCIES:
        frame = frames.get(event_feed(agency))
        if frame is None or not len(frame):
            continue
        event_day, recorded = to_days(frame["event_date"]), to_days(frame["recorded_date"])
        dated = recorded != NO_DAY
        delay = np.where(dated, recorded - event_day, 0).astype(np.float64)
        when = pd.to_datetime(frame["recorded_date"]).fillna(pd.to_datetime(frame["event_date"]))
        parts.append(pd.DataFrame({"agency": agency, "delay_days": delay,
                                   "recorded_date": when.to_numpy(), "dated": dated}))
    if not parts:
        return pd.DataFrame({"agency": pd.Series(dtype=str), "delay_days": pd.Series(dtype=float),
                             "recorded_date": pd.Series(dtype="datetime64[ns]"),
                             "dated": pd.Series(dtype=bool)})
    return pd.concat(parts, ignore_index=True)


def _late_counts(enc: EncodedExtract) -> tuple[np.ndarray, np.ndarray]:
    """(informing, late) record counts per referral x agency."""
    n = enc.n_referrals
    informing = np.zeros(n * _N_AGENCIES, dtype=np.int64)
    late = np.zeros(n * _N_AGENCIES, dtype=np.int64)
    links = referral_links(enc)
    records = group_items(enc.event_person, enc.n_persons)
    for lo, hi in chunks(links, records, n):
        part = chunk_links(links, n, lo, hi)
        link, record = expand(part.person, records)
        referral = part.referral[link] + lo
        day = enc.ref_day[referral]
        would = enc.event_day[record] <= day
        cell = referral * _N_AGENCIES + enc.event_agency[record]
        informing += np.bincount(cell[would], minlength=n * _N_AGENCIES)
        arrived_late = would & (enc.event_known_day[record] > day)
        late += np.bincount(cell[arrived_late], minlength=n * _N_AGENCIES)
    return informing.reshape(n, _N_AGENCIES), late.reshape(n, _N_AGENCIES)


def late_information(frames: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Per referral and agency: records that would have informed it, and how many came late.

    Columns ``referral_id``, ``referral_date``, ``agency``, ``informing``, ``late``; one
    row per referral and agency with at least one informing record.
    """
    referrals = frames[REFERRALS].reset_index(drop=True)
    informing, late = _late_counts(encode_frames({**frames, REFERRALS: referrals}))
    row, agency = np.nonzero(informing)
    return pd.DataFrame({
        "referral_id": referrals["referral_id"].to_numpy()[row],
        "referral_date": pd.to_datetime(referrals["referral_date"]).to_numpy()[row],
        "agency": np.asarray(AGENCIES, dtype=object)[agency],
        "informing": informing[row, agency],
        "late": late[row, agency],
    })
