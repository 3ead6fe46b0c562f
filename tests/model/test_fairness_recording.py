"""What the model saw about each group: records per referral by agency and group, the
ratio to the largest group, when it differs, and what publication hides."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from model.fairness import audit_fairness, for_publication
from model.fairness_recording import agency_records
from model.fairness_report import audit_frame, audit_from_document, fairness_files, report_context
from model.governance import load_governance
from pipelines.manifest import build_manifest

GOVERNANCE, _ = load_governance()
THRESHOLD = GOVERNANCE.fairness.suppression_threshold


def _frame(records: dict[str, list[float]], ethnicity: list[str], seed: int = 0) -> pd.DataFrame:
    """Rated, labelled referrals with a ``records_<agency>`` column per agency given."""
    n = len(ethnicity)
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "referral_id": [f"R{i}" for i in range(n)], "ethnicity_group": ethnicity,
        "sex": "female", "disability": False, "age_years": 8, "imd_decile": 3,
        "subject_type": "child", "label": rng.integers(0, 2, n),
        "probability": rng.uniform(0, 1, n), "band": "low",
        **{f"records_{agency}": values for agency, values in records.items()}})


def _row(audit_extra: dict, agency: str, group: str, attribute: str = "ethnicity_group") -> dict:
    [row] = [r for r in audit_extra["recording"]["rows"]
             if r["attribute"] == attribute and r["agency"] == agency and r["group"] == group]
    return row


def _planted(black_health: float = 1.0, n_black: int = 400) -> pd.DataFrame:
    """White subjects with 2 health and 1 police record each; Black subjects with
    `black_health` times the health records and the same police records."""
    rng = np.random.default_rng(1)
    n_white = 1_000
    health = np.concatenate([rng.poisson(2.0, n_white), rng.poisson(2.0 * black_health, n_black)])
    police = rng.poisson(1.0, n_white + n_black)
    records = {"health": list(health), "police": list(police), "probation": [0.0] * len(health)}
    return _frame(records, ["white"] * n_white + ["black"] * n_black)


def test_agency_records_count_each_record_about_the_subject_once() -> None:
    names = [s.name for s in build_manifest()]
    features = pd.DataFrame(0, index=range(2), columns=names).assign(referral_id=["A", "B"])
    features.loc[0, "subject_health_self_harm_ever"] = 3
    features.loc[0, "subject_health_self_harm_365d"] = 2  # the same records, a shorter window
    features.loc[0, "subject_police_arrest_ever"] = 1
    features.loc[1, "parents_carers_health_self_harm_ever"] = 5  # about a parent, not counted
    records = agency_records(features)
    assert records["referral_id"].tolist() == ["A", "B"]
    assert records["records_health"].tolist() == [3, 0]
    assert records["records_police"].tolist() == [1, 0]
    assert records["records_housing"].tolist() == [0, 0]


def test_a_group_with_half_the_records_differs_and_an_equal_agency_does_not() -> None:
    audit = audit_fairness(_planted(black_health=0.5), GOVERNANCE, model_version="1")
    health = _row(audit.extra, "health", "black")
    assert health["differs"] and 0.4 < health["ratio"] < 0.6
    assert health["ratio_ci"][0] <= health["ratio"] <= health["ratio_ci"][1] < 0.8
    assert health["n"] == 400 and health["records"] == round(health["records_per_referral"] * 400)
    police = _row(audit.extra, "police", "black")
    assert not police["differs"] and 0.8 < police["ratio"] < 1.25
    white = _row(audit.extra, "health", "white")
    assert white["is_reference"] and white["ratio"] == 1.0 and not white["differs"]
    # An agency that shared no record about anyone audited is left out, not compared.
    assert audit.extra["recording"]["agencies"] == ["police", "health"]
    assert audit.extra["recording"]["differing"] == 1


def _adults_and_children(disabled_education: float) -> pd.DataFrame:
    """Schools hold records about children only; 70% of disabled subjects are adults
    against 15% of the others; a disabled child holds `disabled_education` times the
    education records of another child."""
    rng = np.random.default_rng(3)
    disabled = np.r_[np.ones(600, bool), np.zeros(2_000, bool)]
    adult = rng.uniform(size=disabled.size) < np.where(disabled, 0.7, 0.15)
    education = np.where(adult, 0, rng.poisson(np.where(disabled, 3.0 * disabled_education, 3.0)))
    frame = _frame({"education": list(education.astype(float))}, ["white"] * disabled.size)
    return frame.assign(disability=disabled, age_years=np.where(adult, 40, 8),
                        subject_type=np.where(adult, "adult_at_risk", "child"))


@pytest.mark.parametrize(("planted", "differs"), [(1.0, False), (0.5, True)])
def test_records_are_compared_age_band_for_age_band(planted: float, differs: bool) -> None:
    # Crude rates differ about threefold for the age mix alone: 3 x 0.3 against 3 x 0.85.
    audit = audit_fairness(_adults_and_children(planted), GOVERNANCE, model_version="1")
    row = _row(audit.extra, "education", "yes", attribute="disability")
    assert row["records_per_referral"] < 0.5 * _row(audit.extra, "education", "no",
                                                    attribute="disability")["records_per_referral"]
    assert row["differs"] is differs
    assert abs(row["ratio"] - planted) < 0.12
    assert row["ratio_ci"][0] <= row["ratio"] <= row["ratio_ci"][1]
    assert "age-standardised" in audit.extra["recording"]["standardisation"]


def test_small_groups_and_sparse_records_are_shown_but_not_judged() -> None:
    audit = audit_fairness(_planted(black_health=0.1, n_black=60), GOVERNANCE, model_version="1")
    small = _row(audit.extra, "health", "black")
    assert small["too_small"] and not small["differs"] and small["ratio"] < 0.5
    rare = _frame({"probation": [1.0] * (THRESHOLD - 1) + [0.0] * 991 + [0.0] * 400},
                  ["white"] * 1_000 + ["black"] * 400)
    audit = audit_fairness(rare, GOVERNANCE, model_version="1")
    none_held = _row(audit.extra, "probation", "black")
    assert none_held["ratio"] == 0.0 and not none_held["differs"]


def test_without_record_columns_the_audit_has_no_recording_part() -> None:
    frame = _planted().drop(columns=["records_health", "records_police", "records_probation"])
    assert "recording" not in audit_fairness(frame, GOVERNANCE, model_version="1").document()


def test_the_json_round_trips_and_publication_hides_the_figures_of_small_groups() -> None:
    frame = _planted(black_health=0.5)
    frame.loc[frame.index[:5], "ethnicity_group"] = "other"  # 5 referrals: under 10
    # 12 referrals: the group whose size is withheld so that the 5 cannot be worked out.
    frame.loc[frame.index[5:17], "ethnicity_group"] = "mixed"
    audit = audit_fairness(frame, GOVERNANCE, model_version="1")
    document = json.loads(fairness_files(audit, None)["fairness.json"])
    assert document["recording"]["rows"] == audit.extra["recording"]["rows"]
    published = for_publication(audit_from_document(document)).document()
    other = _row(published, "health", "other")
    assert other["n"] is None and other["records_per_referral"] is None and other["ratio"] is None
    assert _row(published, "health", "black")["ratio"] == _row(document, "health", "black")["ratio"]


def test_the_report_names_each_difference_in_words() -> None:
    from api.templating import render_report

    audit = audit_fairness(_planted(black_health=0.5), GOVERNANCE, model_version="1")
    html = fairness_files(audit, render_report)["fairness.html"]
    assert "What the model saw about each group" in html
    assert "Health: Black subjects had 0." in html and "the records per referral of White" in html
    assert html.count(">differs</strong>") == 1
    assert "Each ratio is age-standardised" in html and "age for age (95% interval" in html


def test_publication_withholds_figures_resting_on_few_records_or_holders() -> None:
    # 400 Black subjects, 3 of whom hold 12 housing records: enough records to judge
    # (12 >= 10) but only 3 people behind them, so publication withholds the row; the
    # White reference holds 8 police records, so every police ratio goes too.
    white, black = 1_000, 400
    housing = [0.0] * white + [4.0] * 3 + [0.0] * (black - 3)
    housing[:500] = [1.0] * 500
    police = [1.0] * 8 + [0.0] * (white - 8) + [1.0] * 200 + [0.0] * (black - 200)
    audit = audit_fairness(_frame({"housing": housing, "police": police},
                                  ["white"] * white + ["black"] * black), GOVERNANCE,
                           model_version="1")
    full = _row(audit.extra, "housing", "black")
    assert full["holders"] == 3 and full["records"] == 12 and full["ratio"] is not None
    published = for_publication(audit).extra
    hidden = _row(published, "housing", "black")
    assert hidden["suppressed"] and all(hidden[k] is None for k in (
        "records", "holders", "records_per_referral", "share_with_records", "ratio",
        "ratio_ci"))
    assert hidden["n"] == 400  # not small, and it gives no record count away
    assert _row(published, "housing", "white")["records"] == 500  # not small: kept
    assert _row(published, "police", "white")["suppressed"]
    police_black = _row(published, "police", "black")
    assert police_black["records"] == 200 and police_black["ratio"] is None
    # The largest group's expected records are its 8 records; the others' scale with them.
    assert _row(published, "police", "white")["expected_records"] is None
    assert police_black["expected_records"] is None
    context = report_context(audit)["recording"]
    assert any(text.startswith("Police by ethnicity") for text in context["not_compared"])


def test_publication_withholds_a_row_where_few_referrals_hold_no_record() -> None:
    """200 Black subjects, 195 with a health record: publishing 200 and 195 (or a share of
    97.5%) gives away the 5 without one, as a probe read 23 and 21 off a published row."""
    white, black = 1_000, 200
    health = [1.0] * 500 + [0.0] * (white - 500) + [2.0] * 195 + [0.0] * (black - 195)
    audit = audit_fairness(_frame({"health": health}, ["white"] * white + ["black"] * black),
                           GOVERNANCE, model_version="1", n_boot=100)
    assert _row(audit.extra, "health", "black")["holders"] == 195
    published = for_publication(audit).extra
    hidden = _row(published, "health", "black")
    assert hidden["suppressed"] and hidden["holders"] is None
    assert hidden["share_with_records"] is None and hidden["n"] == 200
    assert _row(published, "health", "white")["holders"] == 500  # 500 with none: kept


def test_a_difference_withheld_in_publication_leaves_no_sentence_and_no_error() -> None:
    # Groups of 8 are judged when the board sets min_group_size under the suppression
    # threshold; publication withholds them, and the report still renders.
    governance = GOVERNANCE.model_copy(update={"fairness": GOVERNANCE.fairness.model_copy(
        update={"min_group_size": 5})})
    health = [1.0] * 1_000 + [5.0] * 8
    audit = audit_fairness(_frame({"health": health}, ["white"] * 1_000 + ["black"] * 8),
                           governance, model_version="1")
    assert _row(audit.extra, "health", "black")["differs"]
    context = report_context(audit)["recording"]
    assert context["sentences"] == []


def test_the_strongest_difference_is_stated_first() -> None:
    rng = np.random.default_rng(3)
    ethnicity = ["white"] * 1_000 + ["black"] * 400 + ["asian"] * 400
    police = np.concatenate([rng.poisson(2.0, 1_000), rng.poisson(3.0, 400),
                             rng.poisson(0.5, 400)])
    audit = audit_fairness(_frame({"police": list(police)}, ethnicity), GOVERNANCE,
                           model_version="1")
    sentences = report_context(audit)["recording"]["sentences"]
    assert [s.split(" subjects")[0] for s in sentences] == ["Police: Asian", "Police: Black"]


def test_the_card_lists_each_groups_strongest_difference_before_any_seconds() -> None:
    """Records follow deprivation at every agency (need does), and health records half as
    much about Asian subjects: the card lists ten sentences, and strongest first alone
    gave all ten to deprivation, the Asian subjects' health records in none."""
    rng = np.random.default_rng(7)
    n_white, n_asian = 2_600, 400
    imd = rng.choice([1, 3, 5, 6, 8, 10], size=n_white + n_asian, p=[.15, .15, .2, .2, .15, .15])
    need = np.select([imd <= 2, imd <= 4, imd <= 6, imd <= 8], [3.0, 1.6, 1.0, 0.6], 0.35)
    asian = np.arange(n_white + n_asian) >= n_white
    records = {agency: list(rng.poisson(0.8 * need * np.where(asian & (agency == "health"),
                                                              0.55, 1.0)))
               for agency in ("police", "health", "education", "social_care", "housing")}
    frame = _frame(records, ["white"] * n_white + ["asian"] * n_asian).assign(imd_decile=imd)
    audit = audit_fairness(frame, GOVERNANCE, model_version="1")
    assert _row(audit.extra, "health", "asian")["differs"]
    sentences = report_context(audit)["recording"]["sentences"]
    assert len(sentences) > 10
    assert any(s.startswith("Health: Asian subjects had 0.") for s in sentences[:10])
    # Each group's strongest first: the four deprivation groups and the Asian subjects.
    firsts = [s.split(" had ")[0].split(": ", 1)[1] for s in sentences[:5]]
    assert len(set(firsts)) == 5


