"""Fixtures: databases on SQLite and PostgreSQL, an app with the fake scorer, keys per role,
and a real model (trained on a small synthetic extract) with an app serving it."""

from __future__ import annotations

import json
import os
import re
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError
from threadpoolctl import threadpool_limits

from api.api_keys import KeyHasher, issue_key
from api.app import create_app
from api.approvals import record_decision
from api.audit import commit_with_audit
from api.audit_governance_check import user_added, user_revoked
from api.auth import GOVERNANCE, ROLES
from api.model_card import log_card
from api.model_scorer import load_scorer
from api.settings import Settings
from api.store import Store, init_db, repository
from model.acceptance import unmet
from model.card import acceptance_checks
from model.card_sources import CARD_HTML_ARTIFACT, FAIRNESS_ARTIFACT, read_sources
from model.data import PreparedExtract, prepare_extract
from model.governance import default_settings_text
from model.registry import ModelRegistry
from model.registry_records import LoadedModel
from model.risk_model import RiskModel
from model.train import TrainingConfig
from model.workflow import train_and_register
from pipelines.synth import SynthConfig, generate_extract
from tests.api.fakes import FakeScorer

POSTGRES_ADMIN_URL = os.environ.get(
    "SAFEGUARD_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
TEST_PEPPER = "test-pepper-" + "x" * 32


def _create_postgres_database() -> tuple[str, str]:
    if os.environ.get("SAFEGUARD_SKIP_POSTGRES") == "1":
        pytest.skip("SAFEGUARD_SKIP_POSTGRES=1: PostgreSQL store tests skipped on request")
    name = f"safeguard_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is unreachable at {POSTGRES_ADMIN_URL} ({type(exc).__name__}). "
            "Start it (`make postgres`), point SAFEGUARD_TEST_POSTGRES_URL at a server, "
            "or set SAFEGUARD_SKIP_POSTGRES=1 to skip these tests deliberately.",
            pytrace=False,
        )
    finally:
        admin.dispose()
    return name, POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def _drop_postgres_database(name: str) -> None:
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _migrated_database(backend: str, tmp_dir: Path, *, migrate: bool = True) -> Iterator[str]:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_dir / f'{uuid.uuid4().hex}.db'}"
        if migrate:
            init_db(url)
        yield url
        return
    name, url = _create_postgres_database()
    try:
        if migrate:
            init_db(url)
        yield url
    finally:
        _drop_postgres_database(name)


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """A migrated database shared by a session's tests, on each backend."""
    yield from _migrated_database(request.param, tmp_path_factory.mktemp("db"))


@pytest.fixture(params=BACKENDS)
def fresh_database_url(request: pytest.FixtureRequest, tmp_path: Path):
    """A migrated database of a test's own (for tests that tamper with the audit trail)."""
    yield from _migrated_database(request.param, tmp_path)


@pytest.fixture(params=BACKENDS)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path):
    """A database of a test's own with no tables at all (not migrated)."""
    yield from _migrated_database(request.param, tmp_path, migrate=False)


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    """A store on the shared database of each backend."""
    store = Store(database_url)
    yield store
    store.dispose()


@dataclass
class ApiEnv:
    """A running app, its test client, and an API key per role (plus a revoked one)."""

    client: TestClient
    keys: dict[str, str]
    revoked_key: str
    settings: Settings

    def headers(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}


# Tests share an app and a client address: failed keys of one test must not lock the
# next out. The lockouts are tested on their own (tests/api/test_auth_limits.py).
NO_LOCKOUTS = {"auth_failures_per_key": 10**6, "auth_failures_per_address": 10**6}


def make_settings(database_url: str, **overrides: Any) -> Settings:
    """Settings for tests: a real pepper, the given database, no lockouts unless asked, and
    an MLflow store of their own unless given one. (The default, var/mlflow.db, was one file
    for every test and both test processes: on a clean clone two of them could create it at
    once, and MLflow's migrations failed, a 500 of the card route, "No such index".)"""
    if "mlflow_tracking_uri" not in overrides:
        own = Path(tempfile.mkdtemp(prefix="sg-test-mlflow-"))
        empty_registry(own)  # a service's store exists: a missing one is refused (503)
        overrides |= {"mlflow_tracking_uri": f"sqlite:///{own / 'mlflow.db'}",
                      "mlflow_artifact_root": str(own / "artifacts")}
    return Settings(
        environment="test",
        database_url=database_url,
        api_key_pepper=SecretStr(TEST_PEPPER),
        **{**NO_LOCKOUTS, **overrides},
    )


