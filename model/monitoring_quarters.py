"""Agency coverage by quarter of the monitored window: a feed that stops part-way through.

The whole-window coverage (`monitoring.coverage_change`) averages the window: a probe's
health feed stopped half-way through a 12-month window, and its recent coverage read 19%
over the window against 33% at training, above half, so nothing crossed. Each calendar
quarter of the window (the partnership report's quarters; the window's first and last
may be partial) is judged by the same rule (`monitoring.coverage_fell`) against the
same figures at training, when it holds enough referrals (`monitoring.enough_to_judge`).
Every quarter is judged, not only the latest, so a feed that stopped and resumed within
the window is named too.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from data_contracts.vocab import AGENCIES
from model.governance import MonitoringSettings
from model.monitoring import Check, coverage_fell, coverage_words, enough_to_judge
from model.monitoring_reference import (
    Population,
    effective_referrals,
    overall_coverage,
    recent_coverage,
)

MEASURES = ("overall", "recent")  # any record held; one dated in the 90 days before


def _quarter(rows: pd.DataFrame, period: pd.Period, *, start: dt.date, end: dt.date,
             families: np.ndarray | None, settings: MonitoringSettings) -> dict[str, Any]:
    effective = effective_referrals(rows, families)
    return {"quarter": str(period), "from": start.isoformat(), "to": end.isoformat(),
            "referrals": len(rows), "effective_referrals": round(effective, 1),
            "judged": enough_to_judge(effective, settings),
            "overall": overall_coverage(rows), "recent": recent_coverage(rows)}


def quarters_of(population: Population, settings: MonitoringSettings) -> list[dict[str, Any]]:
    """Each calendar quarter of the window (clipped to it): its dates, referrals, whether
    it holds enough to judge, and each agency's coverage (both measures)."""
    dates = pd.to_datetime(population.features["referral_date"]).dt.date.to_numpy()
    quarters = []
    for period in pd.period_range(population.start, population.end, freq="Q"):
        start = max(population.start, period.start_time.date())
        end = min(population.end, period.end_time.date())
        inside = (dates >= start) & (dates <= end)
        families = None if population.families is None else population.families[inside]
        quarters.append(_quarter(population.features.loc[inside], period, start=start,
                                 end=end, families=families, settings=settings))
    return quarters


def _figure(quarter: dict[str, Any], share: float) -> str:
    return f"{quarter['quarter']} {share:.0%} of {quarter['referrals']:,}"


def _below(quarter: dict[str, Any], before: dict[str, Any],
           settings: MonitoringSettings) -> dict[str, list[str]]:
    """Per measure, the agencies whose coverage in a judged quarter fell."""
    if not quarter["judged"]:
        return {measure: [] for measure in MEASURES if measure in before}
    return {measure: [a for a in AGENCIES
                      if coverage_fell(before[measure][a], quarter[measure][a], settings)]
            for measure in MEASURES if measure in before}


def _check(agency: str, before: float, quarters: list[dict[str, Any]], *, measure: str,
           settings: MonitoringSettings) -> Check:
    """One agency's coverage by quarter: crossed when a judged quarter fell."""
    subject, records = coverage_words(agency, recent=measure == "recent")
    judged = [q for q in quarters if q["judged"]]
    fell = [q for q in judged if agency in q["below"][measure]]
    if fell:
        first = fell[0]
        return Check("coverage", f"{subject} by quarter", True,
                     f"{records} for {before:.0%} of referrals at training, under half that "
                     f"from {first['quarter']} (referrals from {first['from']}): "
                     + "; ".join(_figure(q, q[measure][agency]) for q in fell))
    if not judged:
        return Check("coverage", f"{subject} by quarter", False,
                     f"{records} by quarter: no quarter holds enough referrals to judge "
                     f"(at least {settings.min_window_referrals:,})", assessed=False)
    return Check("coverage", f"{subject} by quarter", False,
                 f"{records} for {before:.0%} of referrals at training; by quarter: "
                 + "; ".join(_figure(q, q[measure][agency]) for q in judged))


def coverage_by_quarter(reference: dict[str, Any], population: Population,
                        settings: MonitoringSettings
                        ) -> tuple[list[dict[str, Any]], list[Check]]:
    """Each quarter's coverage (the report's `coverage.by_quarter`), and per agency and
    measure a check crossed when a quarter with enough referrals fell below the settings'
    share of the coverage at training (a version trained before 6 December has no recent
    coverage stored: "any record" only)."""
    before = reference["coverage"]
    quarters = [quarter | {"below": _below(quarter, before, settings)}
                for quarter in quarters_of(population, settings)]
    checks = [_check(agency, before[measure][agency], quarters, measure=measure,
                     settings=settings)
              for measure in MEASURES if measure in before for agency in AGENCIES]
    return quarters, checks
