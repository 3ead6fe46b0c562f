"""`safeguard model check`: a registered version's checksum and golden set, verified."""

from __future__ import annotations

from typing import Annotated

import typer

from data_contracts.cli import fail
from model.cli import cli_config, console, model_app, registry_from


@model_app.command("check")
def check_model(
    ctx: typer.Context,
    model: Annotated[
        str | None, typer.Argument(help="Version number or alias; default the served alias.")
    ] = None,
) -> None:
    """Verify a model's checksum and re-score its golden set; exit 1 on any difference."""
    from model.approval_hint import refusal_line
    from model.registry import RegistryError

    config = cli_config(ctx)
    reference = model or config.alias
    try:
        loaded = registry_from(config).load(reference)
    except RegistryError as exc:
        fail(refusal_line(exc, reference, served_alias=config.alias))
    console.print(f"{loaded.info.name} version {loaded.info.version}: checksum verified, "
                  f"{len(loaded.golden)} golden cases reproduced")
