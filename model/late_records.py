"""Records that arrive late, told apart from a feed that stopped.

A feed that stopped (no records from some quarter to the extract date, a fall of
`model.record_falls`) and records that arrive late (most of a recent window's unrecorded
at the referral, by the agency's own delays: `pipelines.timeliness.agency_timeliness`)
both keep recent reach low; `late_or_stopped` tells them apart in words, from the data,
never the agency's name. `arrives_late` is the rule the monitor judges by too
(`model.monitor_record_delays`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, Final, cast

import pandas as pd

from data_contracts.vocab import AGENCIES
from model.late_warning import LateAgency
from model.monitoring_reference import RECENT_WINDOW
from pipelines.manifest import WINDOWS
from pipelines.timeliness import record_delays, span_delays

# Recent reach's window, in days; over `MOSTLY` of its records unrecorded is late.
RECENT_DAYS: Final = cast(int, dict(WINDOWS)[RECENT_WINDOW])
MOSTLY: Final = 0.5
# Whether records arrive late now is judged on those recorded in the latest half year:
# over the whole period, a feed late for its last six months read a median of 2 days.
LATEST_DAYS: Final = 182
LATEST_COLUMNS: Final = ("records", "median_delay_days", "p90_delay_days",
                         "recent_unarrived_share")
# Records recorded more than a year after their event are a backlog or corrections, not
# the agency's usual timeliness (`latest_delays`).
BACKLOG_DAYS: Final = 365


def day_count(days: float) -> str:
    """A number of days in words: "1 day", "12 days"."""
    return f"{days:,.0f} day{'' if round(days) == 1 else 's'}"


def delay_words(row: Mapping[str, Any]) -> str:
    """A median and 90th-percentile delay in words (``median_delay_days``, ``p90_delay_days``)."""
    months = round(row["median_delay_days"] * 12 / 365.25)
    return (f"a median of {day_count(row['median_delay_days'])} after the event"
            f"{f', about {months} months' if months >= 2 else ''}; 90th percentile "
            f"{day_count(row['p90_delay_days'])}")


def unrecorded_words(unarrived_share: float, *, past: bool = False) -> str:
    """The share of a referral's recent window not yet recorded by it, in words (the monitor
    says it in the present, the partnership report of its period in the past)."""
    return (f"about {unarrived_share:.0%} of the records of the {RECENT_DAYS} days before a "
            f"referral {'had not been' if past else 'not yet'} recorded by it")


def arrives_late(unarrived_share: float | None) -> bool:
    """Whether an agency's records arrive late: most of a recent window's records not yet
    recorded (`pipelines.timeliness.unarrived_share`)."""
    return unarrived_share is not None and unarrived_share > MOSTLY


def latest_delays(recorded: pd.DataFrame, *, extract_date: dt.date) -> pd.DataFrame:
    """Per agency (the index), the delays of its records recorded in the `LATEST_DAYS`
    up to the extract date (`pipelines.timeliness.span_delays`; `recorded`: its
    `record_delays`, all of them or those recorded since the latest days began), as
    ``latest_`` columns; records of events over `BACKLOG_DAYS` before they were recorded
    left out: a backlog loaded at once, or old records corrected, tell nothing of how late
    the agency's records of the time arrive (an independent probe's 150 old housing
    records, loaded on one day, read "a median of 1,272 days" for a feed recording within
    a week)."""
    start = extract_date - dt.timedelta(days=LATEST_DAYS - 1)
    recorded = recorded[recorded["delay_days"].to_numpy() <= BACKLOG_DAYS]
    by_agency = dict(tuple(recorded.groupby("agency", sort=False)))
    rows = {agency: span_delays(by_agency.get(agency, recorded.iloc[:0]), start=start,
                                end=extract_date, window_days=RECENT_DAYS) or {}
            for agency in AGENCIES}
    return pd.DataFrame.from_dict(
        {agency: {f"latest_{name}": row.get(name) for name in LATEST_COLUMNS}
         for agency, row in rows.items()}, orient="index")


def late_in_extract(feeds: Mapping[str, pd.DataFrame], *, extract_date: dt.date
                    ) -> tuple[LateAgency, ...]:
    """The agencies of an extract whose records arrive late now (`arrives_late`, judged on
    those recorded in the `LATEST_DAYS` up to the extract date, as the partnership report
    judges), each with its delays in words: a score of the extract tells each referral
    dated in those days that its recent records of them had mostly not arrived by then."""
    since = extract_date - dt.timedelta(days=LATEST_DAYS - 1)
    latest = latest_delays(record_delays(feeds, since=since), extract_date=extract_date)
    found = []
    for agency, row in latest.iterrows():
        if arrives_late(row["latest_recent_unarrived_share"]):
            delays = delay_words({"median_delay_days": row["latest_median_delay_days"],
                                  "p90_delay_days": row["latest_p90_delay_days"]})
            found.append(LateAgency(str(agency), delays, LATEST_DAYS, RECENT_DAYS,
                                    applies_from=since.isoformat()))
    return tuple(found)


def _judged_delays(row: Mapping[str, Any], latest_days: int
                   ) -> tuple[dict[str, Any], str, bool]:
    """The delays lateness is judged on, their words, and whether only the latest days
    are late: those of the records recorded in the latest `latest_days` (``latest_``
    columns) when there are enough, else the whole period's. The words name the latest
    days when the whole period would not call the agency late (a feed late for its last
    months), beside the whole period's median."""
    latest = row.get("latest_recent_unarrived_share") is not None
    judged = {name: row[f"latest_{name}"] for name in
              ("median_delay_days", "p90_delay_days", "recent_unarrived_share")
              } if latest else dict(row)
    if not arrives_late(judged.get("recent_unarrived_share")):
        return judged, "", False  # (not late: no words needed)
    if not latest or arrives_late(row.get("recent_unarrived_share")) or (
            row.get("median_delay_days") is None):
        return judged, delay_words(judged), False
    return judged, (f"those recorded in the latest {latest_days} days: {delay_words(judged)}; "
                    f"over the whole period a median of {day_count(row['median_delay_days'])}"
                    ), True


