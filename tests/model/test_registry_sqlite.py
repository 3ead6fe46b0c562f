"""Resolving and loading from a local SQLite registry without MLflow: the same answers
as MLflow's client, the same checks, and MLflow not imported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from model.data import PreparedExtract
from model.golden import build_golden_set
from model.registry import MODEL_ARTIFACT, ModelRegistry, RegistryError
from model.registry_records import VersionInfo
from model.registry_sqlite import KNOWN_SCHEMA, SqliteRegistryReader
from model.risk_model import MODEL_FILE
from model.train import TrainingResult

ROOT = Path(__file__).resolve().parents[2]


def _register(registry: ModelRegistry, trained: TrainingResult,
              prepared: PreparedExtract) -> str:
    run_id = registry.start_run("tests", run_name="test")
    registry.log_run(run_id, params={"seed": 0}, metrics=trained.metrics, tags={})
    golden = build_golden_set(trained.model, prepared.feeds, trained.test_ids,
                              trained.test_arrays["probability"], size=4)
    return registry.register(run_id, trained.model, golden, description="test").version


def _through_mlflow(registry: ModelRegistry, reference: str) -> VersionInfo:
    mv = (registry.client.get_model_version(registry.model_name, reference)
          if reference.isdigit()
          else registry.client.get_model_version_by_alias(registry.model_name, reference))
    return registry.version_info(str(mv.version))


@pytest.fixture
def two_versions(registry: ModelRegistry, trained: TrainingResult,
                 prepared: PreparedExtract) -> tuple[str, str]:
    first, second = (_register(registry, trained, prepared) for _ in range(2))
    registry.promote(first, "champion")
    registry.promote(first, "challenger")
    return first, second


def test_the_store_mlflow_creates_is_read_directly(registry: ModelRegistry,
                                                   two_versions: tuple[str, str]) -> None:
    reader = SqliteRegistryReader.for_store(registry.tracking_uri,
                                            model_name=registry.model_name)
    assert reader is not None, (
        f"MLflow's store schema is no longer {KNOWN_SCHEMA}: check that the tables "
        "model.registry_sqlite reads still have its columns, then update KNOWN_SCHEMA")


@pytest.mark.parametrize("reference", ["1", "2", "champion", "challenger"])
def test_both_routes_give_the_same_version(registry: ModelRegistry,
                                           two_versions: tuple[str, str],
                                           reference: str) -> None:
    assert registry.resolve(reference) == _through_mlflow(registry, reference)


def test_unknown_and_deleted_versions_are_refused_as_mlflow_refuses_them(
        registry: ModelRegistry, two_versions: tuple[str, str]) -> None:
    registry.client.delete_model_version(registry.model_name, two_versions[1])
    for reference in ("99", two_versions[1], "nobody"):
        with pytest.raises(RegistryError, match=f"no version or alias '{reference}'"):
            registry.resolve(reference)


def test_the_latest_alias_and_other_stores_are_left_to_mlflow(
        registry: ModelRegistry, two_versions: tuple[str, str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert registry.resolve("latest").version == two_versions[1]
    assert SqliteRegistryReader.for_store("http://127.0.0.1:5000", model_name="m") is None
    assert SqliteRegistryReader.for_store(f"sqlite:///{tmp_path / 'absent.db'}",
                                          model_name="m") is None
    monkeypatch.setenv("MLFLOW_WORKSPACE", "team")
    assert SqliteRegistryReader.for_store(registry.tracking_uri, model_name="m") is None


def test_a_missing_artefact_folder_is_refused(registry: ModelRegistry,
                                              two_versions: tuple[str, str]) -> None:
    folder = Path(registry.resolve("champion").source.removeprefix("file://"))
    (folder / MODEL_FILE).rename(folder.with_name("moved.json"))
    with pytest.raises(RegistryError, match="checksum"):
        registry.load("champion")
    folder.rename(folder.with_name("gone"))
    with pytest.raises(RegistryError, match="artefact folder .* is missing"):
        registry.load("champion")


def test_loading_a_version_does_not_import_mlflow(registry: ModelRegistry,
                                                  two_versions: tuple[str, str]) -> None:
    script = (
        "import json, sys\n"
        "from model.registry import ModelRegistry\n"
        f"registry = ModelRegistry({registry.tracking_uri!r}, model_name='test-model')\n"
        "loaded = registry.load('champion')\n"
        "print(json.dumps([loaded.info.version, len(loaded.golden), 'mlflow' in sys.modules]))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=ROOT, check=True, timeout=300)
    assert json.loads(done.stdout.splitlines()[-1]) == [two_versions[0], 4, False]


def test_listing_gives_what_mlflow_gives(registry: ModelRegistry,
                                         two_versions: tuple[str, str]) -> None:
    listed = registry.list_versions()
    assert [v.version for v in listed] == [two_versions[1], two_versions[0]]
    assert listed == [_through_mlflow(registry, v.version) for v in listed]
    for version in two_versions:
        run = registry.client.get_run(registry.resolve(version).run_id)
        assert registry.run_tags(version) == run.data.tags


def test_a_runs_file_is_read_in_place_and_only_inside_the_run(
        registry: ModelRegistry, two_versions: tuple[str, str]) -> None:
    path = f"{MODEL_ARTIFACT}/{MODEL_FILE}"
    read = registry.read_artifact(two_versions[0], path)
    assert read is not None and json.loads(read)  # the model document, as logged
    assert registry.read_artifact(two_versions[0], "evaluation/absent.json") is None
    assert registry.read_artifact(two_versions[0], "../../../mlflow.db") is None


def test_listing_versions_does_not_import_mlflow(registry: ModelRegistry,
                                                 two_versions: tuple[str, str]) -> None:
    """`safeguard model list` imported MLflow and opened its store (4 s of CPU) and asked
    it for each version's run three times over: 6.4 s of CPU for 1 version, 8.2 s for 10."""
    script = (
        "import json, sys\n"
        "from model.registry import ModelRegistry\n"
        f"registry = ModelRegistry({registry.tracking_uri!r}, model_name='test-model')\n"
        "listed = registry.list_versions()\n"
        "tags = [registry.run_tags(v.version) for v in listed]\n"
        f"read = registry.read_artifact(listed[0].version, {MODEL_ARTIFACT + '/' + MODEL_FILE!r})\n"
        "print(json.dumps([len(listed), len(tags), read is not None, 'mlflow' in sys.modules]))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=ROOT, check=True, timeout=300)
    assert json.loads(done.stdout.splitlines()[-1]) == [2, 2, True, False]


def test_a_moved_run_folder_is_an_error_not_a_file_never_recorded(
        registry: ModelRegistry, two_versions: tuple[str, str]) -> None:
    """The store's files moved: `model card` wrote a card saying "no fairness audit
    recorded" and "not measured", and `model list` said the test period was not recorded."""
    from model.provenance import provenance

    run_folder = Path(registry.resolve(two_versions[0]).source.removeprefix("file://")).parent
    run_folder.rename(run_folder.with_name("moved"))
    with pytest.raises(RegistryError, match="artefact folder .* is missing"):
        registry.read_artifact(two_versions[0], f"{MODEL_ARTIFACT}/{MODEL_FILE}")
    where = provenance(registry, two_versions[0])
    assert where.test_period() == "files missing" and "is missing" in (where.missing or "")
    assert provenance(registry, two_versions[1]).missing is None


def test_two_processes_opening_a_new_store_at_once_both_open_it(tmp_path: Path) -> None:
    """Two `safeguard train` started together on a new store: one failed after its whole
    fit, "cannot be reached (table datasets already exists)", both migrating the store."""
    uri = f"sqlite:///{tmp_path / 'new' / 'mlflow.db'}"
    script = ("from model.registry import ModelRegistry\n"
              f"registry = ModelRegistry({uri!r}, model_name='m')\n"
              "registry.connect()\n"
              "print(registry.list_versions())\n")
    started = [subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
               for _ in range(2)]
    for each in started:
        out, err = each.communicate(timeout=300)
        assert each.returncode == 0 and out.strip() == "[]", err[-400:]


def test_the_list_command_imports_none_of_what_builds_a_model(
        registry: ModelRegistry, two_versions: tuple[str, str], tmp_path: Path) -> None:
    """The whole `safeguard model list`: provenance imported the fairness audit for one
    file name (scipy.stats), the card's sources pandas, and the golden set's name numba
    through the model: 6.8 s of its 12 s wall at a load of 4, 3.8 s of user CPU to 1.8."""
    script = (
        "import json, sys\n"
        "from api.cli import app\n"
        "code = app(['model', 'list'], standalone_mode=False)\n"
        "print(json.dumps([code, sorted(m for m in ('mlflow', 'scipy', 'numba', 'pandas', "
        "'sklearn', 'shap') if m in sys.modules)]))\n"
    )
    env = {**os.environ, "SAFEGUARD_MLFLOW_TRACKING_URI": registry.tracking_uri,
           "SAFEGUARD_MODEL_NAME": registry.model_name,
           "SAFEGUARD_DATABASE_URL": f"sqlite:///{tmp_path / 'store.db'}"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=ROOT, check=True, timeout=300, env=env)
    assert "champion" in done.stdout
    assert json.loads(done.stdout.splitlines()[-1]) == [None, []]
