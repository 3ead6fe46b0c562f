"""Shared fixtures of the model tests: one small synthetic extract, prepared and trained once."""

from __future__ import annotations

from pathlib import Path

import pytest

from model.data import PreparedExtract, prepare_extract
from model.governance import load_governance
from model.registry import ModelRegistry
from model.train import TrainingConfig, TrainingResult, train_model
from pipelines.synth import SynthConfig, generate_extract

SMALL_REFERRALS = 4_000


@pytest.fixture(scope="session")
def small_extract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clean synthetic extract of a few thousand referrals (Parquet)."""
    out = tmp_path_factory.mktemp("extract") / "small"
    generate_extract(SynthConfig(n_referrals=SMALL_REFERRALS, seed=11, file_format="parquet",
                                 corrupt=False), out_dir=out)
    return out


@pytest.fixture(scope="session")
def prepared(small_extract: Path) -> PreparedExtract:
    """The small extract validated, with features and labels."""
    return prepare_extract(small_extract)


@pytest.fixture(scope="session")
def trained(prepared: PreparedExtract) -> TrainingResult:
    """A model trained on the small extract with the default governance settings."""
    governance, text = load_governance()
    assert prepared.labels is not None
    return train_model(prepared.features, prepared.labels, members=prepared.members,
                       governance=governance, governance_text=text,
                       config=TrainingConfig(max_iter=60))


@pytest.fixture
def registry(tmp_path: Path) -> ModelRegistry:
    """An empty MLflow store (SQLite tracking, local artifacts) in a temporary folder."""
    return ModelRegistry(f"sqlite:///{tmp_path / 'mlflow.db'}", model_name="test-model",
                         artifact_root=str(tmp_path / "artifacts"))
