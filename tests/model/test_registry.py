"""The MLflow registry: a run registers a version; loading checks checksum and golden set."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pytest

from model.data import PreparedExtract
from model.golden import GOLDEN_FILE, build_golden_set, check_golden_set
from model.registry import CHECKSUM_TAG, ModelRegistry, RegistryError
from model.risk_model import MODEL_FILE, RiskModel
from model.run_tags import environment_tags
from model.train import TrainingResult


def _register(registry: ModelRegistry, trained: TrainingResult,
              prepared: PreparedExtract) -> str:
    run_id = registry.start_run("tests", run_name="test")
    registry.log_run(run_id, params={"seed": 0}, metrics=trained.metrics,
                     tags=environment_tags())
    golden = build_golden_set(trained.model, prepared.feeds, trained.test_ids,
                              trained.test_arrays["probability"], size=8)
    return registry.register(run_id, trained.model, golden, description="test").version


def _artifact_folder(registry: ModelRegistry, version: str) -> Path:
    return Path(urlparse(registry.resolve(version).source).path)


def test_a_registered_version_loads_and_rates_exactly_as_trained(
        registry: ModelRegistry, trained: TrainingResult, prepared: PreparedExtract) -> None:
    version = _register(registry, trained, prepared)
    loaded = registry.load(version)
    features = prepared.features.set_index("referral_id").loc[trained.test_ids[:200]]
    from pipelines.manifest import FEATURE_NAMES
    matrix = features[list(FEATURE_NAMES)].to_numpy(dtype=np.float32)
    np.testing.assert_array_equal(loaded.model.rate(matrix).probability,
                                  trained.model.rate(matrix).probability)
    assert len(loaded.golden) == 8
    info = registry.list_versions()[0]
    assert info.version == version and info.metrics["test_roc_auc"] == pytest.approx(
        trained.metrics["test_roc_auc"])
    assert len(info.tags[CHECKSUM_TAG]) == 64


def test_aliases_name_versions_and_unknown_ones_are_refused(
        registry: ModelRegistry, trained: TrainingResult, prepared: PreparedExtract) -> None:
    first = _register(registry, trained, prepared)
    second = _register(registry, trained, prepared)
    assert [v.version for v in registry.list_versions()] == [second, first]
    registry.promote(first, "champion")
    assert registry.resolve("champion").version == first
    assert registry.load("champion").info.version == first
    with pytest.raises(RegistryError, match="no version or alias 'challenger'"):
        registry.resolve("challenger")
    with pytest.raises(RegistryError, match="no version or alias '99'"):
        registry.promote("99", "champion")


def test_an_edited_model_file_is_refused(
        registry: ModelRegistry, trained: TrainingResult, prepared: PreparedExtract) -> None:
    version = _register(registry, trained, prepared)
    path = _artifact_folder(registry, version) / MODEL_FILE
    document = json.loads(path.read_text())
    document["ventile_edges"][0] = 0.0
    path.write_text(json.dumps(document))
    with pytest.raises(RegistryError, match="checksum"):
        registry.load(version)


def test_a_model_that_no_longer_reproduces_its_golden_set_is_refused(
        registry: ModelRegistry, trained: TrainingResult, prepared: PreparedExtract,
        monkeypatch: pytest.MonkeyPatch) -> None:
    version = _register(registry, trained, prepared)
    real_rate = RiskModel.rate

    def drifted(self: RiskModel, features: np.ndarray):  # type: ignore[no-untyped-def]
        ratings = real_rate(self, features)
        ratings.probability[:] += 1e-6
        return ratings

    monkeypatch.setattr(RiskModel, "rate", drifted)
    with pytest.raises(RegistryError, match="golden set"):
        registry.load(version)


def test_the_golden_set_spans_the_scores_and_reproduces(
        trained: TrainingResult, prepared: PreparedExtract, tmp_path: Path) -> None:
    golden = build_golden_set(trained.model, prepared.feeds, trained.test_ids,
                              trained.test_arrays["probability"])
    scores = [case["expected"]["score"] for case in golden]
    assert min(scores) <= 3 and max(scores) >= 18
    assert check_golden_set(trained.model, golden) == []
    assert check_golden_set(trained.model, []) == ["the model version has no golden cases"]
    (tmp_path / GOLDEN_FILE).write_text(json.dumps(golden))
    assert json.loads((tmp_path / GOLDEN_FILE).read_text()) == golden


def test_the_run_records_the_environment_and_commit() -> None:
    tags = environment_tags()
    assert tags["package.scikit-learn"] and tags["python"].startswith("3.")
    assert len(tags["git_commit"]) in (40, len("unknown"))


def test_connecting_creates_a_new_store_before_any_run(tmp_path: Path) -> None:
    """`connect` (run on a background thread while training prepares the extract) opens
    the store and creates a new store's tables; a later run in the main thread uses it."""
    import sqlite3

    store = tmp_path / "mlflow.db"
    registry = ModelRegistry(f"sqlite:///{store}", model_name="connect-test",
                             artifact_root=str(tmp_path / "artifacts"))
    registry.connect()
    with sqlite3.connect(store) as db:
        tables = {row[0] for row in db.execute("select name from sqlite_master")}
    assert {"experiments", "runs", "registered_models"} <= tables
    from concurrent.futures import ThreadPoolExecutor

    other = ModelRegistry(f"sqlite:///{tmp_path / 'other.db'}", model_name="connect-test")
    with ThreadPoolExecutor(1) as background:
        background.submit(other.connect).result()
    assert other.start_run("tests", run_name="after-connect")  # main thread, same client


