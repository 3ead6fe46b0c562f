"""Monitoring after go-live: has the population or a feed moved?

Pure functions: they take the monitoring reference stored with the model version
(`model.monitoring_reference`) and the newer extract's feature rows and ratings, and
return JSON-ready sections and the checks that crossed a threshold of the governance
settings (`[monitoring]`): drift of the features and the score, and each agency's
coverage, overall and by group. `Check` is every monitoring check's record; the model's
accuracy on matured outcomes is `model.monitoring_outcomes`'s.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any, Final

import numpy as np
from scipy.stats import norm

from data_contracts.vocab import AGENCIES
from model.drift import feature_stability, population_stability_index
from model.fairness_groups import group_phrase
from model.fairness_multiplicity import METHOD, adjusted, p_text
from model.governance import MonitoringSettings
from model.labels import known_label
from model.monitoring_reference import (
    RECENT_WINDOW,
    Population,
    coverage,
    feature_bins,
    group_labels,
    missing_design_effects,
    score_shares,
    stored_coverage,
)

# A group's coverage gap crosses its threshold only when it widened by more than
# sampling noise: the one-sided p-value of log(ratio now) - log(ratio at training) (see
# `_widening_p`), adjusted for every group and agency judged in the run as the fairness
# audit adjusts its comparisons (`model.fairness_multiplicity.adjusted`, Benjamini-
# Hochberg), at most this false discovery rate (with one comparison, the 1% test alone).
GAP_LEVEL: Final = 0.01
# monitor.json's record of that correction (coverage section; absent before 7 December).
GAP_CORRECTION_KEY: Final = "group_gap_correction"
# ... and when the group has at least this many referrals without the agency's records:
# with fewer, the z test is not to be trusted (a probe's one-quarter extract crossed on
# 1 of 176 referrals against 2 of 1,566).
GAP_MIN_MISSING: Final = 10


@dataclass(frozen=True)
class Check:
    """One threshold of the governance settings, and whether this run crossed it."""

    kind: str
    subject: str
    crossed: bool
    message: str
    assessed: bool = True  # False: not judged (too few referrals, no outcomes), never crossed

    def to_json(self) -> dict[str, Any]:
        """As written in monitor.json."""
        return asdict(self)


def _agency_label(agency: str) -> str:
    return agency.replace("_", " ")


def enough_to_judge(n: float, settings: MonitoringSettings) -> bool:
    """Whether `n` referrals (a window, or a quarter of it; their effective number where
    families repeat, `monitoring_reference.effective_referrals`) are enough to judge drift
    and coverage on (`min_window_referrals`)."""
    return n >= settings.min_window_referrals


def too_few_to_judge(checks: list[Check], n: int, minimum: int,
                     effective: float | None = None) -> list[Check]:
    """`checks` of a window of `n` referrals, worth `effective` independent ones (fewer
    than `minimum`): shown, not judged."""
    worth = (f", worth {effective:,.0f} as families repeat"
             if effective is not None and effective < n else "")
    return [replace(check, crossed=False, assessed=False,
                    message=f"{check.message}: too few referrals to judge ({n:,}{worth}; "
                            f"at least {minimum:,})")
            for check in checks]


def _feature_words(name: str) -> str:
    """A feature as a check names it: its plain label (`model.labels`), then its name."""
    label = known_label(name)
    return f"'{label}' ({name})" if label else name


def drift(reference: dict[str, Any], population: Population,
          settings: MonitoringSettings) -> tuple[dict[str, Any], list[Check]]:
    """PSI of every model feature and of the score, against the reference."""
    bins = feature_bins(reference)
    columns = {name: population.features[name].to_numpy(dtype=np.float64) for name in bins}
    by_feature = feature_stability(bins, columns)
    score_psi = population_stability_index(np.asarray(reference["score"]),
                                           np.asarray(score_shares(population.score)))
    ranked = sorted(by_feature.items(), key=lambda item: -item[1])
    drifted = [(name, psi) for name, psi in ranked if psi > settings.feature_psi_max]
    checks = [Check("drift", "score", score_psi > settings.score_psi_max,
                    f"score distribution PSI {score_psi:.3f} "
                    f"(threshold {settings.score_psi_max:g})")]
    checks += [Check("drift", name, True, f"feature {_feature_words(name)} PSI {psi:.3f} "
                     f"(threshold {settings.feature_psi_max:g})")
               for name, psi in drifted]
    section = {"score_psi": score_psi, "features": dict(ranked),
               "features_over_threshold": len(drifted)}
    return section, checks


def coverage_fell(before: float, now: float, settings: MonitoringSettings) -> bool:
    """Whether an agency's coverage fell below the settings' share of its coverage at
    training (for agencies that covered enough referrals then to tell)."""
    return (before >= settings.coverage_min_training_share
            and now < before * settings.coverage_min_ratio)


def coverage_words(agency: str, *, recent: bool) -> tuple[str, str]:
    """A coverage check's subject and the words for what is counted."""
    if recent:
        return (f"{agency} ({RECENT_WINDOW})", f"{_agency_label(agency)} records dated in "
                f"the {RECENT_WINDOW[:-1]} days before the referral")
    return agency, f"{_agency_label(agency)} records"


