"""Response timescales in hours, read from the governance board's own words.

A band's `response_timescale` is text the board writes ("Partner checks within 2
hours"). The triage queue compares a referral's waiting time with it, so the
shortest duration the text names ("N minutes|hours|days|working days") is the
deadline; text naming none (for example "same day") has no deadline to show.
"""

from __future__ import annotations

import re

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(working\s+days?|days?|hours?|hrs?|minutes?|mins?)",
                       re.IGNORECASE)
# A working day counts as a calendar day here: the queue errs towards showing "overdue".
_HOURS_PER_UNIT = {"minute": 1 / 60, "min": 1 / 60, "hour": 1.0, "hr": 1.0, "day": 24.0}


def _unit_hours(unit: str) -> float:
    word = unit.lower().split()[-1].rstrip("s")
    return _HOURS_PER_UNIT[word]


def response_hours(timescale: str) -> float | None:
    """The shortest duration named in a response timescale, in hours (None if none is)."""
    durations = [float(amount) * _unit_hours(unit)
                 for amount, unit in _DURATION.findall(timescale)]
    return min(durations) if durations else None
