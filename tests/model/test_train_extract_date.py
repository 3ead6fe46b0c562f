"""`safeguard train` on an extract whose date, taken from the data, stands alone: the
warning validation gives is recorded in the run's training report and shown on the card
logged with the version, where a governance board reads it (it was only printed)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from api.cli import app
from data_contracts import validate_extract
from model.registry import ModelRegistry
from tests.model.test_cli import mlflow_env as mlflow_env  # noqa: F401  (the fixture)

runner = CliRunner()
HEADING = "#### Warnings about the training extract's date"
LONE_DAY = "2026-11-20"  # the small extract ends on 2026-09-30; no later than any run's today


@pytest.fixture
def lone_date(small_extract: Path, tmp_path: Path) -> Path:
    """The small extract with one police event, recorded the same day, on `LONE_DAY`."""
    out = tmp_path / "lone_date"
    shutil.copytree(small_extract, out)
    police = pd.read_parquet(out / "events_police.parquet")
    stray = police.tail(1).assign(event_date=LONE_DAY, recorded_date=LONE_DAY)
    pd.concat([police, stray], ignore_index=True).to_parquet(
        out / "events_police.parquet", index=False)
    return out


def test_the_extract_date_warning_reaches_the_training_report_and_the_card(
        lone_date: Path, small_extract: Path, mlflow_env: Path) -> None:  # noqa: F811
    warning = validate_extract(lone_date, count_persons=False).report["extract_date_warning"]
    assert warning and warning.startswith(f"the extract date {LONE_DAY} was taken from the "
                                          "data (its latest date), but it stands alone")
    registry = ModelRegistry(f"sqlite:///{mlflow_env / 'mlflow.db'}",
                             model_name="cli-test-model")
    for extract, version, warnings in ((lone_date, "1", [warning]), (small_extract, "2", [])):
        trained = runner.invoke(app, ["train", "--input", str(extract), "--seed", "1"])
        assert trained.exit_code == 0, trained.output
        report = json.loads(registry.read_artifact(version, "evaluation/training_report.json")
                            or b"")
        assert report["extract_date_warnings"] == warnings
        card = (registry.read_artifact(version, "card/model_card.md") or b"").decode()
        said = f"- **Warning:** {warning}" if warnings else "None."
        assert f"{HEADING}\n\n{said}\n" in card, card