def test_an_agency_that_shared_nothing_about_a_group_is_the_first_finding() -> None:
    """Housing shares nothing about 300 Black subjects (a local area's feed missing): a
    zero has no bootstrap interval worth the name, so the count is judged against what
    the largest group's rate leads one to expect; publication says "fewer than 10"."""
    from api.templating import render_report

    rng = np.random.default_rng(5)
    white, black, asian = 1_000, 300, 200
    housing = np.concatenate([rng.poisson(0.8, white), np.zeros(black), rng.poisson(0.8, asian)])
    police = rng.poisson(1.0, white + black + asian)
    # Probation: the largest group holds 10 records in 1,000 referrals, so 2 expected
    # among 200 Asian subjects: none is no finding.
    probation = np.zeros(white + black + asian)
    probation[:10] = 1
    audit = audit_fairness(_frame({"housing": list(housing), "police": list(police),
                                   "probation": list(probation)},
                                  ["white"] * white + ["black"] * black + ["asian"] * asian),
                           GOVERNANCE, model_version="1")
    missing = _row(audit.extra, "housing", "black")
    assert missing["records"] == 0 and missing["few_records"] and missing["differs"]
    assert 200 < missing["expected_records"] < 280
    assert not _row(audit.extra, "housing", "asian")["differs"]
    rare = _row(audit.extra, "probation", "asian")
    assert rare["records"] == 0 and rare["few_records"] and not rare["differs"]
    published = for_publication(audit).extra
    shown = _row(published, "housing", "black")
    assert shown["records"] is None and shown["n"] == 300 and shown["differs"]
    sentences = report_context(audit)["recording"]["sentences"]
    assert sentences[0].startswith(
        "Housing: the model saw fewer than 10 records from the agency about Black subjects "
        "(300 referrals), where the rate of White subjects, age for age, would lead one to expect "
        "about ")
    assert not any("Probation" in text for text in sentences)
    html = fairness_files(audit, render_report, publication=True)["fairness.html"]
    assert "under 10 records" in html and ">0.000<" not in html
    board = fairness_files(audit, render_report)["fairness.html"]  # every figure
    assert "the model saw no records from the agency about Black subjects" in board


