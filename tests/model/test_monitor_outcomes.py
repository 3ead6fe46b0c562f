"""Matured outcomes in `safeguard monitor`: a figure that cannot be computed is not a pass."""

from __future__ import annotations

import numpy as np

from model.governance import MonitoringSettings
from model.monitoring_outcomes import matured_outcomes

BANDS = ["low", "high"]
REFERENCE = {"outcomes": {"n": 300, "roc_auc": 0.75, "ece": 0.04, "outcome_rate": 0.3,
                          "rates_by_band": {"low": {"n": 200, "observed_rate": 0.2},
                                            "high": {"n": 100, "observed_rate": 0.5}}}}
SETTINGS = MonitoringSettings()


def _matured(y: np.ndarray, **kwargs: object) -> tuple[dict, list]:
    rng = np.random.default_rng(0)
    probability = rng.uniform(0.05, 0.6, len(y))
    band = np.where(probability > 0.3, "high", "low")
    return matured_outcomes(REFERENCE, y=y, probability=probability, band=band.tolist(),
                            band_names=BANDS, settings=SETTINGS, **kwargs)  # type: ignore[arg-type]


def test_roc_auc_of_one_class_is_null_with_its_reason_and_not_a_pass() -> None:
    section, checks = _matured(np.ones(400, dtype=np.int64))
    assert section["now"]["roc_auc"] is None
    assert section["now"]["roc_auc_note"] == "cannot be computed: all 400 referrals had an outcome"
    [auc] = [c for c in checks if c.subject == "roc_auc"]
    assert not auc.crossed and not auc.assessed
    assert auc.message == ("ROC AUC not assessed: cannot be computed: all 400 referrals "
                           "had an outcome")


def test_without_outcomes_nothing_is_computed_and_no_check_is_judged() -> None:
    # All-negative labels, as an extract without an outcomes feed used to be labelled.
    section, checks = _matured(np.zeros(6_238, dtype=np.int64),
                               not_assessed="the extract has no outcomes feed")
    assert "now" not in section
    assert section["note"] == ("not assessed: the extract has no outcomes feed (the 365-day "
                               "follow-up of 6,238 referrals completed since training)")
    assert [(c.subject, c.crossed, c.assessed) for c in checks] == [
        ("roc_auc", False, False), ("ece", False, False)]
    assert checks[1].message == "ECE not assessed: the extract has no outcomes feed"


def test_matured_outcomes_with_both_classes_are_judged() -> None:
    y = (np.random.default_rng(1).random(400) < 0.3).astype(np.int64)
    section, checks = _matured(y)
    assert section["now"]["n"] == 400 and section["now"]["roc_auc"] is not None
    assert all(c.assessed for c in checks)
