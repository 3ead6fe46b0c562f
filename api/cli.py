"""The `safeguard` command line: every layer's commands under one Typer app.

Each package keeps its own commands in its `cli.py` and exposes `register(app)`;
this module, at the top of the layers, only assembles them.
"""

from __future__ import annotations

import importlib
import logging

import typer

app = typer.Typer(
    name="safeguard",
    help="Safeguarding risk scoring for multi-agency safeguarding hubs (decision support only).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_COMMAND_MODULES = (
    "data_contracts.cli",
    "pipelines.cli",
    "model.cli",
    "api.commands",
)


def _register_all() -> None:
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        module.register(app)


_register_all()


def main() -> None:
    """Console-script entry point."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app()
