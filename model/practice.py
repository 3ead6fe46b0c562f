"""Practitioners and the score: how often triage staff agree with the band, and how it ends.

Takes practitioners' current decisions (one row per referral: the band they were
shown, the RAG they chose, the reason) joined by the caller to the referral's
characteristics and, where the 365-day follow-up has completed, its outcome.

A family's referrals (`model.families`: a person referred again, children of one
household) are often decided alike, by one practitioner reading one history, so they are
not independent draws: each rate's interval is Wilson's on the effective number of
decisions, their number over the rate's design effect (`model.families.design_effect`),
as the calibration check takes its interval. Until 7 December the decisions were counted
as independent, and a family decided alike many times made an interval too narrow.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import pandas as pd

from data_contracts.vocab import LABEL_WINDOW_DAYS
from model.families import design_effect, families_of
from model.governance import MonitoringSettings
from model.monitoring import Check
from model.monitoring_reference import COVERAGE_GROUPS, group_labels
from model.overrides import override_direction
from model.score_intervals import wilson_interval

TOP_REASONS: Final = 10


def rate_with_interval(k: int, n: int, effect: float = 1.0) -> dict[str, Any]:
    """A proportion with its 95% Wilson interval (None when n is 0), on the effective
    number n / `effect` (a design effect, `model.families.design_effect`), which the
    entry gives as ``effective_n`` when below n."""
    if n == 0:
        return {"k": 0, "n": 0, "rate": None, "ci": None}
    low, high = wilson_interval(k / n, n / effect)
    entry = {"k": k, "n": n, "rate": k / n, "ci": [low, high]}
    return entry | ({"effective_n": round(n / effect, 1)} if effect > 1 else {})


def rate_of(counted: np.ndarray, families: np.ndarray) -> dict[str, Any]:
    """The share of `counted` (True/False per decision) with its interval, a family's
    decisions not taken as independent."""
    return rate_with_interval(int(counted.sum()), len(counted),
                              design_effect(counted, families))


def override_directions(decisions: pd.DataFrame) -> np.ndarray:
    """Per decision: "agreed", "up" or "down", as `model.overrides.override_direction`
    says (the governance page's override rates count the same way)."""
    return np.array([override_direction(shown, chosen) for shown, chosen in
                     zip(decisions["rag"], decisions["practitioner_rag"], strict=True)],
                    dtype="U6")


def _summary(direction: np.ndarray, families: np.ndarray) -> dict[str, Any]:
    return {"n": len(direction),
            "agreement": rate_of(direction == "agreed", families),
            "override_up": rate_of(direction == "up", families),
            "override_down": rate_of(direction == "down", families)}


def _top_reasons(decisions: pd.DataFrame, direction: np.ndarray) -> list[dict[str, Any]]:
    """The commonest override reasons, as the practitioner first wrote each: grouped
    ignoring case and spacing, never shown folded ("DA incidents" keeps its acronym)."""
    reasons = decisions.loc[direction != "agreed", "reason"].dropna().astype(str).str.strip()
    key = reasons.str.split().str.join(" ").str.casefold()
    counts = key.value_counts(sort=False)
    # Most frequent first; a tie keeps the order in which the reasons first appear.
    counts = counts.iloc[np.argsort(-counts.to_numpy(), kind="stable")].head(TOP_REASONS)
    written = reasons.groupby(key, sort=False).first()
    return [{"reason": written[folded], "count": int(count)} for folded, count in counts.items()]


def _outcomes(decisions: pd.DataFrame, direction: np.ndarray,
              families: np.ndarray) -> dict[str, Any]:
    if "label" not in decisions:
        return {}
    label = pd.to_numeric(decisions["label"], errors="coerce").to_numpy(dtype=np.float64)
    matured = ~np.isnan(label)
    return {kind: rate_of(label[chosen] == 1, families[chosen])
            for kind in ("agreed", "up", "down")
            for chosen in [matured & (direction == kind)]}


def _follow_up(decisions: pd.DataFrame) -> dict[str, Any]:
    """How many decided referrals' follow-up has completed (their outcome is known), and
    the day the first of the others' completes (its referral date plus the follow-up)."""
    if "label" not in decisions:
        return {}
    matured = pd.to_numeric(decisions["label"], errors="coerce").notna().to_numpy()
    dated = decisions.get("referral_date", pd.Series(pd.NaT, index=decisions.index))
    dates = pd.to_datetime(dated, errors="coerce").loc[~matured].dropna()
    first = (dates.min() + pd.Timedelta(days=LABEL_WINDOW_DAYS)).date() if len(dates) else None
    return {"decided": len(decisions), "matured": int(matured.sum()),
            "days": LABEL_WINDOW_DAYS, "first_completes": first and first.isoformat()}


def practice(decisions: pd.DataFrame, *, band_names: Sequence[str],
             settings: MonitoringSettings) -> tuple[dict[str, Any], list[Check]]:
    """Agreement and overrides overall, by band and by group; reasons; outcomes. A
    family's decisions (`model.families.families_of`) are not taken as independent."""
    direction = override_directions(decisions)
    families = families_of(decisions)
    bands = decisions["band"].astype(str).to_numpy()
    section: dict[str, Any] = {
        "overall": _summary(direction, families),
        "by_band": {b: _summary(direction[bands == b], families[bands == b])
                    for b in band_names},
        "by_group": {attribute: {value: _summary(direction[labels == value],
                                                 families[labels == value])
                                 for value in sorted(set(labels.tolist()))}
                     for attribute in COVERAGE_GROUPS
                     for labels in [group_labels(decisions, attribute)]},
        "top_override_reasons": _top_reasons(decisions, direction),
        "outcome_rate_by_decision": _outcomes(decisions, direction, families),
        "outcome_follow_up": _follow_up(decisions),
    }
    checks = []
    for band, summary in section["by_band"].items():
        if summary["n"] < settings.min_decisions:
            continue
        overridden = 1 - summary["agreement"]["rate"]
        checks.append(Check(
            "practice", band, bool(overridden > settings.override_rate_max),
            f"practitioners overrode {overridden:.0%} of {summary['n']:,} decisions "
            f"on the {band} band (threshold {settings.override_rate_max:.0%})"))
    return section, checks
