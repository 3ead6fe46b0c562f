"""A model off for everyone is one finding, said once; a group's calibration is judged
beside it too (`model.fairness_metrics.gap_beside_overall`, with its interval within each
resample), so a single group's own gap is still found."""

from __future__ import annotations

import numpy as np
import pandas as pd

from model.fairness import audit_fairness
from model.fairness_flags import MISCALIBRATED
from model.fairness_results import FairnessAudit
from model.fairness_summary import finding_sentences, headline
from model.governance import load_governance
from tests.model.multiplicity_factory import null_referrals


def _shifted(frame: pd.DataFrame, shift: float, seed: int, *, asian: float = 0.0
             ) -> pd.DataFrame:
    """Outcomes drawn `shift` above the risk predicted, for every referral alike, and
    `asian` more for Asian subjects."""
    rng = np.random.default_rng(seed + 2000)
    more = np.where(frame["ethnicity_group"] == "asian", asian, 0.0)
    truth = np.clip(frame["probability"].to_numpy() + shift + more, 0, 1)
    return frame.assign(label=(rng.uniform(size=len(frame)) < truth).astype(int))


def _audit(frame: pd.DataFrame) -> FairnessAudit:
    governance, _ = load_governance(None)
    return audit_fairness(frame, governance, model_version="x", n_boot=200)


def _miscalibrated(audit: FairnessAudit) -> list[str]:
    return [", ".join(g.attributes.values()) for g in audit.groups
            if MISCALIBRATED in g.findings()]


def test_a_whole_model_off_by_two_and_a_half_points_is_one_finding_not_twenty() -> None:
    """An independent probe's extract with nothing planted, the model under-predicting
    everyone by 2.4 points: the audit called 20 groups miscalibrated (White, female,
    male, children...), which a board could read as disparities."""
    audit = _audit(_shifted(null_referrals(20_000, seed=3), 0.024, seed=3))
    assert _miscalibrated(audit) == []
    overall = audit.document()["overall_calibration"]
    assert overall["miscalibrated"] is True
    low, high = overall["calibration_gap_ci"]
    assert low < overall["calibration_gap"] < high < -0.01
    [first, *rest] = finding_sentences(audit)
    assert first.startswith("Over all 20,000 referrals audited the model predicts a lower "
                            "risk than was observed")
    assert "not a finding about any group" in first
    assert not any("predicts a" in s for s in rest)
    assert headline(audit).startswith("the model as a whole is miscalibrated")
    assert audit.document()["summary"]["overall_miscalibrated"] is True


def test_a_group_planted_beside_the_whole_models_gap_is_still_found() -> None:
    """Asian subjects' outcomes 8 points above prediction, on top of the 2.4-point shift
    for everyone: Asian subjects are miscalibrated beside the overall gap; White subjects
    (70% of the referrals) are not."""
    audit = _audit(_shifted(null_referrals(20_000, seed=4), 0.024, seed=4, asian=0.08))
    [asian] = [g for g in audit.groups if g.attributes == {"ethnicity_group": "asian"}]
    assert MISCALIBRATED in asian.findings()
    assert asian.gap_beyond_overall is not None and asian.gap_beyond_overall < -0.03
    low, high = asian.gap_beyond_overall_interval or (0, 0)
    assert low < asian.gap_beyond_overall < high < -0.01
    assert "asian" in _miscalibrated(audit)
    assert "white" not in _miscalibrated(audit)
    [said] = [s for s in finding_sentences(audit) if s.startswith("For Asian subjects the")]
    assert "Beside the whole model's miscalibration, scaled to this group's risk" in said


def test_a_calibrated_model_has_no_overall_finding() -> None:
    audit = _audit(null_referrals(20_000, seed=5))
    assert audit.document()["overall_calibration"]["miscalibrated"] is False
    assert not audit.overall_miscalibrated()
    assert not any(s.startswith("Over all") for s in finding_sentences(audit))