def _coverage_drop(agency: str, before: float, now: float,
                   settings: MonitoringSettings, *, recent: bool = False) -> Check:
    subject, records = coverage_words(agency, recent=recent)
    return Check("coverage", subject, coverage_fell(before, now, settings),
                 f"{records} for {before:.0%} of referrals at training, {now:.0%} now")


def _missing_ratio(group_share: float, overall_share: float) -> float:
    """How many times as often a group's referrals have no record from the agency."""
    return (1 - group_share) / max(1 - overall_share, 1e-9)


def _log_gap(n_group: int, group_share: float, n_all: int, overall_share: float,
             effects: tuple[float, float] = (1.0, 1.0)) -> tuple[float, float]:
    """The log of a group's missing-record ratio and its sampling variance.

    The variance is the delta method's, with the group's referrals and the others' as
    two independent samples (the group is part of "all referrals"), each binomial times
    its design effect (`effects`: a family's referrals share records); half a referral
    is added to each count (Haldane-Anscombe) so that an empty count stays finite.
    """
    n_rest = max(n_all - n_group, 0)
    missing_group = n_group * (1 - group_share)
    missing_rest = max(n_all * (1 - overall_share) - missing_group, 0.0)
    group = (missing_group + 0.5) / (n_group + 1)
    rest = (missing_rest + 0.5) / (n_rest + 1)
    weight = n_group / max(n_all, 1)
    overall = weight * group + (1 - weight) * rest
    variance = ((1 / group - weight / overall) ** 2 * group * (1 - group) / (n_group + 1)
                * effects[0]
                + ((1 - weight) / overall) ** 2 * rest * (1 - rest) / (n_rest + 1) * effects[1])
    return float(np.log(group / overall)), variance


def _widening_p(agency: str, entry: dict[str, Any], now: dict[str, Any],
                old: dict[str, Any] | None, before: dict[str, Any],
                effects: tuple[float, float]) -> float | None:
    """The one-sided p-value of a group's gap having widened since training by no more
    than sampling noise explains (a z test of the log ratios), a family's referrals not
    taken as independent: the window's design effects (`effects`) stand for the reference
    period's too, whose families are not stored. None for a group of every referral then
    and now (no others to compare it with)."""
    log_now, var_now = _log_gap(entry["n"], entry["shares"][agency], now["n"],
                                now["overall"][agency], effects)
    log_then, var_then = (_log_gap(old["n"], old["shares"][agency], before["n"],
                                   before["overall"][agency], effects) if old else (0.0, 0.0))
    if var_now + var_then <= 0:
        return None
    return float(norm.sf((log_now - log_then) / np.sqrt(var_now + var_then)))


def _missing(n: int, share: float) -> int:
    return round(n * (1 - share))


def _gap_figures(agency: str, group: tuple[str, str], before: dict[str, Any],
                 now: dict[str, Any], effects: tuple[float, float]) -> dict[str, Any]:
    """A group's gap from one agency now and at training, and, on at least
    `GAP_MIN_MISSING` of the group's referrals without a record, its widening's p-value
    (`_widening_p`; None on fewer: not judged)."""
    attribute, value = group
    entry = now["by_group"][attribute][value]
    old = before["by_group"].get(attribute, {}).get(value)
    missing = _missing(entry["n"], entry["shares"][agency])
    return {"agency": agency, "group": group, "entry": entry, "old": old, "missing": missing,
            "ratio": _missing_ratio(entry["shares"][agency], now["overall"][agency]),
            "old_ratio": (_missing_ratio(old["shares"][agency], before["overall"][agency])
                          if old else 1.0),
            "p": (_widening_p(agency, entry, now, old, before, effects)
                  if missing >= GAP_MIN_MISSING else None)}


