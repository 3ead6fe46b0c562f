"""The feature manifest a registered version was trained on, and whether this release may
serve it.

A feature means what the manifest says (`pipelines.manifest`), and the manifest's version
(`MANIFEST_VERSION`) changes whenever a feature counts something else. A model reads its
features by name, so a version trained under another manifest would still load and score,
on features that no longer mean what it learned from and what governance approved. Every
load refuses it (`model.registry_files.load_checked_folder`, before the golden set, which
such a version may well not reproduce) and `safeguard model list` shows it not servable.

Where the version is read: the copy of the manifest in the model folder (covered by the
folder's checksum), which registration writes; for a version registered before the folder
held one, the run's evaluation copy, which every `safeguard train` has written. A version
with neither is refused as not recording it: which features it read cannot be shown.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from model.registry_reach import RegistryError
from model.run_artifacts import FEATURE_MANIFEST, MODEL_ARTIFACT, RUN_FEATURE_MANIFEST
from pipelines.manifest import MANIFEST_VERSION

# One file of a version's run, by its path in the run: its bytes, or None when absent.
RunFile = Callable[[str], bytes | None]


class OtherManifest(RegistryError):
    """A version trained on another feature manifest than this release builds."""


def manifest_version_in(text: bytes | None) -> int | None:
    """The `manifest_version` a manifest's JSON names (None: no text, or it names none)."""
    if text is None:
        return None
    try:
        found = json.loads(text).get("manifest_version")
    except (ValueError, AttributeError):
        return None
    return found if type(found) is int else None


def recorded_manifest(model_copy: bytes | None, run_file: RunFile) -> int | None:
    """The manifest version a version was trained on: its model folder's copy, else (a
    version registered before the folder held one) its run's evaluation copy."""
    if model_copy is not None:
        return manifest_version_in(model_copy)
    return manifest_version_in(run_file(RUN_FEATURE_MANIFEST))


def trained_manifest(run_file: RunFile) -> int | None:
    """The manifest version a registered version was trained on, from the files of its run
    (`recorded_manifest`: its model folder's copy, else its run's evaluation copy), as
    `safeguard model list`, the model card and the approval gate read it."""
    return recorded_manifest(run_file(f"{MODEL_ARTIFACT}/{FEATURE_MANIFEST}"), run_file)


def manifest_problem(version: str, trained_on: int | None) -> str | None:
    """Why this release may not serve the version (None: it was trained on this manifest)."""
    if trained_on == MANIFEST_VERSION:
        return None
    what = ("does not record the feature manifest it was trained on" if trained_on is None
            else f"was trained on feature manifest {trained_on}")
    return (f"model version {version} {what}; this release builds manifest "
            f"{MANIFEST_VERSION}: retrain and approve a new version")


def check_manifest(version: str, model_copy: bytes | None, run_file: RunFile) -> None:
    """Raise `OtherManifest` unless the version was trained on this release's manifest."""
    if problem := manifest_problem(version, recorded_manifest(model_copy, run_file)):
        raise OtherManifest(problem)
