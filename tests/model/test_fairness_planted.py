"""The audit finds the generator's planted disparities in the right group and direction,
and nothing beyond chance in the same extract without them (`--disparities none`).

One extract each way (same seed, so the same people and the same outcomes), a model
trained on each as `safeguard train` does, and the audit of its test period as training
logs it. The police recording bias against Black subjects is planted at 4 times White
subjects' recording rate, not the default 2.5: at 2.5 its effect on a 25,000-referral
draw sits at the board's 1.25 threshold, within sampling noise of it (selection rate
ratio 1.25 on this draw before 6 December, 1.23 after windows came to count from event
dates; 1.15 and 1.20 without the bias), so whether it was flagged was the draw's luck.
At 4 it shows as Black subjects placed in the high bands too often (measured: selection
rate ratio 1.34, false positive rate ratio 1.42, both flagged; no flag without it), and the
missing health and social care records of Asian subjects as risk predicted below the
observed rate (a calibration gap interval of -11.5 to -2.4 points).

Since the children's own police records were fitted to the published factors at
assessment (fewer missing episodes and exploitation concerns), the police bias has
fewer records to multiply and which over-selection ratio crosses the board's 1.25 first
varies with the draw, so either over-selection flag counts as the finding. Without the
planted mechanisms, groups of 100-300 test referrals still draw chance flags (Asian
subjects' false positive rate ratio 1.26 in this draw): the planted finding itself must
vanish, not every flag. Those chance flags are possible disparities (their interval
includes 1), not findings; the planted ones stay findings.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from model.data import prepare_extract
from model.fairness_flags import RATIO_METRICS
from model.fairness_results import FairnessAudit, GroupResult
from model.fairness_summary import finding_sentences
from model.governance import load_governance
from model.train import TrainingConfig, train_model
from model.workflow import audit_test_period
from pipelines.synth import SynthConfig, generate_extract
from pipelines.synth.disparities import DISPARITY_BY_NAME, parse_disparities

# One worker: the module's two trained audits (about 38 s) were built on both.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("fairness_planted")]
N_REFERRALS = 25_000
SEED = 4
POLICE = DISPARITY_BY_NAME["police_recording_black"]
MISSING = DISPARITY_BY_NAME["health_social_care_missing_asian"]
OVER_SELECTED = {"selection_disparity", "fpr_disparity"}
POLICE_STRENGTH = 4.0  # see the module's note


def _audit(root: Path, setting: str) -> FairnessAudit:
    out = root / setting
    generate_extract(SynthConfig(n_referrals=N_REFERRALS, seed=SEED, file_format="parquet",
                                 corrupt=False, disparities=parse_disparities(setting)),
                     out_dir=out)
    prepared = prepare_extract(out)
    governance, text = load_governance()
    assert prepared.labels is not None
    result = train_model(prepared.features, prepared.labels, members=prepared.members,
                         governance=governance, governance_text=text,
                         config=TrainingConfig(max_iter=60))
    return audit_test_period(result, prepared, version=setting)


@pytest.fixture(scope="module")
def audits(tmp_path_factory: pytest.TempPathFactory) -> dict[str, FairnessAudit]:
    root = tmp_path_factory.mktemp("planted")
    return {"default": _audit(root, f"default,{POLICE.name}={POLICE_STRENGTH}"),
            "none": _audit(root, "none")}


def _ethnicity(audit: FairnessAudit, group: str) -> GroupResult:
    [found] = [g for g in audit.groups if g.attributes == {"ethnicity_group": group}]
    return found


def _ethnicity_flags(audit: FairnessAudit) -> int:
    return sum(len(set(g.flags) - {"too_small"}) for g in audit.groups
               if list(g.attributes) == ["ethnicity_group"])


def test_police_recording_bias_flags_black_subjects_placed_high_too_often(
    audits: dict[str, FairnessAudit],
) -> None:
    black = _ethnicity(audits["default"], POLICE.ethnicity_group)
    assert set(black.flags) & OVER_SELECTED, black
    fair = _ethnicity(audits["none"], POLICE.ethnicity_group)
    # No finding and no over-selection flag without the bias. Judged beside the overall gap
    # (7 December) Black subjects' -3.7 points here is a possible miscalibration (its 90%
    # interval just leaves out 0; adjusted p 0.39), as it was a hair from being before.
    assert fair.findings() == () and not set(fair.flags) & OVER_SELECTED, fair
    for ratio in ("selection_rate", "false_positive_rate"):  # over-selected, not under
        assert black.ratios[ratio] > fair.ratios[ratio] > 1, ratio
    assert black.metrics["calibration_gap"] > fair.metrics["calibration_gap"]


def test_missing_records_flag_asian_subjects_as_under_predicted(
    audits: dict[str, FairnessAudit],
) -> None:
    asian = _ethnicity(audits["default"], MISSING.ethnicity_group)
    assert "miscalibrated" in asian.flags, asian
    assert asian.intervals["calibration_gap"][1] < 0  # predicted below observed
    fair = _ethnicity(audits["none"], MISSING.ethnicity_group)
    assert "miscalibrated" not in fair.flags and fair.intervals["calibration_gap"][1] > 0


def test_without_planted_disparities_ethnicity_flags_are_fewer_and_only_chance(
    audits: dict[str, FairnessAudit],
) -> None:
    # The outcomes are the same in both extracts: what remains without the planted
    # mechanisms is chance in groups of 100-250 referrals (e.g. a low observed rate
    # among the mixed group in this draw), never the planted groups.
    assert _ethnicity_flags(audits["none"]) < _ethnicity_flags(audits["default"])
    assert _ethnicity_flags(audits["none"]) <= 4
    white = _ethnicity(audits["none"], "white")
    assert white.is_reference and white.flags == ()


def _recording(audit: FairnessAudit, agency: str, group: str) -> dict[str, object]:
    [row] = [r for r in audit.extra["recording"]["rows"] if r["attribute"] == "ethnicity_group"
             and r["agency"] == agency and r["group"] == group]
    return row


def test_the_records_the_model_saw_show_both_planted_mechanisms_at_their_strength(
    audits: dict[str, FairnessAudit],
) -> None:
    # What the model saw, directly: Black subjects' police records per referral about
    # POLICE_STRENGTH times White subjects', Asian subjects' health and social care
    # records about (1 - MISSING.default) times; neither without the planted mechanisms.
    black = _recording(audits["default"], "police", POLICE.ethnicity_group)
    assert black["differs"] and black["ratio_ci"][0] > 1.25, black
    assert abs(black["ratio"] / _recording(audits["none"], "police", "black")["ratio"]
               - POLICE_STRENGTH) < 0.5
    for agency in ("health", "social_care"):
        asian = _recording(audits["default"], agency, MISSING.ethnicity_group)
        assert asian["differs"] and asian["ratio_ci"][1] < 0.8, asian
        fair = _recording(audits["none"], agency, MISSING.ethnicity_group)
        assert not fair["differs"]
        assert abs(asian["ratio"] / fair["ratio"] - (1 - MISSING.default)) < 0.1
    assert not _recording(audits["none"], "police", POLICE.ethnicity_group)["differs"]


def test_chance_flags_without_planted_disparities_are_shown_as_possible_not_findings(
    audits: dict[str, FairnessAudit],
) -> None:
    # Groups of a few hundred test referrals draw point-estimate flags by chance; those
    # whose interval includes no disparity are possible disparities, not findings (and so
    # are those not standing the correction for many comparisons, `after_correction`).
    fair = audits["none"]
    assert fair.possible_only(), "no chance flag in this draw: the test cannot fail"
    assert len(fair.with_findings()) < len(fair.flagged())
    for group in fair.groups:
        for metric, flag in RATIO_METRICS.items():
            interval = group.ratio_intervals[metric]
            if flag in group.possible and flag not in group.after_correction:
                assert interval is not None and interval[0] <= 1 <= interval[1], group
    assert "possible" not in " ".join(finding_sentences(fair)).lower()


def test_the_planted_disparities_are_still_findings(audits: dict[str, FairnessAudit]) -> None:
    planted = audits["default"]
    black = _ethnicity(planted, POLICE.ethnicity_group)
    assert set(black.findings()) & OVER_SELECTED, black
    assert "miscalibrated" in _ethnicity(planted, MISSING.ethnicity_group).findings()
    # and the planted groups have fewer findings without the mechanisms
    assert not set(_ethnicity(audits["none"], POLICE.ethnicity_group).findings()) & OVER_SELECTED
