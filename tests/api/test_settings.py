"""Settings: safe defaults, the plain aliases, and refusal of unsafe production values."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from api.audit_key import create_key_file
from api.settings import PLACEHOLDER_PEPPER, Settings


def test_defaults_are_a_local_sqlite_store_and_mlflow(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "SAFEGUARD_DATABASE_URL", "MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert settings.database_url.startswith("sqlite:///")
    assert settings.database_url.endswith("var/safeguard.db")
    assert settings.mlflow_tracking_uri == "sqlite:///var/mlflow.db"
    assert (settings.model_name, settings.model_alias) == ("safeguard-risk", "champion")
    assert settings.max_batch_cases == 1000


def test_plain_database_url_and_mlflow_uri_are_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/x")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow:5000")
    monkeypatch.setenv("SAFEGUARD_MAX_BATCH_CASES", "50")
    settings = Settings()
    assert settings.database_url.endswith("/x")
    assert settings.mlflow_tracking_uri == "http://mlflow:5000"
    assert settings.max_batch_cases == 50


@pytest.mark.parametrize("pepper", [PLACEHOLDER_PEPPER, "short"])
def test_production_refuses_a_placeholder_or_short_pepper(pepper: str) -> None:
    with pytest.raises(ValidationError, match="SAFEGUARD_API_KEY_PEPPER"):
        Settings(environment="production", api_key_pepper=SecretStr(pepper))


def _audit_key(folder: Path, mode: int = 0o600) -> Path:
    key_file = folder / "audit.key"
    create_key_file(key_file)
    key_file.chmod(mode)
    return key_file


def test_production_accepts_a_real_pepper_and_audit_anchor(tmp_path: Path) -> None:
    settings = Settings(environment="production", api_key_pepper=SecretStr("p" * 40),
                        audit_key_file=_audit_key(tmp_path),
                        audit_checkpoint_file=tmp_path / "checkpoints.jsonl")
    assert settings.environment == "production"


def test_production_refuses_an_unanchored_audit_chain() -> None:
    with pytest.raises(ValidationError, match="SAFEGUARD_AUDIT_KEY_FILE and "
                                              "SAFEGUARD_AUDIT_CHECKPOINT_FILE are not both set"):
        Settings(environment="production", api_key_pepper=SecretStr("p" * 40))


def test_production_refuses_an_absent_or_shared_audit_key(tmp_path: Path) -> None:
    production = {"environment": "production", "api_key_pepper": SecretStr("p" * 40),
                  "audit_checkpoint_file": tmp_path / "checkpoints.jsonl"}
    with pytest.raises(ValidationError, match="audit.key cannot be read"):
        Settings(**production, audit_key_file=tmp_path / "audit.key")
    with pytest.raises(ValidationError, match="open to group or others"):
        Settings(**production, audit_key_file=_audit_key(tmp_path, 0o644))


SHORT_PEPPER = "secret-but-short"  # pragma: allowlist secret


@pytest.mark.parametrize("command", [("users", "list"), ("serve", "--port", "1")])
@pytest.mark.parametrize("settings, said", [
    ({"SAFEGUARD_ENVIRONMENT": "production", "SAFEGUARD_API_KEY_PEPPER": SHORT_PEPPER},
     "SAFEGUARD_API_KEY_PEPPER is shorter than 32 chars"),
    ({"SAFEGUARD_ENVIRONMENT": "staging"}, "SAFEGUARD_ENVIRONMENT: Input should be"),
    ({"SAFEGUARD_MODEL_REFRESH_SECONDS": "-1"}, "SAFEGUARD_MODEL_REFRESH_SECONDS: Input should"),
])
def test_settings_refused_are_one_line_naming_the_variable_never_its_value(
    command: tuple[str, ...], settings: dict[str, str], said: str, tmp_path: Path
) -> None:
    # Until 6 December each was pydantic's traceback of about 50 lines, on every command.
    import os
    import subprocess
    import sys

    env = {**os.environ, "SAFEGUARD_DATABASE_URL": f"sqlite:///{tmp_path / 'api.db'}",
           **settings}
    done = subprocess.run([sys.executable, "-c", "from api.cli import main; main()", *command],
                          env=env, capture_output=True, text=True, timeout=120, check=False)
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1 and len(lines) == 1, done.stderr
    assert lines[0].startswith("error: settings refused: ") and said in lines[0], lines
    assert SHORT_PEPPER not in done.stderr + done.stdout


@pytest.mark.parametrize("name", ["model_refresh_seconds", "auth_failure_window_seconds",
                                  "auth_lockout_seconds", "refused_write_not_ready_seconds"])
@pytest.mark.parametrize("value", ["inf", "nan"])
def test_a_time_setting_is_a_finite_number_of_seconds(
        monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    # inf passed `ge=0`: a refresh interval of inf ended the alias watcher in an
    # OverflowError, and a not-ready window of inf kept /readyz at 503 until a restart.
    monkeypatch.setenv(f"SAFEGUARD_{name.upper()}", value)
    with pytest.raises(ValidationError, match=name):
        Settings()
    monkeypatch.setenv(f"SAFEGUARD_{name.upper()}", "12.5")
    assert getattr(Settings(), name) == 12.5


def test_a_development_placeholder_is_warned_of_once_a_process(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """`safeguard train` read the settings twice and printed each warning twice."""
    import api.settings

    monkeypatch.setattr(api.settings, "_WARNED", set())
    with caplog.at_level(logging.WARNING, logger="api.settings"):
        for _ in range(2):
            Settings(environment="development", api_key_pepper=PLACEHOLDER_PEPPER)
    warned = [r.getMessage() for r in caplog.records if "placeholder" in r.getMessage()]
    assert warned == ["SAFEGUARD_API_KEY_PEPPER is the development placeholder (acceptable "
                      "only outside production)"]
