"""Files and folders created readable by their owner only: the stores a process creates
for itself (the service's SQLite database, a local MLflow store's database and artefact
folder) hold scores, decisions, the audit trail and golden sets of pseudonymised cases.

One home for the rule, used by `api.store.db` and `model.registry`. What exists already
keeps the mode it has (an operator may have chosen it).
"""

from __future__ import annotations

import os
from contextlib import suppress
from pathlib import Path


def create_private_file(path: Path) -> None:
    """Create an empty file (and its folder) readable by its owner only, mode 0600, unless
    it exists (SQLite gives a database's journal and WAL files the database's mode)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def create_private_folder(path: Path) -> None:
    """Create a folder (and its parents) that only its owner may open, mode 0700, unless it
    exists: what is written inside is out of others' reach whatever its own mode."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with suppress(FileExistsError):
            path.mkdir(mode=0o700)


def create_private_store(tracking_uri: str, artifact_root: str | None) -> None:
    """Before MLflow first opens a local store: its SQLite file (a plain ``sqlite:///``
    URI) created 0600 and its local artefact root 0700, where MLflow would create them
    with the process's umask (0644 and 0755: the golden sets readable by any local user).
    A remote store, or a file or folder that exists, is left as it is; one that cannot be
    created is left to MLflow, which says why the store cannot open."""
    from model.registry_files import local_path
    from model.registry_sqlite import named_file

    database = named_file(tracking_uri)
    folder = (None if not artifact_root else Path(artifact_root) if "://" not in artifact_root
              else local_path(artifact_root))
    with suppress(OSError):
        if database is not None:
            create_private_file(database)
        if folder is not None:
            create_private_folder(folder)
