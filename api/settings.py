"""Service settings: one pydantic-settings class, safe defaults, fail fast in production.

Every value comes from an environment variable with the prefix ``SAFEGUARD_``
(``SAFEGUARD_DATABASE_URL``); the plain ``DATABASE_URL`` and
``MLFLOW_TRACKING_URI`` are honoured too, because platforms set those names.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from model.governance import AcceptanceThresholds
    from model.registry import ModelRegistry

logger = logging.getLogger(__name__)
# The unsafe values already warned of in this process (`train` reads the settings twice).
_WARNED: set[str] = set()

PLACEHOLDER_PEPPER = "change-me-development-only"
MIN_PEPPER_LENGTH = 32

# The folder where each server worker keeps its metrics (prometheus_client's multiprocess
# mode). prometheus_client reads it when first imported: `serve` sets it before that.
MULTIPROCESS_METRICS_ENV = "PROMETHEUS_MULTIPROC_DIR"

Environment = Literal["development", "test", "production"]


def _default_database_url() -> str:
    return f"sqlite:///{Path.cwd() / 'var' / 'safeguard.db'}"


class Settings(BaseSettings):
    """Configuration of the scoring service and its command line."""

    model_config = SettingsConfigDict(
        env_prefix="SAFEGUARD_",
        extra="ignore",
        populate_by_name=True,
        protected_namespaces=(),
    )

    environment: Environment = "development"
    database_url: str = Field(
        default_factory=_default_database_url,
        validation_alias=AliasChoices("SAFEGUARD_DATABASE_URL", "DATABASE_URL", "database_url"),
    )
    mlflow_tracking_uri: str = Field(
        default="sqlite:///var/mlflow.db",
        validation_alias=AliasChoices(
            "SAFEGUARD_MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_URI", "mlflow_tracking_uri"
        ),
    )
    mlflow_artifact_root: str = "var/mlartifacts"
    model_name: str = "safeguard-risk"
    model_alias: str = "champion"
    # How often each server worker checks which version the alias names (0: never).
    model_refresh_seconds: float = Field(default=10.0, ge=0, allow_inf_nan=False)
    governance_settings_path: Path | None = None
    # Where `safeguard monitor --output DIR/monitor` and `safeguard report partnership
    # --output DIR/partnership` write: the governance page shows the latest of each.
    reports_dir: Path | None = None
    max_batch_cases: int = Field(default=1000, ge=1, le=100_000)
    max_body_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    api_key_pepper: SecretStr = SecretStr(PLACEHOLDER_PEPPER)
    # What anchors the audit chain outside the database (`api.audit_key`): a key file
    # (mode 0600, never in the database) and an append-only file of signed checkpoints,
    # one every `audit_checkpoint_every` entries and one when the service stops.
    audit_key_file: Path | None = None
    audit_checkpoint_file: Path | None = None
    audit_checkpoint_every: int = Field(default=100, ge=1)

    # Failed authentications before a key id, or a client address, is refused with 429
    # (`api.auth_limits`); counted over a window, then locked out for a while.
    auth_failures_per_key: int = Field(default=10, ge=1)
    auth_failures_per_address: int = Field(default=50, ge=1)
    auth_failure_window_seconds: float = Field(default=300.0, gt=0, allow_inf_nan=False)
    auth_lockout_seconds: float = Field(default=300.0, gt=0, allow_inf_nan=False)
    # How long `/readyz` answers 503 after a write the store refused (read-only, disk
    # full, a standby): each worker is ready again that long after its last refusal.
    refused_write_not_ready_seconds: float = Field(default=30.0, ge=0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _refuse_unsafe_production_values(self) -> Settings:
        problems = self.unsafe_values()
        if problems and self.environment == "production":
            raise ValueError("unsafe production settings: " + "; ".join(problems))
        for problem in problems if self.environment == "development" else ():
            if problem not in _WARNED:  # once a process: a command may read them twice
                _WARNED.add(problem)
                logger.warning("%s (acceptable only outside production)", problem)
        return self

    def unsafe_values(self) -> list[str]:
        """Settings that are fine on a laptop but must never reach production."""
        problems = []
        pepper = self.api_key_pepper.get_secret_value()
        if pepper == PLACEHOLDER_PEPPER:
            problems.append("SAFEGUARD_API_KEY_PEPPER is the development placeholder")
        elif len(pepper) < MIN_PEPPER_LENGTH:
            problems.append(f"SAFEGUARD_API_KEY_PEPPER is shorter than {MIN_PEPPER_LENGTH} chars")
        return problems + self._unsafe_audit_anchor()

    def _unsafe_audit_anchor(self) -> list[str]:
        if self.audit_key_file is None or self.audit_checkpoint_file is None:
            return ["SAFEGUARD_AUDIT_KEY_FILE and SAFEGUARD_AUDIT_CHECKPOINT_FILE are not both "
                    "set: the audit chain is not anchored (a truncation or rewrite verifies)"]
        try:
            mode = self.audit_key_file.stat().st_mode
        except OSError:
            return [f"SAFEGUARD_AUDIT_KEY_FILE {self.audit_key_file} cannot be read"]
        if mode & 0o077:
            return [f"SAFEGUARD_AUDIT_KEY_FILE {self.audit_key_file} is open to group or others "
                    "(chmod 600)"]
        return []


def settings_refusal(exc: Exception) -> str | None:
    """One line for settings the environment gives and `Settings` refuses (each variable
    and why, never its value, which may be a secret), or None for any other error: the
    command line says it in place of pydantic's traceback of some 50 lines."""
    from pydantic import ValidationError

    if not isinstance(exc, ValidationError) or exc.title != Settings.__name__:
        return None
    reasons = []
    for error in exc.errors(include_url=False, include_input=False, include_context=False):
        field = str(error["loc"][0]) if error["loc"] else ""
        name = field if field.isupper() else f"SAFEGUARD_{field.upper()}"
        message = error["msg"].removeprefix("Value error, ")
        reasons.append(f"{name}: {message}" if field else message)
    return "settings refused: " + "; ".join(reasons)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment once."""
    return Settings()


def settings_registry(settings: Settings) -> ModelRegistry:
    """The model registry the settings name (MLflow is imported on first use)."""
    from model.registry import ModelRegistry

    return ModelRegistry(settings.mlflow_tracking_uri, model_name=settings.model_name,
                         artifact_root=settings.mlflow_artifact_root)


def board_thresholds(settings: Settings) -> AcceptanceThresholds:
    """The acceptance thresholds of the board's governance settings in force (the file
    SAFEGUARD_GOVERNANCE_SETTINGS_PATH names; the shipped model/governance.toml when
    unset): a version trained under looser ones is judged at the board's figure
    (`model.agreed_thresholds`), read afresh each time (a small file)."""
    from model.governance import load_governance

    return load_governance(settings.governance_settings_path)[0].acceptance
