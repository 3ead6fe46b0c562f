"""`safeguard train` and `audit fairness` on an extract whose early outcomes are missing:
one warning line naming the stretch, recorded in the training report and the card;
`--since` trains only on the referrals from a date."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from api.cli import app
from model.registry import ModelRegistry
from tests.model.test_cli import mlflow_env as mlflow_env  # noqa: F401  (the fixture)

runner = CliRunner()
CUT = "2021-07-01"


@pytest.fixture
def gapped(small_extract: Path, tmp_path: Path) -> Path:
    """The small extract with the outcomes of every referral before `CUT` deleted."""
    out = tmp_path / "gapped"
    shutil.copytree(small_extract, out)
    referrals = pd.read_parquet(out / "referrals.parquet")
    early = referrals.loc[referrals["referral_date"].astype(str) < CUT, "referral_id"]
    outcomes = pd.read_parquet(out / "outcomes.parquet")
    kept = outcomes.loc[~outcomes["referral_id"].isin(early)]
    kept.to_parquet(out / "outcomes.parquet", index=False)
    return out


def test_train_and_audit_warn_of_the_stretch_and_since_leaves_it_out(
        gapped: Path, mlflow_env: Path) -> None:  # noqa: F811
    trained = runner.invoke(app, ["train", "--input", str(gapped), "--seed", "1"])
    assert trained.exit_code == 0, trained.output
    [line] = [x for x in trained.stderr.splitlines() if "outcomes look unrecorded" in x]
    assert line.startswith("warning: outcomes look unrecorded for the referrals of 2020-01-")
    assert "to 2021-06-30 (2020Q1-2021Q2): 0 outcomes among " in line
    assert line.endswith(f"they were trained on as negatives: check the outcomes feed, or "
                         f"use --since {CUT} to leave them out")
    registry = ModelRegistry(f"sqlite:///{mlflow_env / 'mlflow.db'}",
                             model_name="cli-test-model")
    report = json.loads(registry.read_artifact("1", "evaluation/training_report.json") or b"")
    [gap] = report["outcome_gaps"]
    assert gap["outcomes"] == 0 and gap["next_quarter"] == CUT and report["since"] is None
    assert gap["description"] in line
    card = (registry.read_artifact("1", "card/model_card.md") or b"").decode()
    assert f"**Warning:** {gap['description']}; the model was trained and evaluated" in card

    audited = runner.invoke(app, ["audit", "fairness", "--model", "1", "--input", str(gapped),
                                  "--output", str(mlflow_env / "audit"), "--resamples", "100"])
    assert audited.exit_code == 0, audited.output
    document = json.loads((mlflow_env / "audit" / "fairness.json").read_text())
    [audit_gap] = document["outcome_gaps"]
    assert audit_gap["referrals"] == gap["referrals"]  # the same labelled early referrals
    assert (f"warning: {audit_gap['description']}; they were audited as referrals without an "
            "outcome: check the outcomes feed for that period") in audited.stderr

    since = runner.invoke(app, ["train", "--input", str(gapped), "--seed", "1",
                                "--since", CUT])
    assert since.exit_code == 0, since.output
    assert "outcomes look unrecorded" not in since.output
    report = json.loads(registry.read_artifact("2", "evaluation/training_report.json") or b"")
    assert report["since"] == CUT and report["outcome_gaps"] == []
    assert report["counts"]["before_since"] == gap["referrals"]
    card = (registry.read_artifact("2", "card/model_card.md") or b"").decode()
    assert f"(from {CUT} only: {gap['referrals']} earlier labelled referrals left out)" in card


def test_a_since_that_is_no_date_is_refused(small_extract: Path, mlflow_env: Path  # noqa: F811
                                            ) -> None:
    result = runner.invoke(app, ["train", "--input", str(small_extract), "--since", "2021-7-1"])
    assert result.exit_code == 1 and "--since must be a date YYYY-MM-DD" in result.output


def test_audit_fairness_since_audits_the_later_referrals_only(
        gapped: Path, mlflow_env: Path) -> None:  # noqa: F811
    assert runner.invoke(app, ["train", "--input", str(gapped), "--seed", "1"]).exit_code == 0
    out = mlflow_env / "since"
    audited = runner.invoke(app, ["audit", "fairness", "--model", "1", "--input", str(gapped),
                                  "--output", str(out), "--resamples", "100", "--since", CUT])
    assert audited.exit_code == 0, audited.output
    assert "outcomes look unrecorded" not in audited.stderr  # the gap is before CUT
    document = json.loads((out / "fairness.json").read_text())
    assert document["audited"]["since"] == CUT and document["outcome_gaps"] == []
    assert document["audited"]["referrals_from"] >= CUT
    referrals = pd.read_parquet(gapped / "referrals.parquet")
    later = (referrals["referral_date"].astype(str) >= CUT).sum()
    assert 0 < document["n_labelled"] <= later

    for since, said in (("2021-13-01", "--since must be a date YYYY-MM-DD, got '2021-13-01'"),
                        ("2999-01-01", "--since 2999-01-01: no labelled referral is dated on or "
                                       "after it (the extract's labelled referrals run from")):
        refused = runner.invoke(app, ["audit", "fairness", "--model", "1", "--input",
                                      str(gapped), "--output", str(mlflow_env / "x"),
                                      "--since", since])
        assert refused.exit_code != 0 and said in refused.output, refused.output
        assert not (mlflow_env / "x" / "fairness.json").exists()
