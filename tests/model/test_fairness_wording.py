"""What the card, the gate and monitor say of a flag, in words a board reads right.

An independent probe's re-run found the card giving a flag demoted by the correction for
many comparisons the reason of another ("its 95% interval reaches inside the tolerance",
when it did not), the gate listing it as possible under a blanket reason, an adjusted
p-value printed as "= 0", the small groups' sentence saying one of 51 may be apart by
chance, and a group's observed/expected "to watch" kept out of monitor's output.
"""

from __future__ import annotations

from model.acceptance import _DISPARITIES
from model.calibration_check import WATCH, judge_entry
from model.card import FairnessRow
from model.fairness_multiplicity import p_text
from model.fairness_report import CHANCE_LABEL, POSSIBLE_GAP_LABEL, possible_label
from model.governance import MonitoringSettings
from model.monitor_group_outcomes import CALIBRATION_KIND
from model.small_groups import small_group_sentences


def _row(possible: tuple[str, ...], chance: tuple[str, ...]) -> FairnessRow:
    return FairnessRow(group="Asian subjects", n="275", observed_rate=0.207,
                       mean_predicted=0.152, selection_rate=None, false_positive_rate=None,
                       true_positive_rate=None, selection_rate_ratio=None,
                       flags=("miscalibrated",), possible=possible, chance=chance)


def test_a_flag_the_correction_demoted_says_so_on_the_card() -> None:
    assert possible_label("miscalibrated", chance=True) == CHANCE_LABEL
    demoted = _row(("miscalibrated",), ("miscalibrated",)).flag_text()
    assert demoted == f"miscalibrated ({CHANCE_LABEL})"
    assert "reaches inside" not in demoted
    assert _row(("miscalibrated",), ()).flag_text() == f"miscalibrated ({POSSIBLE_GAP_LABEL})"
    assert _row((), ()).flag_text() == "miscalibrated"


def test_the_gate_says_which_possible_ratio_the_correction_made_so() -> None:
    measure = _DISPARITIES["max_true_positive_rate_disparity"]
    group = {"attributes": {"ethnicity_group": "black"},
             "true_positive_rate_ratio": 0.6692, "true_positive_rate_ratio_ci": [0.42, 0.98],
             "chance_flags": ["tpr_disparity"]}
    assert measure.possible(group)
    figure = measure.figure(group, withheld=False, required=1.25, interval=True)
    assert figure.note == ("95% interval 0.42 to 0.98, not standing the correction for many "
                           "comparisons")
    group["chance_flags"] = []
    group["true_positive_rate_ratio_ci"] = [0.42, 1.05]
    assert measure.figure(group, withheld=False, required=1.25,
                          interval=True).note == "95% interval 0.42 to 1.05"


def test_an_adjusted_p_value_is_never_said_to_be_zero() -> None:
    assert p_text(0.0) == "< 0.0001"
    assert p_text(0.034) == "= 0.034"


def test_the_small_groups_sentence_says_how_many_chance_may_set_apart() -> None:
    groups = [{"attributes": {"ethnicity_group": "other"}, "n": 23, "mean_predicted": 0.154,
               "flags": ["too_small"], "counts": {"positives": 8}}]
    groups += [{"attributes": {"age_band": str(i)}, "n": 20, "mean_predicted": 0.15,
                "flags": ["too_small"], "counts": {"positives": 3}} for i in range(50)]
    [sentence] = small_group_sentences({"groups": groups})
    assert "among the 51 groups too small to judge up to about 3 may do this by chance" in (
        sentence)


def test_a_groups_observed_expected_to_watch_ends_as_the_command_prints_it() -> None:
    # 60 outcomes of 200 against 20% predicted: 1.5, interval reaching inside 1.25.
    entry = {"n": 200, "outcomes": 60, "observed_rate": 0.3, "mean_predicted": 0.2,
             "ratio": 1.5, "interval": (1.15, 1.93)}
    check = judge_entry(entry, "observed_expected/ethnicity_group=asian",
                        "ethnicity group asian",
                        MonitoringSettings().model_copy(update={"min_matured_referrals": 100}),
                        kind=CALIBRATION_KIND)
    assert entry["verdict"] == "watch" and not check.crossed
    assert check.kind == CALIBRATION_KIND and check.message.endswith(WATCH)


def test_groups_observed_expected_waits_for_enough_matured_referrals_over_all() -> None:
    """150 matured referrals: too few to judge over all (at least 200), yet two groups of
    them crossed, judged from 100 (a review's repro)."""
    import numpy as np
    import pandas as pd

    from model.monitor_group_outcomes import group_calibration
    from model.monitoring_outcomes import matured_outcomes

    n, settings = 150, MonitoringSettings()
    matured = pd.DataFrame({"sex": ["F"] * n, "ethnicity_group": ["white"] * n,
                            "age_years": [7] * n, "disability": [False] * n,
                            "imd_decile": [5] * n, "subject_type": ["child"] * n})
    y = (np.random.default_rng(0).random(n) < 0.45).astype(np.int64)
    probability, band = np.full(n, 0.15), np.array(["low"] * n)
    section, _ = matured_outcomes({"outcomes": {"roc_auc": 0.7, "ece": 0.02}}, y=y,
                                  probability=probability, band=band, band_names=["low"],
                                  settings=settings)
    assert group_calibration(section, matured, y=y, probability=probability,
                             families=np.arange(n), settings=settings) == []


def test_a_small_group_whose_counts_are_withheld_is_not_named() -> None:
    """Named with its direction, a group of 4 all with the outcome gave its count away."""
    full = {"groups": [{"attributes": {"ethnicity_group": "other"}, "n": 4,
                        "mean_predicted": 0.2, "flags": ["too_small"],
                        "counts": {"positives": 4}}]}
    published = {"groups": [{"attributes": {"ethnicity_group": "other"}, "n": None,
                             "mean_predicted": None, "flags": ["too_small"]}]}
    assert small_group_sentences(full, published) == []
    assert len(small_group_sentences(full)) == 1  # the full report shows its counts


def test_pairs_too_few_to_judge_share_no_part_of_the_level() -> None:
    """Six agencies' pairs of a group of 100 holding 6% of records (6 expected, under 10)
    were counted among those judged, widening every other pair's bound."""
    from model.monitor_groups import _enough, _pairs

    entry = {"n": 100, "shares": dict.fromkeys(("police", "health", "education",
                                               "social_care", "housing", "probation"), 0.06),
             "design_effect": {}}
    pairs = _pairs({"sex": {"F": entry}}, {"sex": {"F": entry}}, MonitoringSettings())
    assert len(pairs) == 6
    assert not any(_enough(entry, entry, agency) for _, _, agency in pairs)
