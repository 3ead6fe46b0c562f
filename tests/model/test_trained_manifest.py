"""A registered version trained on another feature manifest than this release builds is
refused wherever it is loaded (`safeguard score`, on Spark too, `model check`), before its
golden set is re-scored, and `safeguard model list` shows it not servable; a current
version loads."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from model.data import PreparedExtract
from model.golden import build_golden_set
from model.registry import ModelRegistry, RegistryError
from model.run_artifacts import RUN_FEATURE_MANIFEST
from model.train import TrainingResult
from model.trained_manifest import OtherManifest
from pipelines.manifest import MANIFEST_VERSION

runner = CliRunner()
EARLIER = MANIFEST_VERSION - 1
REFUSAL = (f"model version 1 was trained on feature manifest {EARLIER}; this release builds "
           f"manifest {MANIFEST_VERSION}: retrain and approve a new version")


def _register(registry: ModelRegistry, trained: TrainingResult, prepared: PreparedExtract,
              monkeypatch: pytest.MonkeyPatch, *, manifest: int | None = MANIFEST_VERSION,
              run_manifest: int | None = None) -> str:
    """Register the trained model as if by a release building `manifest` (None: a release
    whose model folder held no copy of it); `run_manifest`: the run's evaluation copy."""
    run_id = registry.start_run("tests", run_name="test")
    if run_manifest is not None:
        registry.log_json(run_id, {"manifest_version": run_manifest, "features": []},
                          RUN_FEATURE_MANIFEST)
    golden = build_golden_set(trained.model, prepared.feeds, trained.test_ids,
                              trained.test_arrays["probability"], size=4)
    with monkeypatch.context() as patched:
        if manifest is None:
            patched.setattr("model.registry.write_manifest", lambda path: None)
        else:
            patched.setattr("pipelines.manifest.MANIFEST_VERSION", manifest)
        return registry.register(run_id, trained.model, golden, description="t").version


def test_a_version_trained_on_an_earlier_manifest_is_refused_before_its_golden_set(
        registry: ModelRegistry, trained: TrainingResult, prepared: PreparedExtract,
        monkeypatch: pytest.MonkeyPatch) -> None:
    version = _register(registry, trained, prepared, monkeypatch, manifest=EARLIER)
    current = _register(registry, trained, prepared, monkeypatch)
    assert registry.load(current).info.version == current == "2"

    def not_rescored(*_: object) -> list[str]:
        raise AssertionError("the golden set was re-scored")

    monkeypatch.setattr("model.golden.check_golden_set", not_rescored)
    with pytest.raises(OtherManifest) as refused:
        registry.load(version)
    assert str(refused.value) == REFUSAL and isinstance(refused.value, RegistryError)


def test_a_version_registered_before_its_folder_held_the_manifest_is_judged_by_its_run(
        registry: ModelRegistry, trained: TrainingResult, prepared: PreparedExtract,
        monkeypatch: pytest.MonkeyPatch) -> None:
    earlier = _register(registry, trained, prepared, monkeypatch, manifest=None,
                        run_manifest=EARLIER)
    with pytest.raises(OtherManifest, match=f"^{REFUSAL}$"):
        registry.load(earlier)
    unrecorded = _register(registry, trained, prepared, monkeypatch, manifest=None)
    with pytest.raises(OtherManifest, match=(
            f"^model version {unrecorded} does not record the feature manifest it was trained "
            f"on; this release builds manifest {MANIFEST_VERSION}: retrain and approve")):
        registry.load(unrecorded)
    current = _register(registry, trained, prepared, monkeypatch, manifest=None,
                        run_manifest=MANIFEST_VERSION)
    assert registry.load(current, check_golden=False).info.version == current


@pytest.fixture
def cli_registry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModelRegistry:
    """The commands' registry (no service store), empty."""
    uri, artifacts = f"sqlite:///{tmp_path / 'mlflow.db'}", str(tmp_path / "artifacts")
    monkeypatch.setenv("SAFEGUARD_MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("SAFEGUARD_MLFLOW_ARTIFACT_ROOT", artifacts)
    monkeypatch.setenv("SAFEGUARD_MODEL_NAME", "manifest-test-model")
    monkeypatch.setenv("SAFEGUARD_DATABASE_URL", f"sqlite:///{tmp_path / 'store.db'}")
    return ModelRegistry(uri, model_name="manifest-test-model", artifact_root=artifacts)


def test_the_commands_refuse_it_and_the_list_shows_it_not_servable(
        cli_registry: ModelRegistry, trained: TrainingResult, prepared: PreparedExtract,
        small_extract: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _register(cli_registry, trained, prepared, monkeypatch, manifest=EARLIER)
    _register(cli_registry, trained, prepared, monkeypatch)
    cli_registry.promote("1", "champion")
    out = tmp_path / "ratings.csv"
    scored = runner.invoke(app, ["score", "--input", str(small_extract), "--output", str(out)])
    assert scored.exit_code == 1 and REFUSAL in " ".join(scored.output.split())
    spark_out = tmp_path / "ratings.parquet"
    on_spark = runner.invoke(app, ["score", "--input", str(small_extract), "--output",
                                   str(spark_out), "--engine", "spark"])
    assert on_spark.exit_code == 1 and REFUSAL in " ".join(on_spark.output.split())
    assert not out.exists() and not spark_out.exists()
    checked = runner.invoke(app, ["model", "check", "1"])
    assert checked.exit_code == 1 and REFUSAL in " ".join(checked.output.split())
    listed = runner.invoke(app, ["model", "list"])
    assert listed.exit_code == 0, listed.output
    rows = {line.split("│")[1].strip(): line for line in listed.output.splitlines()
            if line.startswith("│ ") and line.split("│")[1].strip().isdigit()}
    assert re.search(rf"│ {EARLIER} \(not servable\) +│", rows["1"])
    assert "champion (not served: trained on another feature manifest)" in rows["1"]
    assert re.search(rf"│ {MANIFEST_VERSION} +│", rows["2"]) and "not serv" not in rows["2"]
    assert f"not servable: {REFUSAL}" in listed.output
    assert runner.invoke(app, ["model", "check", "2"]).exit_code == 0


def test_a_manifest_that_names_no_version_counts_as_unrecorded() -> None:
    from model.trained_manifest import manifest_version_in

    assert manifest_version_in(json.dumps({"manifest_version": 4}).encode()) == 4
    for text in (b"{}", b"[]", b"not json", b'{"manifest_version": true}',
                 b'{"manifest_version": "5"}', None):
        assert manifest_version_in(text) is None, text
