"""A read-only look into MLflow's SQLite model registry, for `model.registry` alone.

Rating an extract needs three rows of the registry (the alias, the version, its tags)
and its artefact folder. Asking MLflow for them costs a command about 2.5 s of CPU
(importing MLflow, then opening its store: a SQLAlchemy engine and a schema check),
more than the rest of loading the model. When the registry is a local SQLite file
whose schema is the one MLflow's migrations leave today (`KNOWN_SCHEMA`), this module
reads those rows with the standard library instead; in every other case (a tracking
server, another schema, MLflow workspaces, the ``latest`` alias, a file that cannot be
read) it answers None and the registry asks MLflow. It never writes.

`model.registry` still does everything else: the checksum and golden-set checks of a
loaded version, registering, promoting. The registry tests check that both routes give
the same answer, and fail when MLflow's schema moves on without this module.
"""

from __future__ import annotations

import logging
import math
import os
import re
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any, Final

from data_contracts.digits import ascii_whole_number

logger = logging.getLogger(__name__)

# MLflow's head migration (mlflow 3.17): the tables read below have these columns.
KNOWN_SCHEMA: Final = "dc11669786a5"  # pragma: allowlist secret (a migration id)
SQLITE_PREFIX: Final = "sqlite:///"
DELETED_STAGE: Final = "Deleted_Internal"  # MLflow's mark for a deleted version
DEFAULT_WORKSPACE: Final = "default"
MLFLOW_ALIAS_LATEST: Final = "latest"  # an alias MLflow computes, not stored
WORKSPACE_VARIABLES: Final = ("MLFLOW_WORKSPACE", "MLFLOW_ENABLE_WORKSPACES",
                              "MLFLOW_WORKSPACE_STORE_URI")
LOCK_TIMEOUT_SECONDS: Final = 30.0
MAX_VERSION: Final = 2**31 - 1  # MLflow numbers versions with a 32-bit integer


def version_number(reference: str) -> int | None:
    """The version a reference names by number (ASCII digits, 1 to `MAX_VERSION`), else None."""
    number = ascii_whole_number(reference)
    return number if number is not None and 1 <= number <= MAX_VERSION else None


def exact_version(reference: str) -> bool:
    """Whether a reference is a version number as the registry writes it (``1``, not
    ``01``, ``latest`` or an alias): what a governance decision must name."""
    number = version_number(reference)
    return number is not None and str(number) == reference


# What can name a version: its number, or an alias as MLflow allows one (letters and digits
# of any script, `_` and `-`: MLflow's own `^[\w\-]*$`, at most 255; `latest` too).
# Anything else (a NUL, a space, a `.`) names none, whatever the registry holds.
REFERENCE_PATTERN: Final = r"^[\w-]+$"
MAX_REFERENCE: Final = 255


def well_formed_reference(reference: str) -> bool:
    """Whether a reference could name a version (`REFERENCE_PATTERN`, `MAX_REFERENCE`)."""
    return (len(reference) <= MAX_REFERENCE
            and re.fullmatch(REFERENCE_PATTERN, reference) is not None)


def looks_numeric(reference: str) -> bool:
    """Whether a reference is written in digits (of any script), so is no alias."""
    return reference.isdigit()

_VERSION_SQL: Final = (
    "SELECT version, creation_time, run_id, source FROM model_versions "
    "WHERE workspace = ? AND name = ? AND version = ? AND "
    "(current_stage IS NULL OR current_stage != ?)")
_ALIAS_SQL: Final = ("SELECT version FROM registered_model_aliases "
                     "WHERE workspace = ? AND name = ? AND alias = ?")
_ALIASES_SQL: Final = ("SELECT alias FROM registered_model_aliases "
                       "WHERE workspace = ? AND name = ? AND version = ?")
_TAGS_SQL: Final = ('SELECT "key", value FROM model_version_tags '
                    "WHERE workspace = ? AND name = ? AND version = ?")
_METRICS_SQL: Final = 'SELECT "key", value, is_nan FROM latest_metrics WHERE run_uuid = ?'
_VERSIONS_SQL: Final = (
    "SELECT version FROM model_versions WHERE workspace = ? AND name = ? AND "
    "(current_stage IS NULL OR current_stage != ?) ORDER BY version DESC")
_RUN_SQL: Final = "SELECT artifact_uri FROM runs WHERE run_uuid = ?"
_RUN_TAGS_SQL: Final = 'SELECT "key", value FROM tags WHERE run_uuid = ?'


def named_file(tracking_uri: str) -> Path | None:
    """The path a plain ``sqlite:///`` tracking URI names, there or not (None for any
    other URI, and for one with query parameters)."""
    if not tracking_uri.startswith(SQLITE_PREFIX) or "?" in tracking_uri:
        return None
    return Path(tracking_uri.removeprefix(SQLITE_PREFIX))


