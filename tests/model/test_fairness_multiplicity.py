"""The fairness audit's correction for many comparisons (`model.fairness_multiplicity`):
chance differences among some 90 groups compared are no longer findings, strong planted
ones still are."""

from __future__ import annotations

import math

import pytest

from model.fairness import audit_fairness
from model.fairness_multiplicity import (
    adjusted,
    beyond_p_value,
    corrected_recording,
    ratio_p_value,
)
from model.fairness_summary import finding_sentences, possible_sentences
from model.governance import load_governance
from tests.model.multiplicity_factory import null_referrals, planted

N_BOOT = 100


def _audit(frame):  # type: ignore[no-untyped-def]
    governance, _ = load_governance()
    return audit_fairness(frame, governance, model_version="1", n_boot=N_BOOT)


@pytest.mark.parametrize("seed", [0, 1])
def test_an_extract_with_nothing_planted_has_no_finding_after_correction(seed: int) -> None:
    audit = _audit(null_referrals(20_000, seed))
    # Judged one by one, chance gives some groups a finding (4 on seed 0, 4 on seed 1).
    by_chance = [g for g in audit.groups if g.after_correction]
    assert by_chance
    assert audit.with_findings() == []
    assert audit.extra["correction"]["comparisons"] > 200
    sentence = next(s for s in possible_sentences(audit) if "after correction" in s)
    assert "Not a finding after correction for the audit" in sentence
    assert audit.document()["summary"]["groups_with_findings"] == 0


@pytest.mark.parametrize("kind, flag", [("calibration", "miscalibrated"),
                                        ("selection", "selection_disparity")])
def test_a_strong_planted_disparity_is_still_a_finding(kind: str, flag: str) -> None:
    audit = _audit(planted(null_referrals(20_000, 2), 2, kind=kind))
    asian = next(g for g in audit.groups if g.attributes == {"ethnicity_group": "asian"})
    assert flag in asian.findings()
    assert asian.adjusted_p[flag] < 0.01
    # The groups that share nothing with the planted one stay quiet.
    assert not [g for g in audit.with_findings() if "asian" not in g.attributes.values()
                and g.attributes.get("ethnicity_group") != "white"]
    start = ("For Asian subjects the model" if kind == "calibration"
             else "Asian subjects are placed")
    [sentence] = [s for s in finding_sentences(audit) if s.startswith(start)]
    assert "A finding after correction for the audit" in sentence


def test_p_values_of_the_probes_figures() -> None:
    z = 1.959964
    # The probe's planted selection ratio, 0.72 (0.66 to 0.78): far beyond chance.
    assert ratio_p_value(0.72, (math.log(0.78) - math.log(0.66)) / (2 * z)) < 1e-6
    assert ratio_p_value(1.0, 0.1) == pytest.approx(1.0)
    assert ratio_p_value(math.exp(0.2), 0.1) == pytest.approx(0.0455, abs=1e-4)
    # Its planted calibration gap, -6.0 points (-7.9 to -4.1), against a 1-point tolerance.
    assert beyond_p_value(-0.060, 0.038 / (2 * z), -0.01, 0.01) < 1e-6
    # The control's chance gap, +7.8 points (+3.6 to +12.1): alone p = 0.001; one of
    # 98 comparisons, not a finding (Benjamini-Hochberg: 98 times it for the smallest).
    alone = beyond_p_value(0.078, 0.085 / (2 * z), -0.01, 0.01)
    assert alone is not None and 0.0005 < alone < 0.003
    [first, *_] = adjusted([alone, *[0.5] * 97])
    assert first == pytest.approx(min(1.0, alone * 98), rel=1e-3) and first > 0.05
    assert adjusted([None, 0.01]) == [None, 0.01]


def _row(group: str, ratio: float, interval: tuple[float, float]) -> dict[str, object]:
    return {"group": group, "agency": "probation", "ratio": ratio, "ratio_ci": list(interval),
            "is_reference": False, "too_small": False, "few_records": False,
            "differs": interval[1] < 0.8 or interval[0] > 1.25,
            "log_se": (math.log(interval[1]) - math.log(interval[0])) / (2 * 1.959964)}


def test_a_recording_difference_must_stand_after_correction_for_every_row() -> None:
    governance, _ = load_governance()
    rows = [_row("mixed", 0.43, (0.23, 0.69)),  # the probe's control: chance, 1 of 60
            _row("asian", 0.40, (0.38, 0.42)),  # its planted missing records
            *(_row(f"g{i}", 1.0, (0.8, 1.25)) for i in range(58))]
    out = corrected_recording(rows, governance.fairness)
    assert rows[0]["differs"] and not out[0]["differs"] and out[0]["adjusted_p"] > 0.05
    assert out[1]["differs"] and out[1]["adjusted_p"] < 1e-6
    assert "log_se" not in out[0]


def test_a_count_judged_recording_row_is_corrected_with_the_others() -> None:
    """A small group holding no record where about 5 referrals holding one were expected
    differs by its exact count test alone (upper end 3.7 under 0.8 x 5), by chance one
    time in 55; among 60 rows it is no finding. No record where 250 were expected stays
    one."""
    from model.fairness_recording import few_p_value, poisson_upper

    governance, _ = load_governance()
    settings = governance.fairness

    def few(group: str, holders: float, expected: float) -> dict[str, object]:
        return {"group": group, "agency": "housing", "ratio": 0.0, "ratio_ci": None,
                "is_reference": False, "too_small": False, "few_records": True,
                "differs": poisson_upper(holders, settings.interval_level)
                < settings.disparity_lower * expected,
                "few_p": few_p_value(holders, expected, settings)}

    rows = [few("chance", 0, 5.0), few("planted", 0, 250.0),
            *(_row(f"g{i}", 1.0, (0.8, 1.25)) for i in range(58))]
    out = corrected_recording(rows, settings)
    assert rows[0]["differs"] and not out[0]["differs"] and out[0]["adjusted_p"] > 0.05
    assert out[1]["differs"] and out[1]["adjusted_p"] < 1e-6
    assert "few_p" not in out[0]
