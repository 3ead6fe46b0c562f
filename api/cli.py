"""The `safeguard` command line: every layer's commands under one Typer app.

Each package keeps its own commands in its `cli.py` and exposes `register(app)`;
this module, at the top of the layers, only assembles them. Building it imports no
heavy library (MLflow, SHAP, scikit-learn, SQLAlchemy, FastAPI): each command imports
what it uses when it runs, so `safeguard --help` answers at once.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import typer

from api import (
    admin,
    fairness_command,
    governance_commands,
    model_commands,
    monitor_command,
    partnership_command,
    server,
    subject_access_command,
)
from data_contracts import cli as contracts_cli
from data_contracts.cli import QuickHelpGroup
from model import cli as model_cli
from pipelines import cli as pipelines_cli

if TYPE_CHECKING:
    from model.registry import ModelRegistry
    from model.registry_records import VersionInfo
    from model.version_list import Standing

app = typer.Typer(
    name="safeguard",
    help="Safeguarding risk scoring for multi-agency safeguarding hubs (decision support only).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=QuickHelpGroup,
)


def _model_cli_config() -> model_cli.ModelCliConfig:
    from api.settings import Settings
    from api.templating import render_report

    settings = Settings()
    return model_cli.ModelCliConfig(
        tracking_uri=settings.mlflow_tracking_uri, model_name=settings.model_name,
        artifact_root=settings.mlflow_artifact_root, alias=settings.model_alias,
        governance_path=settings.governance_settings_path, render_report=render_report)


def _log_card(registry: ModelRegistry, version: VersionInfo) -> None:
    from api.model_card import log_card
    from api.settings import Settings, board_thresholds

    # Its checks judged against the board's thresholds (the service's settings), not
    # only the `--governance` file training was given.
    log_card(registry, version, board=board_thresholds(Settings()))


def _standings_ahead() -> None:
    from api.version_standing import import_ahead

    import_ahead()


def _standings(registry: ModelRegistry, versions: Sequence[str], *, check_gate: bool,
               folder_hashes: Mapping[str, str] | None = None) -> dict[str, Standing]:
    from api.version_standing import standings

    return standings(registry, versions, check_gate=check_gate, folder_hashes=folder_hashes)


@app.callback()
def _settings_for_commands(ctx: typer.Context) -> None:
    # How the model layer's commands read the service settings (only when one runs),
    # how training logs a version's model card (rendered with the service's templates),
    # and where a version stands with governance (the store's decisions).
    ctx.obj = model_cli.ConfigSource(_model_cli_config, card_writer=_log_card,
                                     standings=_standings, standings_ahead=_standings_ahead)
    # MLflow drew a "Downloading artifacts" bar per file read and logged INFO lines on a
    # command's standard error (train: ten bars), however the command line is run (the
    # entry point, a test runner) and whether or not MLflow is imported yet; either
    # variable set shows them.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
    level = os.environ["MLFLOW_LOGGING_LEVEL"].upper()  # a name logging does not know: WARNING
    logging.getLogger("mlflow").setLevel(logging.getLevelNamesMapping().get(level,
                                                                            logging.WARNING))


contracts_cli.register(app)
pipelines_cli.register(app)
model_cli.register(app)
model_commands.register(model_cli.model_app)
governance_commands.register(model_cli.model_app)
admin.register(app)
fairness_command.register(admin.audit_app)
app.command("serve")(server.serve)
app.command("monitor")(monitor_command.monitor)
app.add_typer(partnership_command.report_app, name="report", cls=QuickHelpGroup)
app.command("subject-access")(subject_access_command.subject_access)


def _unusable_stores() -> tuple[type[Exception], ...]:
    """The errors that say a command cannot use the model registry or the database the
    settings name (each names it, password hidden). Imported only once a command has
    failed: building the command line imports neither."""
    from api.store.urls import StoreUrlError
    from model.registry_reach import RegistryError

    return RegistryError, StoreUrlError


def main() -> None:
    """Console-script entry point. A file or folder a command cannot read or write (an
    output under a file, a full disk, a path it may not write to), a model registry that
    cannot be reached and a database URL the store cannot use each end in one line and
    exit code 1, whichever command met them, never a traceback."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # MLflow's HTTP retries each log a line naming the request; the command's own error
    # says which registry could not be reached.
    logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)
    from typer.exceptions import Abort, TyperException

    try:
        code = app(standalone_mode=False)
    except TyperException as exc:  # a missing option, a value not allowed: one line too
        ctx = getattr(exc, "ctx", None)
        where = ctx.command_path if ctx is not None else "safeguard"
        sys.stderr.write(f"error: {' '.join(exc.format_message().split())} (`{where} --help` "
                         "lists what it takes)\n")
        sys.exit(exc.exit_code)  # 2 for a usage error, as every command line has it
    except Abort:  # Ctrl-C, or end of input at a prompt
        sys.stderr.write("error: aborted\n")
        sys.exit(1)
    except OSError as exc:
        logging.getLogger(__name__).debug("the command stopped", exc_info=True)
        where = ", ".join(str(f) for f in (exc.filename, exc.filename2) if f)
        reason = " ".join(str(exc.strerror or exc).split()) or type(exc).__name__
        sys.stderr.write(f"error: {where + ': ' if where else ''}{reason}\n")
        sys.exit(1)
    except _unusable_stores() as exc:  # the tuple is made only when an exception gets here
        logging.getLogger(__name__).debug("the command stopped", exc_info=True)
        sys.stderr.write(f"error: {' '.join(str(exc).split())}\n")
        sys.exit(1)
    except ValueError as exc:  # settings refused (pydantic's ValidationError); else raised
        from api.settings import settings_refusal

        refusal = settings_refusal(exc)
        if refusal is None:
            raise
        sys.stderr.write(f"error: {' '.join(refusal.split())}\n")
        sys.exit(1)
    except Exception as exc:
        _store_outage_line(exc)
        raise
    sys.exit(code if isinstance(code, int) else 0)


def _store_outage_line(exc: Exception) -> None:
    """Exit 1 in one line when ``exc`` says the database could not be used once the
    command was under way (read-only, its disk full, gone): SQLAlchemy's traceback would
    print the statement with its parameters (a new user's key hash, a person's token)."""
    from api.store.db import is_outage, outage_reason

    if not is_outage(exc):
        return
    logging.getLogger(__name__).debug("the command stopped", exc_info=True)
    sys.stderr.write(f"error: the database could not be used ({outage_reason(exc)}); the "
                     "write under way was rolled back: check that the database is reachable, "
                     "writable and has room, then run the command again\n")
    sys.exit(1)