def test_few_records_clustered_in_few_people_are_not_missing_information() -> None:
    """Probation records come in clusters: 20 of 1,000 White subjects hold 15 each, and 3
    of 200 Black subjects hold 3 each. 9 records where 60 were expected read as a Poisson
    count made "missing information" of it, though Black subjects hold a record as often
    (3 where 4 were expected)."""
    white, black = 1_000, 200
    probation = np.zeros(white + black)
    probation[:20] = 15
    probation[white:white + 3] = 3
    police = np.random.default_rng(9).poisson(1.0, white + black)
    audit = audit_fairness(_frame({"probation": list(probation), "police": list(police)},
                                  ["white"] * white + ["black"] * black),
                           GOVERNANCE, model_version="1")
    row = _row(audit.extra, "probation", "black")
    assert row["few_records"] and row["records"] == 9 and row["expected_records"] == 60
    assert not row["differs"]
    assert report_context(audit)["recording"]["sentences"] == []


def test_an_under_predicted_group_with_fewer_records_reads_missing_information() -> None:
    """Asian subjects: half the health records and a predicted risk below the observed
    rate; Black subjects: as under-predicted, with the records of White subjects. Only
    the Asian subjects' finding names the health records and missing information."""
    from model.fairness_summary import finding_sentences

    rng = np.random.default_rng(11)
    white, asian, black = 1_500, 400, 400
    asian_rows = slice(white, white + asian)
    health = rng.poisson(2.0, white + asian + black)
    health[asian_rows] = rng.poisson(1.0, asian)
    frame = _frame({"health": list(health), "police": list(rng.poisson(1.0, len(health)))},
                   ["white"] * white + ["asian"] * asian + ["black"] * black)
    frame.loc[white:, "probability"] = rng.uniform(0, 0.5, asian + black)  # under-predicted
    audit = audit_fairness(frame, GOVERNANCE, model_version="1")
    said = {s.split(" the model predicts")[0]: s for s in finding_sentences(audit)
            if " the model predicts a lower risk" in s}
    assert {"For Asian subjects", "For Black subjects"} <= said.keys()
    assert (
        "Health held fewer records per referral about them than about the largest group, age "
        "for age: fewer records and a predicted risk below the observed rate point to missing "
        "information (see what the model saw about each group). The gap may also come from "
        "how this group's outcomes were recorded (label bias), not only from the model."
    ) in said["For Asian subjects"]
    # The records found come first, label bias (which the extract cannot show) after.
    assert ("The gap may come from how this group's outcomes were recorded (label bias), not "
            "only from the model.") in said["For Black subjects"]
    assert "records" not in said["For Black subjects"]


