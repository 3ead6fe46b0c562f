"""The one module that talks to MLflow: training runs, the model registry, loading by alias.

The tracking URI is passed in by the caller (from settings or a command option),
never set at import. A registered version's artifact is an MLflow sklearn model
folder in skops format, plus the calibrator, score ventiles, governance settings
(`risk_model.json`), the classifier's trees (`forest.npz`), the golden set and the feature
manifest it was trained on; its SHA-256 is stored as a version tag and checked on every load.

MLflow is imported when a method first needs it. Resolving, listing and loading versions
from a local SQLite store reads MLflow's tables directly (`model.registry_sqlite`), and a
local store's files are copied or read in place (`model.registry_files`), so `safeguard
score`, `safeguard model list` and the service's start-up do not import MLflow; the
checks of a loaded version are the same on either route.
"""

from __future__ import annotations

import json
import logging
import tempfile
import threading
from functools import cached_property, partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, cast

from data_contracts.uris import masked_uri
from model.private_files import create_private_store
from model.registry_files import (
    directory_checksum,
    download_version,
    load_checked_folder,
    local_path,
    read_local_file,
)

# The registry's errors are imported from here by its callers (their home: registry_reach).
from model.registry_reach import GuardedClient, RegistryError, opening, prepare_for, reaching
from model.registry_reach import NoSuchVersion as NoSuchVersion
from model.registry_reach import RegistryUnavailable as RegistryUnavailable
from model.registry_records import LoadedModel, VersionInfo
from model.registry_sqlite import SqliteRegistryReader, looks_numeric, missing_store, version_number
from model.risk_model import TRUSTED_TYPES
from model.run_artifacts import FEATURE_MANIFEST, GOLDEN_FILE
from model.run_artifacts import MODEL_ARTIFACT as MODEL_ARTIFACT  # its home: run_artifacts
from model.run_tags import pinned_requirements
from pipelines.manifest import write_manifest

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

    from model.risk_model import RiskModel

logger = logging.getLogger(__name__)
CHECKSUM_TAG: Final = "sha256"
# One MLflow client made at a time, across registries: making one migrates a new store.
_CLIENT_LOCK: Final = threading.Lock()