def _agency_gap(gap: dict[str, Any], comparisons: int, now: dict[str, Any],
                settings: MonitoringSettings) -> Check:
    """A group's records from one agency missing far more often than for all referrals;
    crossed when the gap widened since training by the settings' share and by more than
    sampling noise after correction for the `comparisons` judged (adjusted p-value at most
    `GAP_LEVEL`), on at least `GAP_MIN_MISSING` of the group's referrals without a record."""
    agency, (attribute, value), entry, old = gap["agency"], gap["group"], gap["entry"], gap["old"]
    ratio, old_ratio, missing, p = gap["ratio"], gap["old_ratio"], gap["missing"], gap["p"]
    adjusted_p = gap.get("adjusted_p")
    wider = ratio > old_ratio * (1 + settings.coverage_group_gap_rise)
    crossed = wider and adjusted_p is not None and adjusted_p <= GAP_LEVEL
    at_training = f"{old_ratio:.1f} times at training" if old else "not present at training"
    after = f"after correction for the {comparisons} group and agency pairs judged"
    ps = ("" if p is None or adjusted_p is None
          else f" (p {p_text(p)}, adjusted p {p_text(adjusted_p)})")
    if crossed:
        verdict = (f"crossed: more than {settings.coverage_group_gap_rise:.0%} wider than at "
                   f"training, beyond sampling noise {after}{ps}")
    elif wider and p is None:
        verdict = ("not judged: wider than at training, but too few missing records to "
                   f"judge (fewer than {GAP_MIN_MISSING})")
    elif wider and p is not None and p <= GAP_LEVEL:
        verdict = ("not crossed: wider than at training and beyond sampling noise alone, "
                   f"but not {after}{ps}")
    elif wider:
        verdict = (f"not crossed: wider than at training, but within the sampling noise of "
                   f"{old['n'] if old else 0:,} and {entry['n']:,} referrals{ps}")
    else:
        verdict = (f"not crossed: no more than {settings.coverage_group_gap_rise:.0%} wider "
                   "than at training")
    counts = (f"{missing:,} of {entry['n']:,} against "
              f"{_missing(now['n'], now['overall'][agency]):,} of {now['n']:,}")
    return Check("coverage_gap", f"{agency}/{attribute}={value}", crossed,
                 f"{_agency_label(agency)} records missing {ratio:.1f} times as often for "
                 f"{group_phrase({attribute: value})} as for all referrals "
                 f"({counts}; {at_training}): {verdict}",
                 assessed=p is not None or not wider)


def _group_gaps(before: dict[str, Any], now: dict[str, Any], population: Population,
                settings: MonitoringSettings) -> tuple[list[Check], dict[str, Any]]:
    """The gaps listed (at least `coverage_group_gap_max`), each group of at least
    `min_group_referrals` and agency judged one family of comparisons (see `GAP_LEVEL`),
    and the correction's record, with each listed gap's raw and adjusted p-value."""
    gaps = []
    for attribute, groups in now["by_group"].items():
        labels = group_labels(population.features, attribute)
        for value, entry in groups.items():
            if entry["n"] < settings.min_group_referrals:
                continue
            effects = missing_design_effects(population.features, population.families,
                                             labels == value)
            gaps += [_gap_figures(agency, (attribute, value), before, now, effects[agency])
                     for agency in AGENCIES]
    judged = [gap for gap in gaps if gap["p"] is not None]
    for gap, adjusted_p in zip(judged, adjusted([gap["p"] for gap in judged]), strict=True):
        gap["adjusted_p"] = adjusted_p
    listed = [gap for gap in gaps if gap["ratio"] >= settings.coverage_group_gap_max]
    checks = [_agency_gap(gap, len(judged), now, settings) for gap in listed]
    p_values = {check.subject: {"p_value": round(gap["p"], 6), "adjusted_p": gap["adjusted_p"]}
                for gap, check in zip(listed, checks, strict=True) if gap["p"] is not None}
    return checks, {"method": METHOD, "level": GAP_LEVEL, "comparisons": len(judged),
                    "p_values": p_values}


def coverage_change(reference: dict[str, Any], population: Population,
                    settings: MonitoringSettings) -> tuple[dict[str, Any], list[Check]]:
    """Each agency's coverage at training and now, overall and by group."""
    before, now = stored_coverage(reference), coverage(population.features)
    checks = [_coverage_drop(a, before["overall"][a], now["overall"][a], settings)
              for a in AGENCIES]
    if "recent" in before:  # a version trained before 6 December has none
        checks += [_coverage_drop(a, before["recent"][a], now["recent"][a], settings,
                                  recent=True) for a in AGENCIES]
    gaps, correction = _group_gaps(before, now, population, settings)
    return {"training": before, "now": now, GAP_CORRECTION_KEY: correction}, checks + gaps