def sqlite_path(tracking_uri: str) -> Path | None:
    """The database file a plain ``sqlite:///`` tracking URI names (None for any other)."""
    path = named_file(tracking_uri)
    return path if path is not None and path.is_file() else None


def missing_store(tracking_uri: str) -> Path | None:
    """The file a plain ``sqlite:///`` tracking URI names, when it does not exist (MLflow
    would create an empty store there on a read, and a moved store would look empty)."""
    path = named_file(tracking_uri)
    return None if path is None or path.name in ("", ":memory:") or path.exists() else path


class SqliteRegistryReader:
    """Registered versions of one model name, read from MLflow's SQLite tables."""

    def __init__(self, path: Path, *, model_name: str):
        self.path = path
        self.model_name = model_name

    @classmethod
    def for_store(cls, tracking_uri: str, *, model_name: str) -> SqliteRegistryReader | None:
        """A reader when the store is a local SQLite file of the known schema, else None."""
        path = sqlite_path(tracking_uri)
        if path is None or any(os.environ.get(name) for name in WORKSPACE_VARIABLES):
            return None
        reader = cls(path, model_name=model_name)
        try:
            with closing(reader._connect()) as db:
                revision = db.execute("SELECT version_num FROM alembic_version").fetchall()
        except sqlite3.Error as exc:
            logger.debug("reading %s through MLflow: %s", path, exc)
            return None
        if revision != [(KNOWN_SCHEMA,)]:
            logger.debug("reading %s through MLflow: schema %s", path, revision)
            return None
        return reader

    def _connect(self) -> sqlite3.Connection:
        uri = f"{self.path.resolve().as_uri()}?mode=ro"
        return sqlite3.connect(uri, uri=True, timeout=LOCK_TIMEOUT_SECONDS)

    def version_fields(self, reference: str) -> dict[str, Any] | None:
        """The fields of `model.registry_records.VersionInfo` (but the name) for a version number or
        an alias; an empty dict when the registry has no such version or alias; None when
        MLflow must answer (the ``latest`` alias, or the file could not be read)."""
        if reference.lower() == MLFLOW_ALIAS_LATEST:
            return None
        number = version_number(reference)
        if number is None and looks_numeric(reference):
            return {}  # no version is numbered so: nor is an alias
        key = (DEFAULT_WORKSPACE, self.model_name)
        try:
            with closing(self._connect()) as db:
                if number is not None:
                    return _fields(db, key, number)
                found = db.execute(_ALIAS_SQL, (*key, reference)).fetchall()
                return _fields(db, key, int(found[0][0])) if found else {}
        except sqlite3.Error as exc:
            logger.debug("reading %s through MLflow: %s", self.path, exc)
            return None


    def versions(self) -> list[dict[str, Any]] | None:
        """`version_fields` of every registered version, newest first, in one connection
        (None when the file could not be read: MLflow must answer)."""
        key = (DEFAULT_WORKSPACE, self.model_name)
        try:
            with closing(self._connect()) as db:
                numbers = [int(n) for (n,) in db.execute(_VERSIONS_SQL, (*key, DELETED_STAGE))]
                return [_fields(db, key, number) for number in numbers]
        except sqlite3.Error as exc:
            logger.debug("reading %s through MLflow: %s", self.path, exc)
            return None

    def run_fields(self, run_id: str) -> dict[str, Any] | None:
        """A run's ``artifact_uri`` and ``tags``; an empty dict when there is no such run;
        None when the file could not be read."""
        try:
            with closing(self._connect()) as db:
                found = db.execute(_RUN_SQL, (run_id,)).fetchall()
                if not found:
                    return {}
                return {"artifact_uri": str(found[0][0]),
                        "tags": dict(db.execute(_RUN_TAGS_SQL, (run_id,)).fetchall())}
        except sqlite3.Error as exc:
            logger.debug("reading %s through MLflow: %s", self.path, exc)
            return None


def _fields(db: sqlite3.Connection, key: tuple[str, str], version: int) -> dict[str, Any]:
    rows = db.execute(_VERSION_SQL, (*key, version, DELETED_STAGE)).fetchall()
    if not rows:
        return {}
    number, created, run_id, source = rows[0]
    metrics = {} if run_id is None else {
        name: math.nan if is_nan else float(value)
        for name, value, is_nan in db.execute(_METRICS_SQL, (run_id,))}
    return {
        "version": str(number),
        "aliases": tuple(sorted(alias for (alias,) in db.execute(_ALIASES_SQL, (*key, version)))),
        "created_at": int(created or 0),
        "run_id": str(run_id),
        "source": str(source),
        "tags": dict(db.execute(_TAGS_SQL, (*key, version)).fetchall()),
        "metrics": metrics,
    }