def test_a_group_selected_more_often_with_more_records_reads_how_its_records_are_made() -> None:
    """A probe's mixed-ethnicity subjects were selected 1.29 times as often and police
    recorded 2.31 times as much about them, said in two sentences apart; Black subjects
    here are selected as often with the records of White subjects, and read no such words."""
    from model.fairness_summary import finding_sentences

    rng = np.random.default_rng(12)
    white, mixed, black = 1_500, 400, 400
    police = rng.poisson(1.0, white + mixed + black)
    police[white:white + mixed] = rng.poisson(2.5, mixed)
    frame = _frame({"police": list(police), "health": list(rng.poisson(2.0, len(police)))},
                   ["white"] * white + ["mixed"] * mixed + ["black"] * black)
    high = np.concatenate([rng.uniform(0, 1, white) < 0.2, rng.uniform(0, 1, mixed + black) < 0.45])
    frame["band"] = np.where(high, "high", "low")
    audit = audit_fairness(frame, GOVERNANCE, model_version="1")
    said = {s.split(" are placed in")[0]: s for s in finding_sentences(audit)
            if " are placed in the high or very high bands" in s}
    assert {"Subjects of mixed ethnicity", "Black subjects"} <= said.keys(), said
    assert ("Police held more records per referral about them than about the largest group, "
            "age for age, and the model scores from records: the higher selection may reflect "
            "how often their records are made as much as their risk (see what the model saw "
            "about each group).") in said["Subjects of mixed ethnicity"]
    assert "records" not in said["Black subjects"]


