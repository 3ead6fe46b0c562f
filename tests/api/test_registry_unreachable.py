"""A model registry that cannot be reached: one line naming it (password hidden) and exit
code 1 from every command that reads it, never "no versions registered" or "no version
or alias"; the service is not ready and says why, and a model card is 503, not 404."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.model_scorer import ModelScorer, load_scorer
from api.settings import Settings
from api.store import init_db
from tests.api.conftest import issue_keys, make_settings
from tests.api.failing_command import one_line_failure

DOWN_SERVER = "http://mlflow:s3cret-pw@127.0.0.1:5998"  # pragma: allowlist secret
DOWN_DATABASE = "postgresql://mlflow:s3cret-pw@127.0.0.1:5999/mlflow"  # pragma: allowlist secret


@pytest.mark.parametrize("args", [
    ("model", "list"),
    ("model", "card", "2", "--output", "{tmp}/card"),
    ("score", "--input", "{tmp}", "--output", "{tmp}/ratings.csv"),
    ("model", "promote", "1"),
])
def test_a_registry_server_that_is_down_is_one_line_not_an_empty_registry(
        args: tuple[str, ...], tmp_path: Path) -> None:
    line = one_line_failure(tmp_path, *args, SAFEGUARD_MLFLOW_TRACKING_URI=DOWN_SERVER)
    assert line == "error: the model registry at http://mlflow:***@127.0.0.1:5998 cannot be " \
                   "reached", line


def test_a_registry_database_that_is_down_is_one_line_in_seconds(tmp_path: Path) -> None:
    line = one_line_failure(tmp_path, "model", "list",
                            SAFEGUARD_MLFLOW_TRACKING_URI=DOWN_DATABASE)
    assert line.startswith("error: the model registry at "
                           "postgresql://mlflow:***@127.0.0.1:5999/mlflow cannot be reached"), line


def _settings(tmp_path: Path, tracking_uri: str) -> Settings:
    url = f"sqlite:///{tmp_path / 'api.db'}"
    init_db(url)
    return make_settings(url, mlflow_tracking_uri=tracking_uri)


def test_the_service_is_not_ready_while_the_registry_is_down_and_says_so(
        tmp_path: Path) -> None:
    """It said "model 'safeguard-risk' has no version or alias 'champion'"; `/readyz` is
    open to anyone, so it says the registry is down without saying where."""
    settings = _settings(tmp_path, DOWN_SERVER)
    scorer = load_scorer(settings)
    assert not isinstance(scorer, ModelScorer)
    with TestClient(create_app(settings, scorer)) as client:
        ready = client.get("/readyz")
    reason = ready.json()["checks"]["model"]["reason"]
    assert ready.status_code == 503 and "the model registry cannot be reached" in reason, reason
    assert "alias" not in reason.split(":", 1)[1] and "127.0.0.1" not in reason


def test_a_model_card_asked_for_while_the_registry_is_down_is_503_not_404(
        tmp_path: Path) -> None:
    settings = _settings(tmp_path, DOWN_SERVER)
    keys, _ = issue_keys(settings)
    with TestClient(create_app(settings)) as client:
        card = client.get("/v1/models/2/card",
                          headers={"Authorization": f"Bearer {keys['governance']}"})
    assert card.status_code == 503 and "Retry-After" in card.headers
    assert "cannot be reached" in card.json()["detail"]
