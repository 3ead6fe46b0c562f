"""Commands of the model layer and their settings: `train` here; `score`
(`model.score_command`), `model list`, `model check` and `model compare` in modules of
their own, registered by `register`.

Where MLflow lives (tracking URI, model name, artifact folder) comes from the
service settings, which sit in the layer above: the command line's root callback
puts a `ConfigSource` in Typer's context, so this module never reads settings
itself and nothing is set at import.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from data_contracts.cli import (
    ExtractDate,
    QuickHelpGroup,
    fail,
    parse_date_option,
    prepare_command_process,
    stage_progress,
)
from data_contracts.closing_notes import household_note, no_feed_note, quarantine_note

if TYPE_CHECKING:
    from model.version_list import Standing

console = Console()
UNKNOWN = "unknown"  # a version's standing when the store cannot be read
model_app = typer.Typer(help="Registered model versions: list and check them, approve or "
                        "reject them (a governance user), write their model cards, and "
                        "promote a version to be served or roll back to the one before.",
                        no_args_is_help=True, cls=QuickHelpGroup)


@dataclass(frozen=True)
class ModelCliConfig:
    """Where the registry is and which governance settings apply."""

    tracking_uri: str
    model_name: str
    artifact_root: str
    alias: str
    governance_path: Path | None
    # Renders a report template (name, context) to HTML; the service's is passed in.
    render_report: Callable[..., str] | None = None


@dataclass(frozen=True)
class ConfigSource:
    """How the model commands read their settings: the command line's root callback puts
    one in Typer's context (`ctx.obj`); it is called only by a command that needs it."""

    read: Callable[[], ModelCliConfig]
    # Logs a new version's model card with its run (rendered by the layer above).
    card_writer: Callable[..., None] | None = None
    # Each version's approval standing from the service's store (registry, versions,
    # check_gate=..., folder_hashes=...: model folders' hashes as already read)
    # -> {version: model.version_list.Standing}; read by the layer above.
    standings: Callable[..., dict[str, Standing]] | None = None
    # What `standings` will need, loaded ahead on a background thread (its imports).
    standings_ahead: Callable[[], None] | None = None


def cli_config(ctx: typer.Context) -> ModelCliConfig:
    """The settings from the context (an error when the command line has none)."""
    source = ctx.find_object(ConfigSource)
    if source is None:
        fail("the model commands are not configured; run them through `safeguard`")
    return source.read()


def registry_from(config: ModelCliConfig):  # type: ignore[no-untyped-def]
    """The model registry the settings name."""
    from model.registry import ModelRegistry

    return ModelRegistry(config.tracking_uri, model_name=config.model_name,
                         artifact_root=config.artifact_root)


def train(
    ctx: typer.Context,
    input: Annotated[Path, typer.Option("--input", help="Extract directory (feeds, outcomes).")],
    extract_date: ExtractDate = None,
    experiment: Annotated[str, typer.Option(help="MLflow experiment name.")] = "safeguard-risk",
    seed: Annotated[int, typer.Option(help=(
        "Random seed; same extract and seed, same model. The split is by date and the "
        "boosting draws no sample under 200,000 training referrals (only its binning "
        "does, above), so another seed mostly gives the same model."))] = 0,
    governance: Annotated[
        Path | None, typer.Option(help="Governance settings TOML (bands, escalation rules); "
                                  "acceptance thresholds looser than the board's "
                                  "(SAFEGUARD_GOVERNANCE_SETTINGS_PATH) are judged at the board's.")
    ] = None,
    since: Annotated[str | None, typer.Option(
        help="Train, validate and test only on referrals from this date (YYYY-MM-DD), e.g. "
             "where outcomes were not recorded before it; default every referral.")] = None,
) -> None:
    """Train, calibrate, evaluate and register a new model version from an extract."""
    prepare_command_process()
    from model.registry_reach import RegistryError, prepare_for

    config = cli_config(ctx)
    try:  # before the fit's imports (seconds), as `train_and_register` does before the fit
        prepare_for(config.tracking_uri)
    except RegistryError as exc:
        fail(str(exc))
    from data_contracts import FeedRejected
    from model.governance import GovernanceError
    from model.late_warning import notice_note
    from model.outcome_gaps import gap_warnings
    from model.split import describe_split, describe_test_period
    from model.workflow import default_config, train_and_register

    source = ctx.find_object(ConfigSource)
    day = parse_date_option(extract_date)
    with stage_progress(console) as progress:
        task = progress.add_task("starting", total=None)
        try:
            outcome = train_and_register(
                input, registry=registry_from(config), experiment=experiment,
                config=default_config(seed), governance_path=governance or config.governance_path,
                extract_date=day, since=parse_date_option(since, "--since"),
                progress=lambda stage: progress.update(task, description=stage),
                render_report=config.render_report,
                card_writer=source.card_writer if source else None)
        except (FeedRejected, GovernanceError, RegistryError, ValueError) as exc:
            fail(str(exc))
    metrics, counts = outcome.result.metrics, outcome.result.counts
    table = Table(title=f"{config.model_name} version {outcome.version.version} registered")
    table.add_column("measure")
    table.add_column("gradient boosting", justify="right")
    table.add_column("logistic baseline", justify="right")
    for key in ("roc_auc", "average_precision", "brier", "ece"):
        table.add_row(key, f"{metrics[f'test_{key}']:.4f}", f"{metrics[f'baseline_{key}']:.4f}")
    console.print(table)
    given = "given" if day is not None else "from the data, as no --extract-date was given"
    console.print(
        f"Extract date {outcome.result.model.metadata['extract_date']} ({given}). "
        f"Labelled referrals {counts['labelled']:,}; left out, follow-up incomplete "
        f"{counts['follow_up_incomplete']:,}. Split by date: "
        f"{describe_split(outcome.result.split.summary())}. Calibration "
        f"{outcome.result.model.calibrator.method}; {outcome.seconds['total']:.1f} s. "
        f"{describe_test_period(metrics, outcome.result.split.summary())}")
    for note in (quarantine_note(outcome.quarantined_rows, input, extract_date=day,
                                 unused="not trained on"),
                 no_feed_note(outcome.shared_nothing, outcome.quarantined_rows, training=True),
                 household_note(outcome.without_household, outcome.quarantined_rows,
                                training=True)):
        if note:  # as scoring says them: a model trained without an agency says so
            console.print(note, soft_wrap=True)
    for notice, referrals in outcome.notices:
        if referrals:
            console.print(notice_note(notice, referrals, training=True), soft_wrap=True)
    for line in gap_warnings([gap.to_json() for gap in outcome.result.outcome_gaps],
                             counted_as="they were trained on as negatives",
                             since_option="--since"):
        typer.echo(line, err=True)
    from model.approval_hint import approval_hint
    from model.governance import load_governance

    # As the gate judges it: against the board's thresholds (the service's settings) too.
    board = load_governance(config.governance_path)[0].acceptance
    console.print(approval_hint(registry_from(config), outcome.version.version, board=board),
                  soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add this layer's commands to the `safeguard` app."""
    app.command("train")(train)
    from model.score_command import score  # it imports this module's settings

    app.command("score")(score)
    import model.compare  # noqa: F401  (adds `model compare` to the group)
    import model.model_check  # noqa: F401  (adds `model check` to the group)
    import model.version_list  # noqa: F401  (adds `model list` to the group)

    app.add_typer(model_app, name="model")
