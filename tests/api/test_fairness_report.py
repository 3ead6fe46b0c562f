"""The fairness report a board reads: findings in plain words, tables, interval plots,
and small counts suppressed."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from api.templating import render_report
from model.fairness import audit_fairness
from model.fairness_groups import group_phrase, value_label
from model.fairness_report import (
    FAIRNESS_TEMPLATE,
    audit_from_document,
    fairness_files,
    report_context,
)
from model.fairness_summary import (
    finding_sentences,
    possible_sentences,
    ratio_text,
    ratio_with_interval,
    times_phrase,
)
from model.governance import load_governance
from tests.model.fairness_fixture import fairness_group, fairness_report


def _frame(white: int, black: int, asian: int, mixed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    n = white + black + asian + mixed
    probability = rng.uniform(0.05, 0.5, n)
    ethnicity = ["white"] * white + ["black"] * black + ["asian"] * asian + ["mixed"] * mixed
    band = np.where(probability > 0.35, "high", "low").astype(object)
    band[white:white + black] = np.where(rng.uniform(size=black) < 0.6, "very high", "low")
    return pd.DataFrame({
        "ethnicity_group": ethnicity, "sex": "female", "disability": False, "age_years": 12,
        "imd_decile": 4, "subject_type": "child",
        "label": (rng.uniform(size=n) < probability).astype(int), "probability": probability,
        "band": band})


def test_the_report_states_each_finding_and_hides_small_counts() -> None:
    """Asian (7 referrals) is withheld, and so is the smallest other group (mixed), or
    Asian's counts would be all referrals' less the other groups' (secondary suppression)."""
    governance, _ = load_governance()
    audit = audit_fairness(_frame(600, 200, 7, mixed=150), governance, model_version="4",
                           n_boot=30)
    page = fairness_files(audit, render_report, publication=True)["fairness.html"]
    black = next(g for g in audit.groups if g.attributes == {"ethnicity_group": "black"})
    assert "selection_disparity" in black.flags
    ratio = f"{black.ratios['selection_rate']:.2f}".rstrip("0").rstrip(".")
    low, high = (ratio_text(end, (0.8, 1.25)) for end in black.ratio_intervals["selection_rate"])
    assert (f"Black subjects are placed in the high or very high bands {ratio} times as often "
            f"as White subjects (the largest group; 95% interval {low} to {high}, wholly "
            "outside the tolerance).") in page
    assert "Not for publication" not in page
    assert "Fairness audit of model version 4" in page and "<svg" in page
    assert "Too small to judge" in page and ">withheld<" in page
    asian = next(g for g in audit.groups if g.attributes == {"ethnicity_group": "asian"})
    assert asian.n == 7 and f">{asian.counts['positives']}<" not in page
    published = {g["attributes"].get("ethnicity_group"): g for g in json.loads(
        fairness_files(audit, None, publication=True)["fairness.json"])["groups"]
        if set(g["attributes"]) == {"ethnicity_group"}}
    assert published["asian"]["n"] is None and published["mixed"]["n"] is None
    assert published["black"]["n"] == 200 and published["black"]["selection_rate"] is not None


def test_groups_are_named_as_people_would_say_them() -> None:
    assert group_phrase({"ethnicity_group": "black", "sex": "female"}) == "Black female subjects"
    assert group_phrase({"ethnicity_group": "white", "age_band": "10_to_15"}) == (
        "White subjects aged 10 to 15")
    assert group_phrase({"subject_type": "adult_at_risk"}) == "adults at risk"
    assert group_phrase({"deprivation_group": "not_recorded"}) == (
        "subjects with no deprivation decile recorded")
    assert group_phrase({"ethnicity_group": "mixed", "disability": "yes"}) == (
        "disabled subjects of mixed ethnicity")
    # Monitoring's coverage groups name a missing value with a space: the same group.
    assert group_phrase({"sex": "not recorded"}) == "subjects with sex not recorded"
    assert group_phrase({"age_band": "not recorded"}) == group_phrase({"age_band": "not_recorded"})


def test_the_report_rendered_again_from_its_json_is_the_report_itself() -> None:
    governance, _ = load_governance()
    audit = audit_fairness(_frame(600, 200, 7), governance, model_version="4", n_boot=30)
    logged = json.loads(fairness_files(audit, None)["fairness.json"])
    again = audit_from_document(logged)
    assert again.document() == audit.document()
    assert render_report(FAIRNESS_TEMPLATE, **report_context(again)) == \
        render_report(FAIRNESS_TEMPLATE, **report_context(audit))


