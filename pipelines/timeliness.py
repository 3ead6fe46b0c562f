"""How promptly each agency's information reached the hub, and what arrived too late.

Two measures per agency, from the validated feeds alone (no model):

- delay: recorded date minus event date of every record; an empty recorded date means
  the event date (the feed specification), so a delay of 0, and such records are
  counted too (`dated`), since an agency that never gives one shows no delay at all;
- late information: for every referral, the records about its subject or household
  whose event happened on or before the referral date ("would have informed it"),
  and among them those recorded only after the referral date, which the point-in-time
  features rightly could not use: information that existed but arrived too late; and
  the delays of every record that would have informed at least one referral
  (`LateInformation.delays`), the agency's timeliness over the whole report
  (`agency_timeliness`), which also says how much of a window of records before a
  referral had not arrived by it (`recent_unarrived_share`): were a referral's records
  of the `window_days` before it dated evenly over them, the share still unrecorded at
  the referral is the mean of min(delay, window) / window. Counting the window's records
  recorded after each referral would not do: the records that prompted a referral fall
  in its last days, so a week's delay leaves most of them unrecorded (75% of social
  care's in a synthetic extract whose median delay is a day).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from data_contracts.vocab import AGENCIES, REFERRALS, event_feed
from pipelines.encode import NO_DAY, EncodedExtract, encode_frames, to_days
from pipelines.links import chunk_links, chunks, expand, group_items, referral_links

_N_AGENCIES = len(AGENCIES)
TIMELINESS_COLUMNS: Final = ("median_delay_days", "p90_delay_days", "late_share",
                             "recent_unarrived_share")
# The fewest records a span's delays are judged on (`span_delays`): a handful says little.
MIN_JUDGED_RECORDS: Final = 30


@dataclass(frozen=True)
class LateInformation:
    """`by_referral`: per referral and agency with an informing record, ``referral_id``,
    ``referral_date``, ``agency``, ``informing`` and ``late``; `delays`: ``agency`` and
    ``delay_days`` of each record that would have informed at least one referral
    (recorded minus event date; 0 when the recorded date is empty)."""

    by_referral: pd.DataFrame
    delays: pd.DataFrame


def day_number(day: dt.date) -> int:
    """A date as days since 1970-01-01 (as `pipelines.encode.to_days` gives them)."""
    return (day - dt.date(1970, 1, 1)).days


def recorded_days(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Of each record of an event feed: the day it was recorded (`day_number`; the event
    date when it has no recorded date), its delay in days (0 then) and whether it has one."""
    event_day, recorded = to_days(frame["event_date"]), to_days(frame["recorded_date"])
    dated = recorded != NO_DAY
    return (np.where(dated, recorded, event_day),
            np.where(dated, recorded - event_day, 0).astype(np.float64), dated)


def record_delays(frames: Mapping[str, pd.DataFrame], *, since: dt.date | None = None
                  ) -> pd.DataFrame:
    """One row per record (recorded on or after `since`, when given): ``agency``,
    ``recorded_date`` (the event date when empty), ``delay_days`` (0 then) and ``dated``
    (whether the feed gave a recorded date)."""
    parts = []
    first = None if since is None else day_number(since)
    for agency in AGENCIES:
        frame = frames.get(event_feed(agency))
        if frame is None or not len(frame):
            continue
        when, delay, dated = recorded_days(frame)
        if first is not None:
            kept = when >= first
            when, delay, dated = when[kept], delay[kept], dated[kept]
        parts.append(pd.DataFrame({"agency": agency, "delay_days": delay,
                                   "recorded_date": when.astype("datetime64[D]")
                                   .astype("datetime64[ns]"), "dated": dated}))
    if not parts:
        return pd.DataFrame({"agency": pd.Series(dtype=str), "delay_days": pd.Series(dtype=float),
                             "recorded_date": pd.Series(dtype="datetime64[ns]"),
                             "dated": pd.Series(dtype=bool)})
    return pd.concat(parts, ignore_index=True)


