"""The `users`, `audit` and `db` commands, run as an operator would."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer
from sqlalchemy import text
from typer.testing import CliRunner

from api.admin import register
from api.store import Store
from tests.api.conftest import TEST_PEPPER


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("SAFEGUARD_DATABASE_URL", url)
    monkeypatch.setenv("SAFEGUARD_API_KEY_PEPPER", TEST_PEPPER)
    app = typer.Typer()
    register(app)
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(app, list(args))
        return result.exit_code, result.output

    assert run("db", "upgrade")[0] == 0
    return run, url


def test_users_add_prints_the_key_once_and_list_never_shows_it(cli) -> None:  # type: ignore[no-untyped-def]
    run, _ = cli
    code, output = run("users", "add", "alice", "--role", "triage")
    assert code == 0
    key = output.strip().splitlines()[-1]
    key_id, secret = key.split(".", 1)
    code, listing = run("users", "list")
    assert code == 0 and "alice" in listing and "triage" in listing
    assert secret not in listing and key_id not in listing


def test_unknown_role_and_duplicate_name_are_refused(cli) -> None:  # type: ignore[no-untyped-def]
    run, _ = cli
    assert run("users", "add", "bob", "--role", "superuser")[0] != 0
    assert run("users", "add", "bob", "--role", "admin")[0] == 0
    assert run("users", "add", "bob", "--role", "admin")[0] == 1
    code, output = run("users", "add", "BOB", "--role", "triage")  # one name to whoever reads
    assert code == 1 and "user 'bob' already exists" in " ".join(output.split()), output
    assert "BOB" not in run("users", "list")[1]


@pytest.mark.parametrize(("name", "said"), [
    ("", "must say who it is"), ("\u200b", "must say who it is"), (" eve", "no blanks around"),
    ("e" * 101, "at most 100 characters"), ("eve\u202e", "control or invisible format"),
    ("cli:root", "must not begin with 'cli:' or 'service:': the audit trail"),
    ("Service:root", "must not begin"),
    ("unauthenticated", "must not be 'unauthenticated'"), ("Unauthenticated", "must not be"),
])
def test_a_name_the_audit_trail_could_not_attribute_is_refused(  # type: ignore[no-untyped-def]
    cli, name: str, said: str
) -> None:
    """An empty name made audit entries no one could be named for; `cli:root` passed for
    the command line's own acts."""
    run, _ = cli
    code, output = run("users", "add", name, "--role", "triage")
    assert code == 1 and said in output and "no user was created" in output, output
    assert name not in run("users", "list")[1] or not name.strip()
    assert run("users", "add", "e" * 100, "--role", "triage")[0] == 0


