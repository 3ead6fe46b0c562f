"""Monitoring after go-live: has the model's accuracy moved on the referrals whose
follow-up completed since training (ROC AUC, ECE and outcome rate by band)?

Pure functions, as `model.monitoring`'s: the monitoring reference's figures at training
and the matured referrals' outcomes and ratings in, a JSON-ready section and its checks
out. Calibration in the large is `model.calibration_check`'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from model.evaluate import classification_metrics
from model.governance import MonitoringSettings
from model.monitoring import Check


def outcome_figures(y: np.ndarray, probability: np.ndarray, band: Sequence[str],
                    band_names: Sequence[str]) -> dict[str, Any]:
    """ROC AUC, ECE, outcome rate and mean predicted probability, overall and by band, of
    referrals with known outcomes.

    ROC AUC is None, with the reason in `roc_auc_note`, when every referral had an
    outcome or none did.
    """
    metrics = classification_metrics(y, probability)
    labels = np.asarray(band)
    figures: dict[str, Any] = {
        "n": len(y), "roc_auc": metrics["roc_auc"], "ece": metrics["ece"],
        "outcome_rate": metrics["outcome_rate"],
        "mean_predicted": float(probability.mean()) if len(y) else None,
        "rates_by_band": {b: {"n": int((labels == b).sum()),
                              "observed_rate": float(y[labels == b].mean())
                              if (labels == b).any() else None,
                              "mean_predicted": float(probability[labels == b].mean())
                              if (labels == b).any() else None} for b in band_names}}
    if not np.isfinite(metrics["roc_auc"]):
        figures["roc_auc"] = None
        figures["roc_auc_note"] = (f"cannot be computed: all {len(y):,} referrals "
                                   f"{'had an outcome' if y.all() else 'had no outcome'}")
    return figures


def _not_assessed(reason: str) -> list[Check]:
    return [Check("outcomes", "roc_auc", False, f"ROC AUC not assessed: {reason}", False),
            Check("outcomes", "ece", False, f"ECE not assessed: {reason}", False)]


def matured_outcomes(reference: dict[str, Any], *, y: np.ndarray, probability: np.ndarray,
                     band: Sequence[str], band_names: Sequence[str],
                     settings: MonitoringSettings,
                     not_assessed: str | None = None) -> tuple[dict[str, Any], list[Check]]:
    """ROC AUC, ECE and outcome rate by band of referrals matured since training.

    Args:
        not_assessed: Why outcomes cannot be judged at all (no outcomes feed): then no
            figure is computed, and the checks say why, crossing nothing.
    """
    training = reference["outcomes"]
    n = len(y)
    section: dict[str, Any] = {"n": n, "training": training}
    if not_assessed is not None:
        section["note"] = (f"not assessed: {not_assessed} (the 365-day follow-up of {n:,} "
                           "referrals completed since training)")
        return section, _not_assessed(not_assessed)
    if n == 0:
        section["note"] = "no referral's 365-day follow-up has completed since training"
        return section, _not_assessed(section["note"])
    now = section["now"] = outcome_figures(y, probability, band, band_names)
    if n < settings.min_matured_referrals:
        section["note"] = (f"{n:,} matured referrals: too few to judge "
                           f"(at least {settings.min_matured_referrals:,})")
        return section, _not_assessed(section["note"])
    if now["roc_auc"] is None or training.get("roc_auc") is None:
        auc = Check("outcomes", "roc_auc", False, "ROC AUC not assessed: "
                    + (now.get("roc_auc_note") or "none was computed at training"), False)
    else:
        auc = Check("outcomes", "roc_auc",
                    bool(training["roc_auc"] - now["roc_auc"] > settings.roc_auc_drop_max),
                    f"ROC AUC {now['roc_auc']:.3f} on {n:,} matured referrals, "
                    f"{training['roc_auc']:.3f} at training")
    return section, [auc, Check(
        "outcomes", "ece", bool(now["ece"] - training["ece"] > settings.ece_rise_max),
        f"ECE {now['ece']:.3f} on {n:,} matured referrals, {training['ece']:.3f} at training")]