class ModelRegistry:
    """Training runs and registered versions of one model name."""

    def __init__(self, tracking_uri: str, *, model_name: str, artifact_root: str | None = None):
        self.tracking_uri = tracking_uri
        self.model_name = model_name
        self.artifact_root = artifact_root

    @cached_property
    def client(self) -> MlflowClient:
        """MLflow's client, created (and MLflow imported) when first needed, by one thread
        at a time: creating one migrates a new store, and two threads migrating one SQLite
        store at once failed ("No such index", a 500 of the service's model card route);
        and by one process at a time for a local store (`model.registry_reach.opening`).
        Its calls raise `RegistryUnavailable` when the registry cannot be reached
        (`model.registry_reach`), as does making it for a database that does not answer."""
        with _CLIENT_LOCK:
            if "client" in self.__dict__:  # another thread made it while this one waited
                return self.__dict__["client"]  # type: ignore[no-any-return]
            prepare_for(self.tracking_uri)
            from mlflow.tracking import MlflowClient

            with opening(self.tracking_uri), reaching(self.tracking_uri):
                create_private_store(self.tracking_uri, self.artifact_root)
                client = MlflowClient(tracking_uri=self.tracking_uri,
                                      registry_uri=self.tracking_uri)
            return cast("MlflowClient", GuardedClient(client, tracking_uri=self.tracking_uri))

    def check_reachable(self) -> None:
        """Raise `RegistryUnavailable` at once when the store cannot be reached or opened
        (`model.registry_reach.prepare_for`: no MLflow import, a fraction of a second)."""
        prepare_for(self.tracking_uri)

    def connect(self) -> None:
        """Import MLflow and open the store, creating a new store's tables (its alembic
        migrations): seconds of work, which training does on a background thread while it
        reads the extract and fits (`model.workflow.train_and_register`)."""
        _ = self.client

    def _reader(self) -> SqliteRegistryReader | None:
        """The local store's tables, read directly (None: ask MLflow). A local store that
        does not exist is refused: reading it through MLflow would create an empty one."""
        if (absent := missing_store(self.tracking_uri)) is not None:
            raise RegistryUnavailable(
                f"no MLflow store at {absent}: `safeguard train` creates one, or, if it moved, "
                "SAFEGUARD_MLFLOW_TRACKING_URI names where it is now")
        return SqliteRegistryReader.for_store(self.tracking_uri, model_name=self.model_name)

    def _experiment_id(self, name: str) -> str:
        found = self.client.get_experiment_by_name(name)
        if found is not None:
            return str(found.experiment_id)
        location = None
        if self.artifact_root and "://" not in self.artifact_root:
            location = (Path(self.artifact_root).resolve() / name).as_uri()
        elif self.artifact_root:
            location = f"{self.artifact_root.rstrip('/')}/{name}"
        return str(self.client.create_experiment(name, artifact_location=location))

    def start_run(self, experiment: str, *, run_name: str) -> str:
        """Open a run in an experiment (created when missing); returns its id."""
        run = self.client.create_run(self._experiment_id(experiment), run_name=run_name)
        return str(run.info.run_id)

    def log_run(self, run_id: str, *, params: dict[str, Any], metrics: dict[str, float],
                tags: dict[str, str]) -> None:
        """Parameters, metrics and tags of a run, in one batch."""
        from mlflow.entities import Metric, Param, RunTag

        self.client.log_batch(
            run_id,
            metrics=[Metric(key, float(value), 0, 0) for key, value in metrics.items()],
            params=[Param(key, str(value)) for key, value in params.items()],
            tags=[RunTag(key, str(value)) for key, value in tags.items()],
        )

    def log_files(self, run_id: str, directory: Path, artifact_path: str | None = None) -> None:
        """Every file of a local directory as run artifacts."""
        self.client.log_artifacts(run_id, str(directory), artifact_path)

    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        """A text (JSON, HTML, Markdown) as one run artifact, e.g. ``fairness/fairness.json``."""
        self.client.log_text(run_id, text, artifact_file)

    def log_json(self, run_id: str, payload: Any, artifact_file: str) -> None:
        """A JSON document as one run artifact."""
        self.log_text(run_id, json.dumps(payload, indent=1) + "\n", artifact_file)

    def read_artifact(self, version: str, path: str) -> bytes | None:
        """The bytes of one artifact of a version's run (None when the run has no such file);
        read in place from a local store (`model.registry_files`), whose run folder must be
        there: a missing folder raises `RegistryError` (a card would say "not recorded")."""
        info = self.resolve(version)
        root = self.run_folder(info)
        if root is not None and not root.is_dir():  # not "the run has no such file"
            raise RegistryError(f"model version {info.version}: its run's artefact folder "
                                f"{root} is missing (moved or deleted)")
        if root is not None:
            return read_local_file(root, path)
        from mlflow.artifacts import download_artifacts
        from mlflow.exceptions import MlflowException

        with tempfile.TemporaryDirectory() as tmp:
            try:
                with reaching(self.tracking_uri):  # unreachable is not "no such file"
                    local = download_artifacts(run_id=info.run_id, artifact_path=path,
                                               dst_path=tmp, tracking_uri=self.tracking_uri)
            except (MlflowException, OSError):
                return None
            found = Path(local)
            return found.read_bytes() if found.is_file() else None

    def run_folder(self, info: VersionInfo) -> Path | None:
        """The local folder of a version's run files (None: they are in a remote store)."""
        return local_path(self._run_fields(info.run_id)["artifact_uri"])

    def register(self, run_id: str, model: RiskModel, golden: list[dict[str, Any]], *,
                 description: str) -> VersionInfo:
        """Save the model in the run and register it as a new version of the model name;
        its folder records this release's feature manifest, which `model` was fitted on."""
        import mlflow.sklearn  # heavy; only needed when registering
        from mlflow.exceptions import MlflowException

        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / MODEL_ARTIFACT
            mlflow.sklearn.save_model(
                model.classifier, str(folder), serialization_format="skops",
                skops_trusted_types=TRUSTED_TYPES, pip_requirements=pinned_requirements(),
            )
            model.save(folder, write_classifier=False)
            (folder / GOLDEN_FILE).write_text(json.dumps(golden), encoding="utf-8")
            write_manifest(folder / FEATURE_MANIFEST)  # what `load` compares with this release's
            checksum = directory_checksum(folder)
            self.client.log_artifacts(run_id, str(folder), MODEL_ARTIFACT)
        self.client.set_terminated(run_id)
        try:
            self.client.create_registered_model(self.model_name)
        except MlflowException as exc:
            if exc.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
        source = f"{self.client.get_run(run_id).info.artifact_uri}/{MODEL_ARTIFACT}"
        created = self.client.create_model_version(
            self.model_name, source, run_id=run_id, tags={CHECKSUM_TAG: checksum},
            description=description,
        )
        return self.version_info(str(created.version))

    def version_info(self, version: str) -> VersionInfo:
        """One version with its aliases and its run's metrics."""
        mv = self.client.get_model_version(self.model_name, version)
        metrics = self.client.get_run(mv.run_id).data.metrics if mv.run_id else {}
        return VersionInfo(self.model_name, str(mv.version), tuple(sorted(mv.aliases or ())),
                           int(mv.creation_timestamp or 0), str(mv.run_id), str(mv.source),
                           dict(mv.tags or {}), dict(metrics))

    def list_versions(self) -> list[VersionInfo]:
        """Every registered version, newest first (empty when nothing is registered; an
        unreachable registry, or one that refuses the listing, raises `RegistryUnavailable`)."""
        listed = reader.versions() if (reader := self._reader()) else None
        if listed is not None:
            return [VersionInfo(self.model_name, **fields) for fields in listed]
        from mlflow.exceptions import MlflowException

        try:
            found = self.client.search_model_versions(f"name = '{self.model_name}'")
        except MlflowException as exc:
            if exc.error_code == "RESOURCE_DOES_NOT_EXIST":
                return []
            # A login required, permission denied, a server's failure: not "none registered"
            # (subject access said no golden set named a person it had not searched).
            raise RegistryUnavailable(
                f"the model registry at {masked_uri(self.tracking_uri)} refused to list the "
                f"versions of {self.model_name!r} ({exc.error_code})") from exc
        versions = sorted((int(mv.version) for mv in found), reverse=True)
        return [self.version_info(str(v)) for v in versions]

    def resolve(self, reference: str) -> VersionInfo:
        """A version number or an alias (e.g. ``champion``) to the version it names."""
        from_store = reader.version_fields(reference) if (reader := self._reader()) else None
        if from_store:
            return VersionInfo(self.model_name, **from_store)
        if from_store is not None:
            raise NoSuchVersion(
                f"model {self.model_name!r} has no version or alias {reference!r}")
        from mlflow.exceptions import MlflowException

        number = version_number(reference)
        if number is None and looks_numeric(reference):
            raise NoSuchVersion(f"model {self.model_name!r} has no version {reference!r}")
        try:
            if number is not None:
                return self.version_info(str(number))
            mv = self.client.get_model_version_by_alias(self.model_name, reference)
        except MlflowException as exc:
            raise NoSuchVersion(
                f"model {self.model_name!r} has no version or alias {reference!r}") from exc
        return self.version_info(str(mv.version))

    def promote(self, version: str, alias: str) -> VersionInfo:
        """Point an alias at a version (the version must exist)."""
        info = self.resolve(version)
        self.client.set_registered_model_alias(self.model_name, alias, info.version)
        return self.version_info(info.version)

    def unset_alias(self, alias: str) -> None:
        """Remove an alias (the version it named stays registered)."""
        self.client.delete_registered_model_alias(self.model_name, alias)

    def run_params(self, version: str) -> dict[str, str]:
        """The parameters logged with a version's training run."""
        return dict(self.client.get_run(self.resolve(version).run_id).data.params)

    def run_tags(self, version: str) -> dict[str, str]:
        """The tags of a version's training run (its extract's date and fingerprint...)."""
        return dict(self._run_fields(self.resolve(version).run_id)["tags"])

    def _run_fields(self, run_id: str) -> dict[str, Any]:
        """A run's ``artifact_uri`` and ``tags``: from a local SQLite store's tables when it
        can be read so (`model.registry_sqlite`), else from MLflow."""
        from_store = reader.run_fields(run_id) if (reader := self._reader()) else None
        if from_store:
            return from_store
        run = self.client.get_run(run_id)
        return {"artifact_uri": str(run.info.artifact_uri), "tags": dict(run.data.tags)}

    def model_checksum(self, version: str) -> str:
        """The SHA-256 of the version's model folder as stored now (`directory_checksum`)."""
        info = self.resolve(version)
        with tempfile.TemporaryDirectory() as tmp:
            folder = download_version(info.source, Path(tmp), version=info.version)
            return directory_checksum(folder)

    def load(self, reference: str, *, check_golden: bool = True) -> LoadedModel:
        """Download, verify the checksum and the feature manifest the version was trained on
        (`model.trained_manifest`), load without unpickling, and re-score the golden set."""
        info = self.resolve(reference)
        with tempfile.TemporaryDirectory() as tmp:
            folder = download_version(info.source, Path(tmp), version=info.version)
            model, golden = load_checked_folder(folder, version=info.version,
                                                checksum=info.tags.get(CHECKSUM_TAG),
                                                check_golden=check_golden,
                                                run_file=partial(self.read_artifact, info.version))
        return LoadedModel(model, info, golden)