def _late_counts(enc: EncodedExtract) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(informing, late) record counts per referral x agency, and whether each record
    would have informed a referral."""
    n = enc.n_referrals
    informing = np.zeros(n * _N_AGENCIES, dtype=np.int64)
    late = np.zeros(n * _N_AGENCIES, dtype=np.int64)
    informs = np.zeros(len(enc.event_day), dtype=bool)
    links = referral_links(enc)
    records = group_items(enc.event_person, enc.n_persons)
    for lo, hi in chunks(links, records, n):
        part = chunk_links(links, n, lo, hi)
        link, record = expand(part.person, records)
        referral = part.referral[link] + lo
        day = enc.ref_day[referral]
        would = enc.event_day[record] <= day
        informs[record[would]] = True
        cell = referral * _N_AGENCIES + enc.event_agency[record]
        informing += np.bincount(cell[would], minlength=n * _N_AGENCIES)
        arrived_late = would & (enc.event_known_day[record] > day)
        late += np.bincount(cell[arrived_late], minlength=n * _N_AGENCIES)
    return informing.reshape(n, _N_AGENCIES), late.reshape(n, _N_AGENCIES), informs


def late_information(frames: Mapping[str, pd.DataFrame]) -> LateInformation:
    """Per referral and agency: records that would have informed it, and how many came
    late; and the delays of every record that would have informed a referral."""
    referrals = frames[REFERRALS].reset_index(drop=True)
    enc = encode_frames({**frames, REFERRALS: referrals})
    informing, late, informs = _late_counts(enc)
    row, agency = np.nonzero(informing)
    by_referral = pd.DataFrame({
        "referral_id": referrals["referral_id"].to_numpy()[row],
        "referral_date": pd.to_datetime(referrals["referral_date"]).to_numpy()[row],
        "agency": np.asarray(AGENCIES, dtype=object)[agency],
        "informing": informing[row, agency],
        "late": late[row, agency],
    })
    delays = pd.DataFrame({
        "agency": np.asarray(AGENCIES, dtype=object)[enc.event_agency[informs]],
        "delay_days": (enc.event_known_day[informs] - enc.event_day[informs]).astype(np.float64),
    })
    return LateInformation(by_referral, delays)


def span_delays(recorded: pd.DataFrame, *, start: dt.date, end: dt.date,
                window_days: int) -> dict[str, float | int] | None:
    """The delays of the records `recorded` (`record_delays`' rows, of one agency)
    recorded from `start` to `end`: ``records``, and when there are at least
    `MIN_JUDGED_RECORDS` of them ``median_delay_days``, ``p90_delay_days`` and
    ``recent_unarrived_share`` (for a window of `window_days`); None for no record."""
    when = pd.to_datetime(recorded["recorded_date"])
    days = recorded.loc[((when >= pd.Timestamp(start)) & (when <= pd.Timestamp(end)))
                        .to_numpy(), "delay_days"].to_numpy(dtype=np.float64)
    if len(days) < MIN_JUDGED_RECORDS:
        return {"records": len(days)} if len(days) else None
    return {"records": len(days), **_delay_figures(days, window_days=window_days)}


def _delay_figures(days: np.ndarray, *, window_days: int) -> dict[str, float]:
    """The median and 90th percentile of delays (days; not empty), and the share of a
    window's records they leave unrecorded (`unarrived_share`)."""
    return {"median_delay_days": float(np.median(days)),
            "p90_delay_days": float(np.quantile(days, 0.9)),
            "recent_unarrived_share": unarrived_share(days, window_days=window_days)}


def unarrived_share(delays: np.ndarray, *, window_days: int) -> float:
    """Of records dated evenly over a window of `window_days` before a day, the share not
    yet recorded on that day, for records delayed as `delays` are (days; not empty)."""
    return float(np.minimum(delays, window_days).mean() / window_days)


def agency_timeliness(late: LateInformation, *, window_days: int) -> pd.DataFrame:
    """Per agency (the index, every agency): the median and 90th percentile delay of the
    records that would have informed a referral, the share of those (over every referral)
    recorded only after it (``late_share``), and ``recent_unarrived_share`` for a window
    of `window_days`; None where the agency has no such record."""
    delays = late.delays.groupby("agency")["delay_days"]
    counts = late.by_referral.groupby("agency")[["informing", "late"]].sum()
    rows: dict[str, dict[str, float | None]] = {}
    for agency in AGENCIES:
        if agency not in delays.groups:
            rows[agency] = dict.fromkeys(TIMELINESS_COLUMNS)
            continue
        days = delays.get_group(agency).to_numpy()
        informing, late_records = (int(counts[c].get(agency, 0)) for c in ("informing", "late"))
        rows[agency] = {**_delay_figures(days, window_days=window_days),
                        "late_share": late_records / informing if informing else None}
    return pd.DataFrame.from_dict(rows, orient="index", columns=list(TIMELINESS_COLUMNS))
