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



def test_an_extract_without_outcomes_is_refused_before_it_is_read(
        small_extract: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A probe's extract without outcomes was validated and split, then refused as "the
    training referrals have only one outcome class", the missing feed unnamed."""
    folder = tmp_path / "no_outcomes"
    folder.mkdir()
    for feed in small_extract.iterdir():
        if not feed.name.startswith("outcomes."):
            (folder / feed.name).symlink_to(feed)
    monkeypatch.setattr(workflow, "prepare_extract",
                        lambda folder, **_: pytest.fail("the extract was read"))
    registry = ModelRegistry(f"sqlite:///{tmp_path / 'mlflow.db'}", model_name="safeguard-risk")
    with pytest.raises(ValueError, match="training needs outcomes; the extract has no "
                                         "outcomes feed"):
        workflow.train_and_register(folder, registry=registry, experiment="t",
                                    config=workflow.default_config(0))