def test_a_ratio_is_shown_on_its_flags_side_of_each_bound() -> None:
    """0.797954 is flagged under a bound of 0.8: "0.80" beside the flag contradicted it."""
    bounds = (0.8, 1.25)
    assert ratio_text(0.797954, bounds) == "0.798" and ratio_text(0.8, bounds) == "0.80"
    assert ratio_text(1.250004, bounds) == "1.250004" and ratio_text(1.4, bounds) == "1.40"
    assert times_phrase(0.797954, bounds) == "0.798 times"
    assert times_phrase(2.0, bounds) == "2 times"


def test_an_interval_end_is_shown_on_its_side_of_one() -> None:
    """An interval excluding 1 by a hair (0.41 to 0.9996) is a finding: its upper end
    read "1.00" on the card and in the finding's sentence, beside words saying the
    interval shows a difference."""
    bounds = (0.8, 1.25)
    assert ratio_with_interval(0.7, (0.41, 0.9996), bounds) == "0.70 (0.41 to 0.9996)"
    assert ratio_with_interval(1.4, (1.0004, 1.6), bounds) == "1.40 (1.0004 to 1.60)"
    assert ratio_with_interval(0.7, (0.41, 1.0), bounds) == "0.70 (0.41 to 1.00)"
    black = fairness_group({"ethnicity_group": "black"}, ratio=0.7,
                           flags=("selection_disparity",))
    black["selection_rate_ratio_ci"] = [0.41, 0.9996]
    audit = audit_from_document(fairness_report([
        fairness_group({"ethnicity_group": "white"}, n=2000, reference=True), black]))
    [sentence] = [s for s in finding_sentences(audit) if "placed in" in s]
    assert "95% interval 0.41 to 0.9996: a difference" in sentence


def test_headings_and_group_labels_are_in_sentence_case() -> None:
    governance, _ = load_governance()
    audit = audit_fairness(_frame(600, 200, 7, mixed=150), governance, model_version="4",
                           n_boot=10)
    titles = [s["title"] for s in report_context(audit)["sections"]]
    assert "Deprivation (IMD deciles)" in titles and "Ethnicity group by age band" in titles
    assert [value_label(v) for v in ("adult_at_risk", "child", "not_recorded", "10_to_15")] \
        == ["Adult at risk", "Child", "Not recorded", "10 to 15"]


def test_the_boards_own_page_shows_every_figure_and_says_it_is_not_for_publication() -> None:
    """Without --publication the page is the board's: suppression must not withhold the
    figures it judges (a group of 23 once withheld every figure of 7,721 male subjects)."""
    governance, _ = load_governance()
    audit = audit_fairness(_frame(600, 200, 7, mixed=150), governance, model_version="4",
                           n_boot=30)
    page = fairness_files(audit, render_report)["fairness.html"]
    assert "Not for publication" in page and ">withheld<" not in page
    mixed = next(g for g in audit.groups if g.attributes == {"ethnicity_group": "mixed"})
    assert ">150<" in page and mixed.n == 150  # withheld in publication (secondary)


def test_a_tiny_extract_says_no_group_reached_the_minimum_size() -> None:
    governance, _ = load_governance()
    audit = audit_fairness(_frame(40, 20, 0), governance, model_version="4", n_boot=100)
    page = fairness_files(audit, render_report)["fairness.html"]
    assert "No group reached 100 referrals, so no group was judged." in page
    assert "No group large enough to judge has a finding" not in page


def _sentences(*groups: dict[str, object]) -> list[str]:
    return finding_sentences(audit_from_document(fairness_report(list(groups))))


def _possible_and_certain() -> tuple[dict[str, object], ...]:
    """The reference, a group flagged whose interval includes 1 (possible), and a group
    flagged whose interval excludes it (a finding)."""
    white = fairness_group({"ethnicity_group": "white"}, n=3000, reference=True)
    mixed = {**fairness_group({"ethnicity_group": "mixed"}, ratio=1.27,
                              flags=("fpr_disparity",)),
             "false_positive_rate_ratio_ci": [0.89, 1.64]}
    asian = {**fairness_group({"ethnicity_group": "asian"}, ratio=0.47,
                              flags=("selection_disparity",)),
             "selection_rate_ratio_ci": [0.42, 0.53]}
    return white, mixed, asian


def test_a_disparity_finding_gives_its_interval_and_says_when_it_includes_no_difference(
) -> None:
    white, mixed, asian = _possible_and_certain()
    # A ratio whose interval includes 1 is a possible disparity, said as one, not a
    # finding (it was one on its point estimate until 6 December).
    assert _sentences(white, mixed, asian) == [
        "Asian subjects are placed in the high or very high bands 0.47 times as often as "
        "White subjects (the largest group; 95% interval 0.42 to 0.53, wholly outside the "
        "tolerance)."]
    assert possible_sentences(audit_from_document(fairness_report([white, mixed, asian]))) == [
        "Among subjects of mixed ethnicity who did not go on to have the outcome, 1.27 times as "
        "many are placed in the high or very high bands as among White subjects (false "
        "positive rate; 95% interval 0.89 to 1.64, which includes no difference). Possible "
        "disparity only: the audit cannot tell it from no disparity; more referrals are "
        "needed to tell."]


