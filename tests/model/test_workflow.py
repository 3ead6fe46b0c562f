"""`train_and_register`: a store that cannot be opened or reached is refused before any fit."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from model import workflow
from model.registry import ModelRegistry, RegistryUnavailable


def test_a_damaged_store_is_refused_before_the_extract_is_read(
        small_extract: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The error came from the background thread opening the store, after the extract
    was read and the model fitted (14 to 32 s of a 3,000-referral extract lost)."""
    store = tmp_path / "mlflow.db"
    store.write_bytes(bytes(range(256)) * 20)
    read: list[Path] = []
    monkeypatch.setattr(workflow, "prepare_extract",
                        lambda folder, **_: read.append(folder) or pytest.fail("read"))
    registry = ModelRegistry(f"sqlite:///{store}", model_name="safeguard-risk")
    with pytest.raises(RegistryUnavailable, match="cannot be opened: file is not a database"):
        workflow.train_and_register(small_extract, registry=registry, experiment="t",
                                    config=workflow.default_config(0))
    assert read == []


def test_a_tracking_server_that_is_down_is_refused_before_the_extract_is_read(
        small_extract: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """MLflow found it only when registering, after the fit, and retried for seconds."""
    monkeypatch.setattr(workflow, "prepare_extract",
                        lambda folder, **_: pytest.fail("the extract was read"))
    down = "http://mlflow:s3cret-pw@127.0.0.1:5998"  # pragma: allowlist secret
    registry = ModelRegistry(down, model_name="safeguard-risk")
    started = time.monotonic()
    with pytest.raises(RegistryUnavailable) as refused:
        workflow.train_and_register(small_extract, registry=registry, experiment="t",
                                    config=workflow.default_config(0))
    assert str(refused.value) == ("the model registry at http://mlflow:***@127.0.0.1:5998 "
                                  "cannot be reached")
    assert time.monotonic() - started < 5