def test_a_new_local_store_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    """A probe found `mlflow.db` 0644 and `mlartifacts` 0755 (MLflow creates them with the
    process's umask), and the golden sets there hold pseudonymised cases: the registry
    creates a new store's file 0600 and its artefact root 0700, even under umask 022;
    what is written into the artefact root is then out of other users' reach."""
    import os

    store, artifacts = tmp_path / "var" / "mlflow.db", tmp_path / "var" / "mlartifacts"
    registry = ModelRegistry(f"sqlite:///{store}", model_name="private-test",
                             artifact_root=str(artifacts))
    previous = os.umask(0o022)
    try:
        run_id = registry.start_run("tests", run_name="private")
        registry.log_json(run_id, {"golden": []}, "golden/golden.json")
    finally:
        os.umask(previous)
    assert store.stat().st_mode & 0o777 == 0o600
    assert artifacts.stat().st_mode & 0o777 == 0o700
    assert list(artifacts.rglob("golden.json"))  # written inside the private folder


def test_scoring_an_extract_reports_a_damaged_model_first_and_a_bad_extract_otherwise(
        registry: ModelRegistry, trained: TrainingResult, prepared: PreparedExtract,
        small_extract: Path, tmp_path: Path) -> None:
    # The model loads beside the validation: its error must still come first, as when it
    # loaded before the extract was read, and an unknown version before any work.
    from data_contracts import FeedRejected
    from model.score import score_extract

    version = _register(registry, trained, prepared)
    bad_extract = tmp_path / "bad"
    bad_extract.mkdir()
    for feed in small_extract.iterdir():
        if feed.name != "referrals.parquet":
            (bad_extract / feed.name).symlink_to(feed)
    (bad_extract / "referrals.csv").write_text("referral_id\nR1\n")
    output = tmp_path / "scores.parquet"
    with pytest.raises(RegistryError, match="no version or alias '99'"):
        score_extract(bad_extract, output, registry=registry, reference="99", explain=False)
    with pytest.raises(FeedRejected, match="referrals.csv"):
        score_extract(bad_extract, output, registry=registry, reference=version, explain=False)
    scored = score_extract(small_extract, output, registry=registry, reference=version,
                           explain=False)
    assert scored.info.version == version and scored.table is not None
    assert scored.rows == len(scored.table) == len(prepared.features)
    path = _artifact_folder(registry, version) / MODEL_FILE
    document = json.loads(path.read_text())
    document["ventile_edges"][0] = 0.0
    path.write_text(json.dumps(document))
    output.unlink()
    for extract in (small_extract, bad_extract):
        with pytest.raises(RegistryError, match="checksum"):
            score_extract(extract, output, registry=registry, reference=version, explain=False)
    assert not output.exists()

