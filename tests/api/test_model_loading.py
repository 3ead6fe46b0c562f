"""Loading the model at start-up: a model that fails any check is never served.

The service still starts; `/readyz` answers 503 with the reason and scoring
answers 503, until an approved model that passes its checks is promoted.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from api.app import create_app
from api.model_scorer import ModelScorer, load_scorer
from api.settings import Settings
from api.store import init_db
from model.registry import ModelRegistry
from tests.api import factories
from tests.api.conftest import (
    TrainedModel,
    empty_registry,
    issue_keys,
    make_settings,
    record_test_approval,
    register_copy,
    registry_settings,
)


def settings_for(tmp_path: Path, registry: ModelRegistry | None = None, **overrides: Any
                 ) -> Settings:
    """Settings with a database of the test's own, pointed at ``registry``."""
    url = f"sqlite:///{tmp_path / 'api.db'}"
    init_db(url)
    return make_settings(url, **(registry_settings(registry) if registry else {}), **overrides)


def assert_not_ready(settings: Settings, *expected: str) -> None:
    """`/readyz` and scoring both answer 503 and give a reason containing ``expected``."""
    scorer = load_scorer(settings)
    assert not isinstance(scorer, ModelScorer)
    keys, _ = issue_keys(settings)
    with TestClient(create_app(settings, scorer)) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 503
        reason = ready.json()["checks"]["model"]["reason"]
        assert all(text in reason for text in expected), reason
        scored = client.post("/v1/score", json=factories.case(),
                             headers={"Authorization": f"Bearer {keys['triage']}"})
        assert scored.status_code == 503 and reason in scored.json()["detail"]
        assert "safeguard_model_ready 0.0" in client.get("/metrics").text


def artifact_file(registry: ModelRegistry, name: str) -> Path:
    """The stored copy of one file of the registered model's artifact."""
    assert registry.artifact_root is not None
    [path] = Path(registry.artifact_root).rglob(f"risk_model/{name}")
    return path


def test_no_model_with_the_alias_means_not_ready(tmp_path: Path) -> None:
    registry = empty_registry(tmp_path / "mlflow")
    assert_not_ready(settings_for(tmp_path, registry), "alias 'champion'")


def test_an_unreachable_registry_means_not_ready(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder", encoding="utf-8")
    unusable = f"sqlite:///{tmp_path / 'a-file' / 'mlflow.db'}"
    # A store path that cannot exist is an unreachable registry (its address not shown).
    assert_not_ready(settings_for(tmp_path, mlflow_tracking_uri=unusable), "cannot be reached")


def test_a_changed_artifact_fails_its_checksum_and_is_not_served(
    tmp_path: Path, trained_model: TrainedModel
) -> None:
    model = trained_model.loaded
    registry, _ = register_copy(tmp_path / "mlflow", model.model, model.golden)
    stored = artifact_file(registry, "risk_model.json")
    stored.write_text(stored.read_text(encoding="utf-8") + " ", encoding="utf-8")
    assert_not_ready(settings_for(tmp_path, registry), "checksum", "changed or damaged")


def test_a_model_that_no_longer_reproduces_its_golden_set_is_not_served(
    tmp_path: Path, trained_model: TrainedModel
) -> None:
    golden = copy.deepcopy(trained_model.loaded.golden)
    golden[0]["expected"]["probability"] += 0.01  # what the model "used to" say
    registry, _ = register_copy(tmp_path / "mlflow", trained_model.loaded.model, golden)
    assert_not_ready(settings_for(tmp_path, registry), "golden set")


def test_a_model_that_passes_its_checks_is_served(
    tmp_path: Path, trained_model: TrainedModel
) -> None:
    model = trained_model.loaded
    registry, version = register_copy(tmp_path / "mlflow", model.model, model.golden)
    settings = settings_for(tmp_path, registry)
    record_test_approval(settings.database_url, registry, version)
    scorer = load_scorer(settings)
    assert isinstance(scorer, ModelScorer) and scorer.version == version
    ready, reason = scorer.readiness()
    assert ready and f"{len(model.golden)} golden cases reproduced" in reason