def issue_keys(settings: Settings) -> tuple[dict[str, str], str]:
    hasher = KeyHasher(TEST_PEPPER)
    store = Store.from_settings(settings)
    with store.session() as session:  # audited as `safeguard users add|revoke` audit them
        issued = [issue_key(session, hasher, name=f"{role}-{uuid.uuid4().hex[:6]}", role=role)
                  for role in ROLES]
        revoked = issue_key(session, hasher, name=f"gone-{uuid.uuid4().hex[:6]}", role="admin")
        commit_with_audit(session, [user_added(i.user) for i in (*issued, revoked)])
        gone = repository.revoke_user(session, revoked.user.name)
        assert gone is not None
        commit_with_audit(session, [user_revoked(gone)])
        keys = {i.user.role: i.key for i in issued}
    store.dispose()
    return keys, revoked.key


@pytest.fixture(scope="session")
def api_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiEnv]:
    """The app on SQLite with the fake scorer, shared by the endpoint tests."""
    folder = tmp_path_factory.mktemp("api")
    url = f"sqlite:///{folder / 'api.db'}"
    init_db(url)
    empty_registry(folder)  # a service's store exists: a missing one is refused (503)
    settings = make_settings(url, max_batch_cases=5, max_body_bytes=64 * 1024,
                             mlflow_tracking_uri=f"sqlite:///{folder / 'mlflow.db'}",
                             mlflow_artifact_root=str(folder / "mlartifacts"))
    keys, revoked = issue_keys(settings)
    with TestClient(create_app(settings, FakeScorer())) as client:
        yield ApiEnv(client=client, keys=keys, revoked_key=revoked, settings=settings)


@pytest.fixture
def own_store_api(tmp_path: Path) -> Iterator[ApiEnv]:
    """The app with the fake scorer on a SQLite store of its own (what it counts is this
    test's alone: override rates, reports), reports written under `tmp_path`."""
    url = f"sqlite:///{tmp_path / 'api.db'}"
    init_db(url)
    settings = make_settings(url, reports_dir=tmp_path / "reports")
    keys, revoked = issue_keys(settings)
    with TestClient(create_app(settings, FakeScorer())) as client:
        yield ApiEnv(client=client, keys=keys, revoked_key=revoked, settings=settings)


@pytest.fixture
def backend_api(database_url: str) -> Iterator[ApiEnv]:
    """The app with the fake scorer on each backend (SQLite and PostgreSQL)."""
    settings = make_settings(database_url)
    keys, revoked = issue_keys(settings)
    with TestClient(create_app(settings, FakeScorer())) as client:
        yield ApiEnv(client=client, keys=keys, revoked_key=revoked, settings=settings)


@pytest.fixture
def api(api_env: ApiEnv) -> ApiEnv:
    """The shared app (tests use fresh referral ids, so they do not see each other's data)."""
    return api_env


# --- A real model: trained once per test process on a small synthetic extract ---

MODEL_NAME = "test-risk-model"


@dataclass
class TrainedModel:
    """A model trained on a small extract, registered and promoted to ``champion``."""

    registry: ModelRegistry
    version: str
    loaded: LoadedModel
    prepared: PreparedExtract
    extract: Path

    def settings_overrides(self) -> dict[str, Any]:
        """The settings that point a service at this model's MLflow store."""
        return registry_settings(self.registry)


def registry_settings(registry: ModelRegistry) -> dict[str, Any]:
    """Settings fields naming a registry (tracking URI, artifact folder, model name)."""
    return {
        "mlflow_tracking_uri": registry.tracking_uri,
        "mlflow_artifact_root": registry.artifact_root,
        "model_name": registry.model_name,
    }


_EMPTY_MLFLOW_DB: dict[str, bytes] = {}


def empty_registry(folder: Path) -> ModelRegistry:
    """An MLflow store of its own (SQLite tracking, local artifacts) in ``folder``.

    MLflow migrates a new tracking database for a second or two; every store after
    the first in a test process starts from a copy of the first, freshly migrated.
    """
    folder.mkdir(parents=True, exist_ok=True)
    database = folder / "mlflow.db"
    if "db" in _EMPTY_MLFLOW_DB:
        database.write_bytes(_EMPTY_MLFLOW_DB["db"])
    registry = ModelRegistry(
        f"sqlite:///{database}", model_name=MODEL_NAME, artifact_root=str(folder / "artifacts")
    )
    if "db" not in _EMPTY_MLFLOW_DB:
        registry.connect()  # creates and migrates the database
        _EMPTY_MLFLOW_DB["db"] = database.read_bytes()
    return registry


