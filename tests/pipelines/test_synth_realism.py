"""The synthetic extract resembles the published English figures (anchors.py), and the
`--realism-report` says so, or exits non-zero when it does not."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from pipelines.synth import SynthConfig, SyntheticData, generate_data
from pipelines.synth.anchors import ANCHORS, GROUP_CHECK_REFERRALS, PLAUSIBLE_GROUP_MIN
from pipelines.synth.realism import group_counts, realism_rows, true_probability_auc

N_REFERRALS = 20_000


@pytest.fixture(scope="module")
def data() -> SyntheticData:
    return generate_data(SynthConfig(n_referrals=N_REFERRALS, seed=3))


def test_every_anchored_figure_is_within_tolerance_at_20000(data: SyntheticData) -> None:
    rows = realism_rows(data)
    assert [row.anchor for row in rows] == list(ANCHORS)
    outside = {row.anchor.key: round(row.ratio, 2) for row in rows if not row.within}
    assert outside == {}


def test_true_probability_auc_is_in_the_range_of_real_tools(data: SyntheticData) -> None:
    assert 0.75 <= true_probability_auc(data) <= 0.85


def test_every_audited_group_comes_to_300_labelled_referrals_at_100000(
    data: SyntheticData,
) -> None:
    scale = GROUP_CHECK_REFERRALS / N_REFERRALS
    small = {g: c for g, c in group_counts(data).items() if c * scale < PLAUSIBLE_GROUP_MIN}
    assert small == {}


def test_a_changed_base_rate_moves_the_outcome_figures_out_of_tolerance() -> None:
    data = generate_data(SynthConfig(n_referrals=3000, seed=3, child_base_rate=0.3))
    outside = {row.anchor.key for row in realism_rows(data) if not row.within}
    assert {"outcome_section_47_substantiated", "outcome_child_protection_plan"} <= outside


def _cli(args: list[str]) -> tuple[int, str]:
    from pipelines.cli import register

    app = typer.Typer()
    register(app)
    result = CliRunner().invoke(app, ["synth", *args], terminal_width=200)
    return result.exit_code, result.output


def test_realism_report_prints_each_figure_with_its_ratio(data: SyntheticData) -> None:
    code, output = _cli(["--referrals", str(N_REFERRALS), "--seed", "3", "--realism-report"])
    assert code == 0, output
    for anchor in ANCHORS:
        assert anchor.label in output
    row = realism_rows(data)[0]
    assert f"{row.generated:.1%}" in output and f"{row.ratio:.2f}" in output
    assert "true-probability ROC AUC" in output


def test_realism_report_exits_non_zero_when_a_figure_is_outside(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import pipelines.synth.realism as realism

    shifted = (replace(ANCHORS[0], published=ANCHORS[0].published * 2), *ANCHORS[1:])
    monkeypatch.setattr(realism, "ANCHORS", shifted)
    code, output = _cli(["--referrals", "3000", "--realism-report"])
    assert code == 1
    assert "outside 20%" in output and ANCHORS[0].label in output


def test_synth_without_out_or_report_is_refused() -> None:
    code, output = _cli(["--referrals", "10"])
    assert code == 1 and "--out" in output


def test_child_factors_count_records_about_the_subject_only(data: SyntheticData) -> None:
    from pipelines.synth.codes import codes
    from pipelines.synth.realism import measure

    subjects = set(data.referrals.person.tolist())
    about_subject = np.isin(data.events.person, list(subjects))
    missing = np.isin(data.events.code, codes("police", "missing_episode"))
    without = replace(data, events=data.events.take(~(about_subject & missing)))
    figures, changed = measure(data), measure(without)
    assert figures["child_missing"] > 0 and changed["child_missing"] == 0
    assert changed["child_self_harm"] == figures["child_self_harm"]
    assert changed["parent_domestic_abuse"] == figures["parent_domestic_abuse"]
