"""`safeguard monitor`'s check of how late each agency's records arrive.

A feed whose records start to arrive months after their events soon records about its
usual number each quarter again, of older events (`monitor_record_falls` counts them).
But a referral's point-in-time features see only what was recorded by its date, so its
recent records mostly go unseen: coverage falls, and nothing said why. The
partnership report tells a late agency from a stopped one by `late_records.arrives_late`
(most of the records of the 90 days before a referral not yet recorded by it, on the
agency's own delays: `pipelines.timeliness.unarrived_share`). The monitor judges by the
same rule the records each agency recorded in the monitored window against those it
recorded in a span as long, ending on the training extract's date: late now and not at
training crosses a threshold naming the agency; late at training too is listed, not
crossed (the model learned from records that arrived so). The quarter a delay begins in
records fewer (two probes' police: 545 against a usual 2,304), a fall
`model.monitor_record_falls` lists with a note that the records arrive late.
Records are taken by the day they were recorded (the event date when a record has none,
a delay of 0, as the feed specification says): taking them by event date would leave
out the late ones, not yet recorded at the extract date. Every record counts, not only
those that would have informed a referral as in the partnership report, so a window with
few referrals is judged too.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

import pandas as pd

from data_contracts.vocab import AGENCIES
from model.data import PreparedExtract
from model.late_records import (
    MOSTLY,
    RECENT_DAYS,
    arrives_late,
    day_count,
    delay_words,
    unrecorded_words,
)
from model.monitoring import Check
from pipelines.timeliness import MIN_JUDGED_RECORDS, span_delays

# monitor.json's check kind, and its key for each agency's delays in the window.
KIND: Final = "record_delay"
SECTION: Final = "record_delays"


def _check(agency: str, now: dict[str, Any] | None, before: dict[str, Any] | None, *,
           start: dt.date, end: dt.date) -> Check:
    name, span = agency.replace("_", " "), f"from {start.isoformat()} to {end.isoformat()}"
    if now is None or "recent_unarrived_share" not in now:
        held = 0 if now is None else now["records"]
        return Check(KIND, agency, False, f"{name}: {held:,} records recorded {span}, too few "
                     f"(under {MIN_JUDGED_RECORDS}) to judge how late they arrive", assessed=False)
    if before is None or "recent_unarrived_share" not in before:
        was_late = False
        then = ("no records at training to compare with" if before is None else
                f"{before['records']:,} records at training, too few to compare with")
    else:
        was_late = arrives_late(before["recent_unarrived_share"])
        then = (f"{before['recent_unarrived_share']:.0%} at training, a median of "
                f"{day_count(before['median_delay_days'])}")
    unrecorded = unrecorded_words(now["recent_unarrived_share"])
    if not arrives_late(now["recent_unarrived_share"]):
        return Check(KIND, agency, False, f"{name}: {unrecorded}, under {MOSTLY:.0%} ({then})")
    if was_late:
        return Check(KIND, agency, False, f"{name}: records arrive late ({delay_words(now)}), "
                     f"as at training ({then}): not news since training")
    return Check(KIND, agency, True,
                 f"{name}: records recorded {span} arrive late ({delay_words(now)}): "
                 f"{unrecorded}, against {then}, so the window's scores went without "
                 "most of its recent records (how late records arrive)")


def record_delay_checks(prepared: PreparedExtract, delays: pd.DataFrame, *, start: dt.date,
                        end: dt.date, trained: dt.date
                        ) -> tuple[list[dict[str, Any]], list[Check]]:
    """Per agency that shared records, the delays of those recorded in the window (`start`
    to `end`) and in as many days up to `trained`, the training extract's date
    (`monitor.json`'s `record_delays`), and a check crossed when they arrive late now
    (`late_records.arrives_late`) and did not at training. `delays`: the extract's records
    (`pipelines.timeliness.record_delays`)."""
    since = trained - (end - start)
    by_agency = dict(tuple(delays.groupby("agency", sort=False)))
    section, checks = [], []
    for agency in (a for a in AGENCIES if a not in prepared.shared_nothing):
        own = by_agency.get(agency, delays.iloc[:0])
        now = span_delays(own, start=start, end=end, window_days=RECENT_DAYS)
        before = span_delays(own, start=since, end=trained, window_days=RECENT_DAYS)
        check = _check(agency, now, before, start=start, end=end)
        section.append({"agency": agency, "window": now, "training": before,
                        "late": check.assessed and now is not None
                        and arrives_late(now["recent_unarrived_share"]),
                        "crossed": check.crossed})
        checks.append(check)
    return section, checks