def test_a_calibration_gap_may_lie_in_the_recorded_outcomes_not_the_model() -> None:
    """Outcomes over-recorded for a group (label bias) look like a model predicting too
    low: the finding must not send a board to "fix" the model."""
    white = fairness_group({"ethnicity_group": "white"}, n=3000, reference=True)
    mixed = {**fairness_group({"ethnicity_group": "mixed"}, gap=-0.1, flags=("miscalibrated",)),
             "calibration_gap_ci": [-0.124, -0.079]}
    [sentence] = _sentences(white, mixed)
    assert sentence.startswith("For subjects of mixed ethnicity the model predicts a lower risk")
    assert sentence.endswith("(a gap of -10.0 points, 95% interval -12.4 to -7.9). The gap may "
                             "come from how this group's outcomes were recorded (label bias), "
                             "not only from the model.")


def test_a_groups_calibration_gap_is_read_beside_every_referrals() -> None:
    """A model predicting 1.4 points low for everyone makes part of each group's gap: an
    independent extract's Black subjects' -2.6 points, with no disparity planted, was half
    the model's drift, and the finding did not say so."""
    white = fairness_group({"ethnicity_group": "white"}, n=3000, reference=True)
    black = {**fairness_group({"ethnicity_group": "black"}, gap=-0.026, flags=("miscalibrated",)),
             "calibration_gap_ci": [-0.041, -0.011]}
    document = {**fairness_report([white, black]), "overall_calibration": {
        "n": 24132, "mean_predicted": 0.136, "observed_rate": 0.150, "calibration_gap": -0.014}}
    [sentence] = finding_sentences(audit_from_document(document))
    assert ("(a gap of -2.6 points, 95% interval -4.1 to -1.1). Over all 24,132 referrals "
            "audited the gap is -1.4 points (13.6% predicted, 15.0% observed): the part of "
            "this group's gap in the same direction may be the model's, for every group. The "
            "gap may come from") in sentence
    governance, _ = load_governance()
    audit = audit_fairness(_frame(400, 300, 0), governance, model_version="4", n_boot=50)
    overall = audit.document()["overall_calibration"]
    assert overall["n"] == audit.n_labelled
    assert overall["calibration_gap"] == pytest.approx(
        overall["mean_predicted"] - overall["observed_rate"])


def test_an_audit_says_whether_its_extract_is_the_models_training_extract() -> None:
    """Referrals before the test period are certainly learned from only on the training
    extract itself; another extract (another fingerprint) is named as not that one."""
    import datetime as dt
    from types import SimpleNamespace

    from api.fairness_command import _before_test_period
    from model.monitoring_reference import METADATA_KEY
    from model.workflow import audited_referrals

    model = SimpleNamespace(metadata={"extract_fingerprint": "abc",
                                      METADATA_KEY: {"period": {"from": "2024-09-01"}}})
    labelled = pd.DataFrame({"referral_date": ["2024-01-05", "2024-10-01"]})
    day = dt.date(2025, 9, 30)
    same = audited_referrals(model, labelled, extract_date=day, fingerprint="abc")  # type: ignore[arg-type]
    other = audited_referrals(model, labelled, extract_date=day, fingerprint="def")  # type: ignore[arg-type]
    assert (same["training_extract"], other["training_extract"]) == (True, False)
    assert same["before_test_period"] == other["before_test_period"] == 1
    assert _before_test_period(1, same).startswith("warning: this is the model's training extract")
    assert _before_test_period(1, other).startswith("note: 1 of the audited referrals")
    assert "is not the model's training extract" in _before_test_period(1, other)


def test_the_page_sets_possible_disparities_apart_from_findings() -> None:
    white, mixed, asian = _possible_and_certain()
    audit = audit_from_document(fairness_report([white, mixed, asian]))
    page = fairness_files(audit, render_report)["fairness.html"]
    findings, possible = page.split('id="possible"')
    assert "1 group has a finding" in findings and "Asian subjects are placed" in findings
    assert "Among subjects of mixed ethnicity" not in findings
    assert "Possible disparities and miscalibrations: more referrals needed" in possible
    assert "1 more group is flagged with possible disparities or miscalibrations only" in possible
    assert "Among subjects of mixed ethnicity" in possible
    assert ("False positive disparity (possible: its interval includes no disparity)"
            in possible)