def test_a_group_whose_size_publication_withholds_loses_its_recording_row() -> None:
    """5 referrals of `other` are withheld, so the next smallest group's size is too
    (else all referrals less the rest would give the 5 back): its records per referral
    would give that size back with its record count, so its row goes whole."""
    frame = _planted(black_health=0.5)
    frame.loc[frame.index[:5], "ethnicity_group"] = "other"
    frame.loc[frame.index[5:205], "ethnicity_group"] = "asian"
    audit = audit_fairness(frame, GOVERNANCE, model_version="1")
    published = for_publication(audit)
    sizes = {g.attributes["ethnicity_group"]: g.n for g in published.groups
             if set(g.attributes) == {"ethnicity_group"}}
    assert sizes["other"] is None and sizes["asian"] is None and sizes["white"] == 795
    asian = _row(published.extra, "health", "asian")
    assert asian["suppressed"] and asian["n"] is None and asian["records"] is None
    assert not _row(published.extra, "health", "white")["suppressed"]


def test_a_rated_referral_without_a_feature_row_is_refused() -> None:
    names = [s.name for s in build_manifest()]
    features = pd.DataFrame(0, index=range(1), columns=names).assign(referral_id=["A"])
    ratings = pd.DataFrame({"referral_id": ["A", "B"], "probability": [0.1, 0.2],
                            "band": ["low", "low"]})
    labels = pd.DataFrame({"referral_id": ["A", "B"], "follow_up_complete": [True, True],
                           "label": [0, 1]})
    referrals = pd.DataFrame({"referral_id": ["A", "B"], "sex": ["female", "male"]})
    with pytest.raises(ValueError, match="1 rated referrals have no feature row, e.g. 'B'"):
        audit_frame(referrals, labels, ratings, features)