def record_test_approval(database_url: str, registry: ModelRegistry, version: str) -> None:
    """TEST HELPER, not a governance decision: log a model card when the version has none
    and record an approval by a made-up governance user that waives every threshold the
    version misses (the small test extracts miss some), so that the version may be served."""
    info = registry.resolve(version)
    if registry.read_artifact(info.version, CARD_HTML_ARTIFACT) is None:
        log_card(registry, info, board=None)
    waivers = {check.name: "test fixture: a small synthetic extract"
               for check in unmet(acceptance_checks(read_sources(registry, info.version)))}
    # With the audit key the environment names, if any: the gate checks the signature.
    store = Store.from_settings(make_settings(database_url, mlflow_tracking_uri="unused"))
    with store.session() as session:
        record_decision(session, registry, user="test-governance", role=GOVERNANCE,
                        version=info.version, decision="approve",
                        reason="test fixture approval", waivers=waivers, board=None)
    store.dispose()


# The performance thresholds a board may tighten past what the trained version measures.
_TIGHTENED = ("max_ece", "min_roc_auc", "min_very_high_band_precision")


def stricter_board(trained_model: TrainedModel, folder: Path) -> tuple[Path, str]:
    """TEST HELPER: a board's settings file, the shipped one with one threshold that the
    trained version meets as trained tightened past its figure (so the version was trained
    under a looser threshold than the board's); the file and that threshold's name."""
    checks = acceptance_checks(read_sources(trained_model.registry, trained_model.version))
    met = next(c for name in _TIGHTENED for c in checks
               if c.name == name and c.met and c.measured is not None)
    assert met.measured is not None
    tighter = met.measured / 2 if met.name.startswith("max_") else (1 + met.measured) / 2
    text, found = re.subn(rf"(?m)^{met.name} = .*$", f"{met.name} = {tighter:.6f}",
                          default_settings_text())
    assert found == 1
    path = folder / "board.toml"
    path.write_text(text, encoding="utf-8")
    return path, met.name


def log_fairness_report(registry: ModelRegistry, version: str, report: dict[str, Any],
                        folder: Path) -> None:
    """Log `report` as the version's test-period fairness report, from `folder` (made
    here: it must not exist)."""
    folder.mkdir()
    (folder / "fairness.json").write_text(json.dumps(report), encoding="utf-8")
    registry.log_files(registry.resolve(version).run_id, folder,
                       FAIRNESS_ARTIFACT.rpartition("/")[0])


def register_copy(
    folder: Path, model: RiskModel, golden: list[dict[str, Any]], *, alias: str | None = "champion"
) -> tuple[ModelRegistry, str]:
    """Register ``model`` with ``golden`` as version 1 of a fresh store (promoted when asked)."""
    registry = empty_registry(folder)
    run_id = registry.start_run("t", run_name="copy")
    version = registry.register(run_id, model, golden, description="a test copy").version
    if alias:
        registry.promote(version, alias)
    return registry, version


@pytest.fixture(scope="session")
def trained_model(tmp_path_factory: pytest.TempPathFactory) -> TrainedModel:
    """Synthetic extract (3,000 referrals) -> train -> register -> promote, once per worker."""
    folder = tmp_path_factory.mktemp("model")
    extract = folder / "extract"
    generate_extract(
        SynthConfig(n_referrals=3_000, seed=23, file_format="parquet", corrupt=False),
        out_dir=extract,
    )
    registry = empty_registry(folder / "mlflow")
    # One OpenMP thread: both xdist workers train at once, and teams of two per
    # worker on two cores spin against each other (several times slower).
    with threadpool_limits(1):
        outcome = train_and_register(
            extract, registry=registry, experiment="t", config=TrainingConfig(max_iter=40),
            card_writer=partial(log_card, board=None),
        )
    registry.promote(outcome.version.version, "champion")
    return TrainedModel(
        registry=registry,
        version=outcome.version.version,
        loaded=registry.load("champion"),
        prepared=prepare_extract(extract),
        extract=extract,
    )


@pytest.fixture(scope="session")
def model_api(
    trained_model: TrainedModel, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiEnv]:
    """The app on SQLite serving the trained model through `load_scorer`, as `serve` does."""
    url = f"sqlite:///{tmp_path_factory.mktemp('model_api') / 'api.db'}"
    init_db(url)
    settings = make_settings(url, max_batch_cases=5, **trained_model.settings_overrides())
    keys, revoked = issue_keys(settings)
    record_test_approval(url, trained_model.registry, trained_model.version)
    with TestClient(create_app(settings, load_scorer(settings))) as client:
        yield ApiEnv(client=client, keys=keys, revoked_key=revoked, settings=settings)
