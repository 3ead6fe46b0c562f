"""`safeguard train`, `score`, `model list` and `model check` from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from api.cli import app
from model.registry import ModelRegistry

runner = CliRunner()


@pytest.fixture
def mlflow_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SAFEGUARD_MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("SAFEGUARD_MLFLOW_ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    monkeypatch.setenv("SAFEGUARD_MODEL_NAME", "cli-test-model")
    return tmp_path


def test_train_then_score_then_list_then_check(small_extract: Path, mlflow_env: Path) -> None:
    trained = runner.invoke(app, ["train", "--input", str(small_extract), "--seed", "1"])
    assert trained.exit_code == 0, trained.output
    assert "version 1 registered" in trained.output and "roc_auc" in trained.output
    listed = runner.invoke(app, ["model", "list"])
    assert listed.exit_code == 0 and "1" in listed.output
    registry = ModelRegistry(f"sqlite:///{mlflow_env / 'mlflow.db'}",
                             model_name="cli-test-model")
    run_id = registry.resolve("1").run_id
    logged = {Path(a.path).name for folder in ("evaluation", "explanations")
              for a in registry.client.list_artifacts(run_id, folder)}
    assert {"calibration.png", "score_distribution.png", "feature_manifest.json",
            "rates_by_band.csv", "training_report.json", "shap_beeswarm.png",
            "mean_abs_shap_by_agency.csv"} <= logged
    for name in ("ratings.csv", "ratings.parquet"):
        out = mlflow_env / name
        scored = runner.invoke(app, ["score", "--input", str(small_extract), "--output",
                                     str(out), "--model", "1"])
        assert scored.exit_code == 0, scored.output
        table = pd.read_csv(out) if name.endswith(".csv") else pd.read_parquet(out)
        assert {"referral_id", "probability", "score", "band", "rag", "response_timescale",
                "model_version"} <= set(table.columns)
        assert table["score"].between(1, 20).all()
        assert (table["model_version"].astype(str) == "1").all()
        assert table["referral_id"].is_unique and len(table) > 3_000
        agency_sums = table["contributions_by_agency"].map(lambda s: sum(json.loads(s).values()))
        assert np.allclose(table["base_value"] + agency_sums, table["raw_score"], atol=1e-6)
        factors = json.loads(table["top_factors"].iloc[0])
        assert factors and {"feature", "sentence", "agency", "contribution"} <= set(factors[0])
    checked = runner.invoke(app, ["model", "check", "1"])
    assert checked.exit_code == 0 and "golden cases reproduced" in checked.output


def test_no_champion_yet_is_a_clear_error(small_extract: Path, mlflow_env: Path) -> None:
    result = runner.invoke(app, ["score", "--input", str(small_extract), "--output",
                                 str(mlflow_env / "out.csv")])
    assert result.exit_code == 1
    assert "no version or alias 'champion'" in result.output


def test_an_unknown_output_format_is_refused_before_any_work(
        small_extract: Path, mlflow_env: Path) -> None:
    result = runner.invoke(app, ["score", "--input", str(small_extract), "--output",
                                 str(mlflow_env / "out.xlsx"), "--model", "1"])
    assert result.exit_code == 1 and ".csv, .parquet" in result.output


def test_a_missing_extract_is_a_clear_error(tmp_path: Path, mlflow_env: Path) -> None:
    result = runner.invoke(app, ["train", "--input", str(tmp_path / "nowhere")])
    assert result.exit_code == 1 and "nowhere" in result.output
    listed = runner.invoke(app, ["model", "list"])
    assert listed.exit_code == 0 and "no versions" in listed.output