def _repeated_person_frame() -> pd.DataFrame:
    """2,000 White subjects (one referral each, Poisson(1) health records) and 150 referrals
    of six Black subjects, 25 each: one of them holds 12 records, the others none."""
    rng = np.random.default_rng(3)
    n_white = 2_000
    health = [*rng.poisson(1.0, n_white).astype(float), *[12.0] * 25, *[0.0] * 125]
    frame = _frame({"health": health}, ["white"] * n_white + ["black"] * 150)
    persons = [f"W{i}" for i in range(n_white)] + [f"B{i // 25}" for i in range(150)]
    return frame.assign(person_id=persons)


def test_a_persons_referrals_are_one_draw_of_the_bootstrap() -> None:
    frame = _repeated_person_frame()
    row = _row(audit_fairness(frame, GOVERNANCE, model_version="1").extra, "health", "black")
    # Six people, one with records: whether the group holds twice the records is not known.
    assert 1.6 < row["ratio"] < 2.4
    assert row["ratio_ci"][0] < 0.8 and not row["differs"]
    # Drawn referral by referral, the one person's 25 referrals looked like 25 people's.
    apart = audit_fairness(frame.drop(columns="person_id"), GOVERNANCE, model_version="1")
    assert _row(apart.extra, "health", "black")["differs"]


def test_the_audit_frame_keeps_each_referrals_person_and_household() -> None:
    names = [s.name for s in build_manifest()]
    features = pd.DataFrame(0, index=range(2), columns=names).assign(referral_id=["A", "B"])
    ratings = pd.DataFrame({"referral_id": ["A", "B"], "probability": [0.1, 0.2],
                            "band": ["low", "low"]})
    labels = pd.DataFrame({"referral_id": ["A", "B"], "follow_up_complete": [True, True],
                           "label": [0, 1]})
    referrals = pd.DataFrame({"referral_id": ["A", "B"], "person_id": ["p1", "p2"],
                              "household_id": ["h1", "h1"], "sex": ["female", "female"]})
    frame = audit_frame(referrals, labels, ratings, features)
    assert frame["person_id"].tolist() == ["p1", "p2"]
    assert frame["household_id"].tolist() == ["h1", "h1"]  # one family for the bootstrap