def note_late_falls(falls: Sequence[dict[str, Any]], late: Mapping[str, str]) -> None:
    """Say, in the text of each fall of an agency whose records arrive late (`late`: the
    agency, and the first quarter the delay can have emptied: that of the span lateness
    was judged on, less the delay; an older fall is not its doing) that still recorded
    some, that the records arriving late moved them into later quarters: two probes'
    police, late from one quarter on, recorded 545 in it against a usual 2,304, listed
    under a feed that stops beside words saying it had not stopped."""
    for fall in falls:
        if fall["agency"] in late and fall["records"] > 0 and (
                str(fall["to_quarter"]) >= late[fall["agency"]]):
            fall["text"] += ("; its records arrive late, which moves them into later "
                             "quarters: fewer recorded, not necessarily fewer shared")
            fall["late"] = True


def late_or_stopped(overall: Sequence[Mapping[str, Any]], falls: Sequence[Mapping[str, Any]],
                    latest: Mapping[str, dt.date], *, to_quarter: str,
                    latest_days: int) -> list[dict[str, Any]]:
    """The sharing agencies whose records arrive late or whose feed stopped (a fall of no
    records running to `to_quarter`, the extract date's), each with the words that tell
    the two apart. `overall`: rows with ``agency``, ``shared``, ``recent_reach``,
    `agency_timeliness`'s columns and the same of the records recorded in the latest
    `latest_days` (``latest_`` columns: lateness is judged on them when there are enough,
    so a feed late for its last months is named, which the whole period hides); `falls`:
    `record_falls`; `latest`: `latest_recorded`."""
    stops = {str(f["agency"]): str(f["from_quarter"]) for f in falls
             if f["records"] == 0 and f["to_quarter"] == to_quarter}
    found = []
    for row in overall:
        judged, delays, latest_only = _judged_delays(row, latest_days)
        agency, unarrived = str(row["agency"]), judged.get("recent_unarrived_share")
        late = arrives_late(unarrived)
        if not row.get("shared", True) or not (late or agency in stops):
            continue
        name, when = agency.replace("_", " ").capitalize(), latest.get(agency)
        # The whole period's recent reach, unless lateness is judged on the latest days.
        reach = ("" if row.get("recent_reach") is None or latest_only
                 else f" ({row['recent_reach']:.1%})")
        last = when.isoformat() if when else ""
        # Said from its latest record, when known: the quarter alone read as a later stop
        # (a probe's health, silent from 30 July, "no records recorded from 2026Q4").
        stop = ("" if agency not in stops else
                f"no records recorded after {last} (none from {stops[agency]} to the "
                "extract date)" if last else
                f"no records recorded from {stops[agency]} to the extract date")
        if late and stop:
            text = (f"{name}'s records arrive late ({delays}) and its feed "
                    f"stopped: {stop}. Its recent reach{reach} is low for both reasons.")
        elif late:
            unrecorded = unrecorded_words(cast(float, unarrived), past=True)
            text = (f"{name}'s records arrive late ({delays}): "
                    f"{unrecorded}, so its recent reach{reach}"
                    f"{f' over the latest {latest_days} days' if latest_only else ''} is low "
                    f"because records of the last {RECENT_DAYS} days had mostly not arrived "
                    "yet, not because it stopped sharing"
                    f"{f' (its latest record was recorded on {last})' if last else ''}.")
        else:
            delay = ("" if row.get("median_delay_days") is None else
                     f" (a median of {day_count(row['median_delay_days'])} after the event)")
            text = (f"{name} stopped sharing: {stop}. Its recent reach falls from then "
                    f"because no records arrive, not because its records arrive late{delay}.")
        found.append({"agency": agency, "late": late, "stopped": agency in stops,
                      "latest_recorded": last or None, "text": text})
    return found
