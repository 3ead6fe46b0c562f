"""Monitoring after go-live: has the population, a feed or the model's accuracy moved?

Pure functions: they take the monitoring reference stored with the model version
(`model.monitoring_reference`), the newer extract's feature rows and ratings, matured
outcomes and practitioners' decisions, and return JSON-ready sections and the checks
that crossed a threshold of the governance settings (`[monitoring]`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from data_contracts.vocab import AGENCIES
from model.drift import feature_stability, population_stability_index
from model.evaluate import classification_metrics
from model.governance import MonitoringSettings
from model.monitoring_reference import Population, coverage, feature_bins, score_shares


@dataclass(frozen=True)
class Check:
    """One threshold of the governance settings, and whether this run crossed it."""

    kind: str
    subject: str
    crossed: bool
    message: str

    def to_json(self) -> dict[str, Any]:
        """As written in monitor.json."""
        return asdict(self)


def _agency_label(agency: str) -> str:
    return agency.replace("_", " ")


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
    checks += [Check("drift", name, True,
                     f"feature {name} PSI {psi:.3f} (threshold {settings.feature_psi_max:g})")
               for name, psi in drifted]
    section = {"score_psi": score_psi, "features": dict(ranked),
               "features_over_threshold": len(drifted)}
    return section, checks


def _coverage_drop(agency: str, before: float, now: float,
                   settings: MonitoringSettings) -> Check:
    crossed = (before >= settings.coverage_min_training_share
               and now < before * settings.coverage_min_ratio)
    return Check("coverage", agency, crossed,
                 f"{_agency_label(agency)} records for {before:.0%} of referrals at training, "
                 f"{now:.0%} now")


def _missing_ratio(group_share: float, overall_share: float) -> float:
    """How many times as often a group's referrals have no record from the agency."""
    return (1 - group_share) / max(1 - overall_share, 1e-9)


def _agency_gap(agency: str, group: tuple[str, str], before: dict[str, Any], now: dict[str, Any],
                entry: dict[str, Any], old: dict[str, Any] | None,
                settings: MonitoringSettings) -> Check | None:
    """A group's records from one agency missing far more often than for all referrals
    (None below the gap the settings name); crossed when the gap grew since training."""
    ratio = _missing_ratio(entry["shares"][agency], now["overall"][agency])
    old_ratio = (_missing_ratio(old["shares"][agency], before["overall"][agency])
                 if old else 1.0)
    if ratio < settings.coverage_group_gap_max:
        return None
    crossed = ratio > old_ratio * (1 + settings.coverage_group_gap_rise)
    attribute, value = group
    return Check("coverage_gap", f"{agency}/{attribute}={value}", crossed,
                 f"{_agency_label(agency)} records missing {ratio:.1f} times as often for "
                 f"{attribute.replace('_', ' ')} {value} as for all referrals "
                 f"({old_ratio:.1f} at training)")


def _group_gaps(before: dict[str, Any], now: dict[str, Any],
                settings: MonitoringSettings) -> list[Check]:
    checks = []
    for attribute, groups in now["by_group"].items():
        for value, entry in groups.items():
            if entry["n"] < settings.min_group_referrals:
                continue
            old = before["by_group"].get(attribute, {}).get(value)
            gaps = (_agency_gap(agency, (attribute, value), before, now, entry, old, settings)
                    for agency in AGENCIES)
            checks += [gap for gap in gaps if gap is not None]
    return checks


def coverage_change(reference: dict[str, Any], population: Population,
                    settings: MonitoringSettings) -> tuple[dict[str, Any], list[Check]]:
    """Each agency's coverage at training and now, overall and by group."""
    before, now = reference["coverage"], coverage(population.features)
    checks = [_coverage_drop(a, before["overall"][a], now["overall"][a], settings)
              for a in AGENCIES]
    checks += _group_gaps(before, now, settings)
    return {"training": before, "now": now}, checks


def matured_outcomes(reference: dict[str, Any], *, y: np.ndarray, probability: np.ndarray,
                     band: Sequence[str], band_names: Sequence[str],
                     settings: MonitoringSettings) -> tuple[dict[str, Any], list[Check]]:
    """ROC AUC, ECE and outcome rate by band of referrals matured since training."""
    training = reference["outcomes"]
    n = len(y)
    section: dict[str, Any] = {"n": n, "training": training}
    if n == 0:
        section["note"] = "no referral's 365-day follow-up has completed since training"
        return section, []
    metrics = classification_metrics(y, probability)
    labels = np.asarray(band)
    section["now"] = {
        "roc_auc": metrics["roc_auc"], "ece": metrics["ece"],
        "outcome_rate": metrics["outcome_rate"],
        "rates_by_band": {b: {"n": int((labels == b).sum()),
                              "observed_rate": float(y[labels == b].mean())
                              if (labels == b).any() else None} for b in band_names}}
    if n < settings.min_matured_referrals:
        section["note"] = (f"{n} matured referrals: too few to judge "
                           f"(at least {settings.min_matured_referrals})")
        return section, []
    auc_drop = training["roc_auc"] - metrics["roc_auc"]
    ece_rise = metrics["ece"] - training["ece"]
    return section, [
        Check("outcomes", "roc_auc", bool(auc_drop > settings.roc_auc_drop_max),
              f"ROC AUC {metrics['roc_auc']:.3f} on {n:,} matured referrals, "
              f"{training['roc_auc']:.3f} at training"),
        Check("outcomes", "ece", bool(ece_rise > settings.ece_rise_max),
              f"ECE {metrics['ece']:.3f} on {n:,} matured referrals, "
              f"{training['ece']:.3f} at training"),
    ]