def test_admin_refusals_are_one_line_on_standard_error_with_exit_code_1(  # type: ignore[no-untyped-def]
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As every other command's (docs/command-line.md): they printed `ERROR: ...` or a
    bare sentence on standard output, and exit code 2 for a missing audit key file."""
    run, _ = cli
    assert run("users", "add", "bob", "--role", "triage")[0] == 0
    app = typer.Typer()
    register(app)
    refused = [(("users", "add", "bob", "--role", "triage"), "user 'bob' already exists"),
               (("users", "revoke", "nobody"), "no user 'nobody'")]
    for args, said in refused:
        result = CliRunner().invoke(app, list(args))
        assert result.exit_code == 1 and result.stdout == "", result.output
        assert result.stderr.startswith("error: ") and said in result.stderr, result.stderr
        assert result.stderr.count("\n") == 1, result.stderr
    monkeypatch.setenv("SAFEGUARD_AUDIT_KEY_FILE", str(tmp_path / "no.key"))
    monkeypatch.setenv("SAFEGUARD_AUDIT_CHECKPOINT_FILE", str(tmp_path / "checkpoints.jsonl"))
    for args in (("db", "upgrade"), ("audit", "verify"), ("users", "list")):
        result = CliRunner().invoke(app, list(args))
        assert result.exit_code == 1 and result.stdout == "", (args, result.output)
        assert result.stderr.startswith("error: ") and "does not exist" in result.stderr
        assert result.stderr.count("\n") == 1, result.stderr


def test_users_list_piped_shows_whole_names_and_times(cli) -> None:  # type: ignore[no-untyped-def]
    """At 80 columns (not a terminal) the table cut both: "probe-data_scient…"."""
    run, _ = cli
    name = "a-rather-long-name-for-a-data-scientist-at-the-hub-" + "x" * 20
    assert run("users", "add", name, "--role", "data_scientist")[0] == 0
    code, listing = run("users", "list")
    assert code == 0 and name in listing, listing
    assert re.search(r"\b20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", listing), listing


def test_admin_commands_are_audited_and_verify_detects_tampering(cli) -> None:  # type: ignore[no-untyped-def]
    run, url = cli
    run("users", "add", "carol", "--role", "governance")
    run("users", "list")
    assert run("users", "revoke", "carol")[0] == 0
    code, output = run("users", "revoke", "carol")  # again: said, not revoked (or audited) twice
    assert code == 0 and "carol's key was already revoked on 20" in output, output
    assert "Revoked" not in output
    assert run("users", "revoke", "nobody")[0] == 1
    code, output = run("audit", "verify")
    assert code == 0 and "4 entries" in output

    store = Store(url)
    with store.engine.begin() as connection:
        connection.execute(text("DROP TRIGGER audit_entries_no_update"))
        actions = connection.execute(text("SELECT action FROM audit_entries ORDER BY seq"))
        assert [a for (a,) in actions] == ["db_upgrade", "user_add", "user_list", "user_revoke"]
        connection.execute(text("UPDATE audit_entries SET details = '{}' WHERE seq = 3"))
    store.dispose()
    code, output = run("audit", "verify")
    assert code == 1 and "entry 3" in output


@pytest.mark.parametrize("args", [
    ("users", "add", "dave", "--role", "triage"),
    ("users", "list"),
    ("users", "revoke", "dave"),
    ("audit", "verify"),
    ("subject-access", "--person-id", "P1", "--output", "{tmp}/sar.html"),
    ("monitor", "--input", "{tmp}", "--output", "{tmp}/monitor"),
    ("report", "partnership", "--input", "{tmp}", "--output", "{tmp}/partnership"),
    ("model", "promote", "1"),
])
def test_a_store_without_its_schema_is_named_in_one_line_with_the_command_that_creates_it(
    args: tuple[str, ...], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from api.cli import app as safeguard

    database = tmp_path / "fresh.db"
    monkeypatch.setenv("SAFEGUARD_DATABASE_URL", f"sqlite:///{database}")
    monkeypatch.setenv("SAFEGUARD_API_KEY_PEPPER", TEST_PEPPER)
    result = CliRunner().invoke(safeguard, [a.format(tmp=tmp_path) for a in args])
    lines = result.output.strip().splitlines()
    assert result.exit_code == 1 and not isinstance(result.exception, Exception), result.output
    assert len(lines) == 1 and lines[0].startswith(f"error: store {database} does not exist")
    assert "`safeguard db upgrade`" in lines[0]
    assert not (tmp_path / "sar.html").exists() and not (tmp_path / "monitor").exists()
    # Nor an empty database file left behind the refusal (an independent probe's).
    assert not database.exists()


def test_a_path_a_command_cannot_write_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    import subprocess
    import sys

    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    done = subprocess.run(
        [sys.executable, "-c", "from api.cli import main; main()", "synth", "--out",
         str(blocker / "extract"), "--referrals", "50", "--seed", "1"],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "a_file" in lines[0], lines
    assert blocker.read_text() == "not a folder"


@pytest.mark.parametrize("command", [("report", "partnership"), ("monitor",),
                                     ("audit", "fairness", "--model", "1")])
def test_a_report_folder_that_is_a_file_fails_before_the_work(
    command: tuple[str, ...], tmp_path: Path
) -> None:
    """`report partnership --output FILE` read, explained and measured the whole extract,
    then failed on the folder; it fails first now (the extract named here is not there)."""
    import os
    import subprocess
    import sys

    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    env = {**os.environ, "SAFEGUARD_DATABASE_URL": f"sqlite:///{tmp_path / 'api.db'}",
           "SAFEGUARD_API_KEY_PEPPER": TEST_PEPPER,
           "SAFEGUARD_MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}"}
    main = [sys.executable, "-c", "from api.cli import main; main()"]
    subprocess.run([*main, "db", "upgrade"], env=env, check=True, capture_output=True,
                   timeout=300)
    done = subprocess.run([*main, *command, "--input", str(tmp_path / "no_extract"),
                           "--output", str(blocker)],
                          env=env, capture_output=True, text=True, timeout=300)
    lines = [line for line in done.stderr.strip().splitlines()
             if not line.startswith("WARNING")]  # the unanchored audit chain's warning
    assert done.returncode == 1 and len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ") and "a_file" in lines[0], lines
    assert "no_extract" not in lines[0]
    assert blocker.read_text() == "not a folder"
