"""`safeguard model promote` and `safeguard serve`, run as an operator would."""

from __future__ import annotations

import getpass
import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from api.cli import app as safeguard
from api.model_scorer import ModelScorer
from api.routes.metrics import MULTIPROCESS_METRICS_ENV
from api.service import worker_app
from api.store import AuditEntry, Store
from model.registry import ModelRegistry
from tests.api.conftest import TEST_PEPPER, TrainedModel, record_test_approval, register_copy

Run = Callable[..., tuple[int, str]]


@pytest.fixture
def registry(tmp_path: Path, trained_model: TrainedModel) -> ModelRegistry:
    """A store holding the trained model as version 1, with no alias yet."""
    model = trained_model.loaded
    return register_copy(tmp_path / "mlflow", model.model, model.golden, alias=None)[0]


@pytest.fixture
def run(tmp_path: Path, registry: ModelRegistry, monkeypatch: pytest.MonkeyPatch) -> Run:
    """Run a `safeguard` command against the test's database and registry."""
    environment = {
        "SAFEGUARD_DATABASE_URL": f"sqlite:///{tmp_path / 'api.db'}",
        "SAFEGUARD_MLFLOW_TRACKING_URI": registry.tracking_uri,
        "SAFEGUARD_MLFLOW_ARTIFACT_ROOT": str(registry.artifact_root),
        "SAFEGUARD_MODEL_NAME": registry.model_name,
        "SAFEGUARD_API_KEY_PEPPER": TEST_PEPPER,
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    runner = CliRunner()

    def invoke(*args: str) -> tuple[int, str]:
        result = runner.invoke(safeguard, list(args))
        return result.exit_code, result.output

    return invoke


def approve(tmp_path: Path, registry: ModelRegistry, *versions: str) -> None:
    """Record the test fixture's approval of versions in the test's database."""
    for version in versions:
        record_test_approval(f"sqlite:///{tmp_path / 'api.db'}", registry, version)


def audit_entries(tmp_path: Path) -> list[AuditEntry]:
    store = Store(f"sqlite:///{tmp_path / 'api.db'}")
    with store.session() as session:
        entries = list(session.scalars(select(AuditEntry).order_by(AuditEntry.seq)))
    store.dispose()
    return entries


def test_promote_moves_the_alias_and_audits_who_did_it(
    run: Run, registry: ModelRegistry, tmp_path: Path
) -> None:
    assert run("db", "upgrade")[0] == 0
    approve(tmp_path, registry, "1")
    code, output = run("model", "promote", "1")
    assert code == 0, output
    assert registry.resolve("champion").version == "1"
    entry = audit_entries(tmp_path)[-1]
    assert (entry.action, entry.model_version, entry.role) == ("model_promote", "1", "admin")
    assert entry.user_name == f"cli:{getpass.getuser()}"
    assert entry.details["alias"] == "champion" and entry.details["previous_version"] is None
    assert run("audit", "verify")[0] == 0


def test_a_version_failing_its_checks_at_promotion_is_refused_and_audited(
    run: Run, registry: ModelRegistry, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Approved, but its golden set no longer reproduces (or its checksum fails): the
    refusal ended the command without an entry, unlike every other refused move."""
    from model.registry import RegistryError

    def fails(self: ModelRegistry, version: str) -> None:
        raise RegistryError(f"version {version}: golden case 3 gave 0.41, not 0.40")

    assert run("db", "upgrade")[0] == 0
    approve(tmp_path, registry, "1")
    monkeypatch.setattr(ModelRegistry, "load", fails)
    code, output = run("model", "promote", "1")
    assert code == 1 and "not moved: version 1: golden case 3" in output, output
    entry = audit_entries(tmp_path)[-1]
    assert (entry.action, entry.model_version) == ("model_promote_refused", "1")
    assert "golden case 3" in entry.details["reason"]
    assert registry.list_versions()[0].aliases == ()


def test_promote_latest_names_the_newest_version_and_the_one_it_replaces(
    run: Run, registry: ModelRegistry, tmp_path: Path, trained_model: TrainedModel
) -> None:
    run("db", "upgrade")
    approve(tmp_path, registry, "1")
    run("model", "promote", "1")
    run_id = registry.start_run("t", run_name="second")
    registry.register(run_id, trained_model.loaded.model, trained_model.loaded.golden,
                      description="a second version")
    approve(tmp_path, registry, "2")
    code, output = run("model", "promote", "latest", "--alias", "champion")
    assert code == 0, output
    assert registry.resolve("champion").version == "2"
    entry = audit_entries(tmp_path)[-1]
    assert (entry.model_version, entry.details["previous_version"]) == ("2", "1")


def assert_rollback_refused(tmp_path: Path, reason: str, *, current: str | None) -> None:
    """The last audit entry is the refused rollback (docs/command-line.md), naming why."""
    entry = audit_entries(tmp_path)[-1]
    assert (entry.action, entry.model_version, entry.role) == (
        "model_rollback_refused", None, "admin")
    assert entry.details["alias"] == "champion" and reason in entry.details["reason"]
    assert entry.details["current_version"] == current


def test_rollback_restores_the_previous_champion_after_checking_it_and_audits_it(
    run: Run, registry: ModelRegistry, tmp_path: Path, trained_model: TrainedModel
) -> None:
    run("db", "upgrade")
    code, output = run("model", "rollback")
    assert code == 1 and "no promotion of 'champion' is recorded" in output
    assert_rollback_refused(tmp_path, "no promotion of 'champion' is recorded", current=None)
    approve(tmp_path, registry, "1")
    run("model", "promote", "1")
    code, output = run("model", "rollback")
    assert code == 1 and "version 1 was the first 'champion'" in output
    assert_rollback_refused(tmp_path, "version 1 was the first 'champion'", current="1")
    run_id = registry.start_run("t", run_name="second")
    registry.register(run_id, trained_model.loaded.model, trained_model.loaded.golden,
                      description="a second version")
    approve(tmp_path, registry, "2")
    run("model", "promote", "2")
    code, output = run("model", "rollback")
    assert code == 0, output
    assert registry.resolve("champion").version == "1"
    entry = audit_entries(tmp_path)[-1]
    assert (entry.action, entry.model_version, entry.details["previous_version"]) == (
        "model_rollback", "1", "2")
    assert run("model", "rollback")[0] == 0  # the previous champion is now version 2
    assert registry.resolve("champion").version == "2"
    registry.promote("1", "champion")  # moved outside safeguard: not rolled back blindly
    code, output = run("model", "rollback")
    assert code == 1 and "promote the version you want explicitly" in output
    assert_rollback_refused(tmp_path, "promote the version you want explicitly", current="1")
    assert registry.resolve("champion").version == "1"
    assert run("audit", "verify")[0] == 0


def test_a_move_the_store_cannot_audit_is_undone(
    run: Run, registry: ModelRegistry, tmp_path: Path, trained_model: TrainedModel,
    monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read-only store (or a full disk) took the alias move but not its entry: the
    alias moved with nobody named for it, and a traceback showed the INSERT."""
    run("db", "upgrade")
    approve(tmp_path, registry, "1")
    read_only = f"sqlite:///file:{tmp_path / 'api.db'}?mode=ro&uri=true"
    monkeypatch.setenv("SAFEGUARD_DATABASE_URL", read_only)
    code, output = run("model", "promote", "1")
    assert code == 1 and "not moved: the move could not be audited (OperationalError: " \
        "attempt to write a readonly database), so 'champion' is unset again" in output, output
    assert registry.list_versions()[0].aliases == ()
    monkeypatch.setenv("SAFEGUARD_DATABASE_URL", f"sqlite:///{tmp_path / 'api.db'}")
    assert run("model", "promote", "1")[0] == 0
    run_id = registry.start_run("t", run_name="second")
    registry.register(run_id, trained_model.loaded.model, trained_model.loaded.golden,
                      description="a second version")
    approve(tmp_path, registry, "2")
    monkeypatch.setenv("SAFEGUARD_DATABASE_URL", read_only)
    code, output = run("model", "promote", "2")
    assert code == 1 and "so 'champion' names version 1 again" in output, output
    assert registry.resolve("champion").version == "1"


def test_an_unknown_version_is_refused_and_the_refusal_is_audited(
    run: Run, registry: ModelRegistry, tmp_path: Path
) -> None:
    """Like every other refused move, the trail names who asked for which version and why."""
    run("db", "upgrade")
    code, output = run("model", "promote", "99")
    assert code == 1 and "no version '99'" in output
    entry = audit_entries(tmp_path)[-1]
    assert (entry.action, entry.model_version, entry.role) == ("model_promote_refused", None,
                                                               "admin")
    assert entry.user_name == f"cli:{getpass.getuser()}"
    assert entry.details["requested_version"] == "99" and entry.details["alias"] == "champion"
    assert "no version '99'" in entry.details["reason"]
    assert registry.list_versions()[0].aliases == ()


@pytest.mark.parametrize("command", [("promote", "1"), ("rollback",)])
def test_an_alias_mlflow_would_refuse_is_refused_and_audited(
    run: Run, registry: ModelRegistry, tmp_path: Path, command: tuple[str, ...]
) -> None:
    run("db", "upgrade")
    code, output = run("model", *command, "--alias", "v2")
    assert code == 1 and "alias 'v2' is not allowed" in output, output
    entry = audit_entries(tmp_path)[-1]
    assert (entry.action, entry.details["alias"]) == (f"model_{command[0]}_refused", "v2")
    assert "not allowed" in entry.details["reason"]


def test_promote_refuses_before_the_database_exists(run: Run, registry: ModelRegistry) -> None:
    code, output = run("model", "promote", "1")
    assert code == 1 and "safeguard db upgrade" in output
    assert registry.list_versions()[0].aliases == ()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def serve_capturing(run: Run, monkeypatch: pytest.MonkeyPatch, *args: str
                    ) -> tuple[int, str, dict[str, Any]]:
    """Run `serve` with gunicorn replaced by a recorder of its settings that builds the app
    as one of its workers would."""
    served: dict[str, Any] = {}

    def fake_gunicorn(options: dict[str, Any]) -> int:
        [bind] = options["bind"]
        with socket.socket(fileno=os.dup(int(bind.removeprefix("fd://")))) as listening:
            served["address"] = listening.getsockname()
        served.update(options, app=worker_app(),
                      metrics_dir=os.environ.get(MULTIPROCESS_METRICS_ENV))
        served["app"].state.scorer.stop()  # (a worker would follow the alias from now on)
        return 0

    monkeypatch.setattr("api.server.run_gunicorn", fake_gunicorn)
    monkeypatch.delenv(MULTIPROCESS_METRICS_ENV, raising=False)
    code, output = run("serve", *args)
    return code, output, served


def test_serve_migrates_loads_the_champion_and_listens_where_asked(
    run: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, registry: ModelRegistry
) -> None:
    run("db", "upgrade")
    approve(tmp_path, registry, "1")
    run("model", "promote", "1")
    port = _free_port()
    code, output, served = serve_capturing(run, monkeypatch, "--port", str(port))
    assert code == 0, output
    assert (served["address"], served["workers"]) == (("127.0.0.1", port), 1)
    assert isinstance(served["app"].state.scorer.current, ModelScorer) and "ready" in output
    with TestClient(served["app"]) as client:
        assert client.get("/readyz").status_code == 200
    entry = audit_entries(tmp_path)[-1]
    assert (entry.action, entry.model_version) == ("service_start", "1")


def test_serve_without_an_approved_model_starts_not_ready(
    run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A fresh database, no alias; a free port (8000 may be held by another service).
    code, output, served = serve_capturing(run, monkeypatch, "--port", str(_free_port()))
    assert code == 0 and "NOT READY" in output and "champion" in output, output
    with TestClient(served["app"]) as client:
        assert client.get("/readyz").status_code == 503


def test_serve_with_workers_migrates_once_and_starts_the_workers(
    run: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    port = _free_port()
    code, output, served = serve_capturing(run, monkeypatch, "--workers", "2", "--port",
                                           str(port), "--timeout", "9")
    assert code == 0, output
    assert (served["workers"], served["address"], served["timeout"]) == (
        2, ("127.0.0.1", port), 9)
    assert served["metrics_dir"] and not Path(served["metrics_dir"]).exists()  # removed
    assert MULTIPROCESS_METRICS_ENV not in os.environ
    assert (tmp_path / "api.db").exists()  # migrated before the workers start


def test_serve_refuses_a_port_in_use(run: Run) -> None:
    with socket.socket() as taken:  # a port another program holds
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, output = run("serve", "--workers", "2", "--port", str(port))
    assert code == 1 and f"cannot listen on 127.0.0.1:{port}" in output, output
    assert "in use" in output


def test_serve_says_in_one_line_when_the_database_is_unreachable(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SAFEGUARD_DATABASE_URL",
                       "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
    code, output = run("serve", "--port", str(_free_port()))
    assert code == 1, output
    [line] = output.strip().splitlines()
    assert line.startswith("error: cannot bring the database up to date (OperationalError)")


def _reject(tmp_path: Path, registry: ModelRegistry, version: str, reason: str) -> None:
    from api.approvals import record_decision
    from api.roles import GOVERNANCE
    from tests.api.conftest import make_settings

    store = Store.from_settings(make_settings(f"sqlite:///{tmp_path / 'api.db'}",
                                              mlflow_tracking_uri="unused"))
    with store.session() as session:
        record_decision(session, registry, user="test-board", role=GOVERNANCE, version=version,
                        decision="reject", reason=reason, board=None)
    store.dispose()


def _row(output: str, version: str) -> str:
    return next(line for line in output.splitlines() if line.startswith(f"│ {version} "))


def test_list_shows_approvals_and_score_and_monitor_name_a_rejection(
    run: Run, registry: ModelRegistry, tmp_path: Path, trained_model: TrainedModel
) -> None:
    code, output = run("model", "list")  # no store yet: nothing to say, and none created
    assert code == 0 and "not recorded" in _row(output, "1")
    assert not (tmp_path / "api.db").exists()
    run("db", "upgrade")
    run_id = registry.start_run("t", run_name="second")
    registry.register(run_id, trained_model.loaded.model, trained_model.loaded.golden,
                      description="a second version")
    approve(tmp_path, registry, "1", "2")
    assert run("model", "promote", "1")[0] == 0
    _reject(tmp_path, registry, "2", "Final: DA  figures not checked against MARAC records")
    code, output = run("model", "list")
    assert code == 0, output
    assert "approved (test-governance," in _row(output, "1")
    assert "champion (not served" not in _row(output, "1")
    assert "rejected (test-board," in _row(output, "2")
    assert "an earlier approval withdrawn" in _row(output, "2")
    _reject(tmp_path, registry, "1", "withdrawn")
    assert "champion (not served: rejected)" in _row(run("model", "list")[1], "1")

    code, output = run("score", "--input", str(trained_model.extract), "--output",
                       str(tmp_path / "s.csv"), "--model", "2", "--no-explanations")
    assert code == 0, output  # research on a rejected version is allowed, not silently
    assert ("warning: version 2 was rejected by governance (test-board, "
            in output) and "'Final: DA figures not checked against MARAC records'" in output
    code, output = run("monitor", "--input", str(trained_model.extract), "--output",
                       str(tmp_path / "m"), "--model", "1")
    assert "warning: version 1 was rejected by governance (test-board, " in output
    assert "'withdrawn'" in output


def test_a_command_reading_a_versions_files_prints_no_mlflow_bars_or_info_lines(
        tmp_path: Path, registry: ModelRegistry) -> None:
    """`safeguard train` drew ten "Downloading artifacts: 100%|...|" bars and MLflow's INFO
    lines on standard error around its own lines; `api.cli.main` turns both off."""
    import subprocess
    import sys

    env = {name: value for name, value in os.environ.items() if not name.startswith("MLFLOW_")}
    env |= {"SAFEGUARD_MLFLOW_TRACKING_URI": registry.tracking_uri,
            "SAFEGUARD_MLFLOW_ARTIFACT_ROOT": str(registry.artifact_root),
            "SAFEGUARD_MODEL_NAME": registry.model_name}
    done = subprocess.run([sys.executable, "-c", "from api.cli import main; main()", "model",
                           "card", "1", "--output", str(tmp_path / "card")],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "card" / "model_card.md").exists()
    assert "Downloading artifacts" not in done.stderr and " INFO " not in done.stderr
