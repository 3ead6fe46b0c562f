"""A registered version's files, for `model.registry` alone: the checksum of its model
folder, a copy of that folder, loading it checked (checksum, feature manifest, golden set),
and one file of its run read where it lies.

A local store's files (``file://`` URIs, as `safeguard train` writes them by default) are
read in place, without MLflow: asking MLflow to download one file costs a command the
import of MLflow's artifact modules and a run lookup per file, about a second for each
version `safeguard model list` shows. Any other store's files are downloaded by MLflow
(`model.registry`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse
from urllib.request import url2pathname

from model.registry_reach import RegistryError
from model.run_artifacts import FEATURE_MANIFEST, GOLDEN_FILE
from model.trained_manifest import RunFile, check_manifest

if TYPE_CHECKING:
    from model.risk_model import RiskModel

logger = logging.getLogger(__name__)


def directory_checksum(directory: Path) -> str:
    """SHA-256 over every file's relative path and bytes, in a stable order."""
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        digest.update(path.relative_to(directory).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def local_path(uri: str) -> Path | None:
    """The folder a ``file:`` URI on this machine names (None for any other URI)."""
    parsed = urlparse(uri)
    if parsed.scheme != "file" or parsed.netloc not in ("", "localhost"):
        return None
    return Path(url2pathname(parsed.path))


def copy_local_folder(source: str, destination: Path, *, version: str) -> Path | None:
    """A copy of a version's local artefact folder under `destination` (what is checked is
    what is loaded); None when its source is not a local folder."""
    local = local_path(source)
    if local is None:
        return None
    if not local.is_dir():
        raise RegistryError(f"model version {version}: its artefact folder {local} is missing")
    return Path(shutil.copytree(local, destination / local.name))


def download_version(source: str, destination: Path, *, version: str) -> Path:
    """A copy of a version's artefact folder under `destination` (what is checked is what
    is loaded): copied from a local folder, else downloaded by MLflow."""
    copied = copy_local_folder(source, destination, version=version)
    if copied is not None:
        return copied
    from mlflow.artifacts import download_artifacts

    return Path(download_artifacts(artifact_uri=source, dst_path=str(destination)))


def read_local_file(root: Path, path: str) -> bytes | None:
    """The bytes of `path` inside a run's local artefact folder (None when the run has no
    such file, or the path would lead out of the folder)."""
    base = root.resolve()
    found = (base / path).resolve()
    if not found.is_relative_to(base):
        return None
    try:
        return found.read_bytes() if found.is_file() else None
    except OSError:
        return None


def load_checked_folder(folder: Path, *, version: str, checksum: str | None,
                        check_golden: bool, run_file: RunFile,
                        ) -> tuple[RiskModel, list[dict[str, Any]]]:
    """The model and golden set of a version's folder, after checking the folder against the
    checksum the registry holds, that the version was trained on this release's feature
    manifest (`model.trained_manifest`; `run_file`: a file of its run, for a version whose
    folder holds no copy) and (with `check_golden`) re-scoring the golden set."""
    found = directory_checksum(folder)
    if found != checksum:
        raise RegistryError(
            f"model version {version}: artifact checksum {found[:12]} does not match the "
            f"registry's {(checksum or 'none')[:12]}; the stored model was changed or damaged")
    check_manifest(version, read_local_file(folder, FEATURE_MANIFEST), run_file)
    from model.golden import check_golden_set  # pandas and the case builder: only to load
    from model.risk_model import RiskModel

    model = RiskModel.load(folder)
    golden = json.loads((folder / GOLDEN_FILE).read_text(encoding="utf-8"))
    if check_golden and (problems := check_golden_set(model, golden)):
        # The reason is shown on unauthenticated probes: no referral ids in it.
        logger.warning("model version %s golden set: %s", version, "; ".join(problems))
        raise RegistryError(
            f"model version {version} does not reproduce its golden set "
            f"({len(problems)} differences over {len(golden)} reference cases)")
    return model, golden