def test_publication_withholds_the_records_expected_of_a_withheld_group() -> None:
    """A row's expected records is its referrals times the largest group's published rate:
    9.7 over 1.93 gave back the 5 referrals of a group whose size was withheld, and 23.2
    the 12 of the group withheld beside it."""
    frame = _planted(black_health=0.5)
    frame.loc[frame.index[:5], "ethnicity_group"] = "other"
    frame.loc[frame.index[5:17], "ethnicity_group"] = "mixed"
    audit = audit_fairness(frame, GOVERNANCE, model_version="1")
    assert _row(audit.extra, "health", "other")["expected_records"] > 0  # the board's copy
    published = for_publication(audit).extra
    for group in ("other", "mixed"):
        assert _row(published, "health", group)["expected_records"] is None
    assert _row(published, "health", "black")["expected_records"] is not None  # n shown


def test_a_withheld_finding_of_missing_information_still_reads() -> None:
    # 0 housing records about 300 Black subjects whose size publication withholds.
    from model.recording_report import recording_context

    rng = np.random.default_rng(5)
    housing = np.concatenate([rng.poisson(0.8, 1_000), np.zeros(300)])
    audit = audit_fairness(_frame({"housing": list(housing)},
                                  ["white"] * 1_000 + ["black"] * 300), GOVERNANCE,
                           model_version="1")
    section = for_publication(audit).extra["recording"]
    rows = [{**r, "n": None, "expected_records": None} if r["group"] == "black" else r
            for r in section["rows"]]
    [sentence] = recording_context({**section, "rows": rows}, THRESHOLD)["sentences"]
    assert sentence.endswith("(its referrals), where the rate of White subjects, age for age, "
                             "would lead one to expect more: missing information (their "
                             "scores rest on less than other groups' do).")


def test_a_group_recorded_as_the_largest_is_age_for_age_no_different() -> None:
    """White and Black subjects hold the same health records age for age (2 a child, 1 an
    adult), Black subjects being all children; Asian subjects follow another age pattern
    (none a child, 6 an adult). Standardised to every referral's rates, Black subjects
    read 2.04 times White subjects' records, 'age for age', and differed."""
    def block(group: str, children: int, adults: int, child: float, adult: float
              ) -> pd.DataFrame:
        return pd.DataFrame({"ethnicity_group": group,
                             "age_years": [8] * children + [40] * adults,
                             "subject_type": ["child"] * children + ["adult_at_risk"] * adults,
                             "records_health": [child] * children + [adult] * adults})

    frame = pd.concat([block("white", 1_000, 1_000, 2.0, 1.0), block("black", 400, 0, 2.0, 1.0),
                       block("asian", 600, 600, 0.0, 6.0)], ignore_index=True)
    rng = np.random.default_rng(0)
    frame = frame.assign(referral_id=[f"R{i}" for i in range(len(frame))], sex="female",
                         disability=False, imd_decile=3, label=rng.integers(0, 2, len(frame)),
                         probability=rng.uniform(0, 1, len(frame)), band="low")
    audit = audit_fairness(frame, GOVERNANCE, model_version="1")
    black = _row(audit.extra, "health", "black")
    assert black["ratio"] == pytest.approx(1.0) and not black["differs"]
    assert black["expected_records"] == pytest.approx(800.0)  # 400 children at 2
    asian = _row(audit.extra, "health", "asian")  # 3,600 against 600 x 2 + 600 x 1
    assert asian["ratio"] == pytest.approx(2.0) and asian["differs"]
