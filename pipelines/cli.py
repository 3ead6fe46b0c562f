"""Commands of the pipelines layer: `safeguard synth` and `safeguard features`."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

console = Console()


class FeedFormat(str, Enum):
    csv = "csv"
    parquet = "parquet"


def synth(
    out: Annotated[Path, typer.Option(help="Directory to write the extract into (created).")],
    referrals: Annotated[int, typer.Option(min=1, help="Number of referrals to generate.")] = 10_000,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same extract.")] = 0,
    format: Annotated[FeedFormat, typer.Option("--format", help="File format of the feeds.")] = (
        FeedFormat.csv
    ),
    truth: Annotated[
        Path | None,
        typer.Option(help="Truth file (true probabilities), kept outside the extract. "
                     "Default: <out>.truth.parquet beside the extract directory."),
    ] = None,
) -> None:
    """Generate a realistic synthetic multi-agency extract that follows the feed specification."""
    from pipelines.synth import SynthConfig, generate_extract

    summary = generate_extract(
        SynthConfig(n_referrals=referrals, seed=seed, file_format=format.value),
        out_dir=out,
        truth_path=truth,
    )
    console.print(summary.as_rich_table())


def register(app: typer.Typer) -> None:
    """Add this layer's commands to the `safeguard` app."""
    app.command("synth")(synth)
