"""Commands of the model layer: `train`, `score`, `model list`, `model check`.

Where MLflow lives (tracking URI, model name, artifact folder) comes from the
service settings, which sit in the layer above: the command line's root callback
puts a `ConfigSource` in Typer's context, so this module never reads settings
itself and nothing is set at import.
"""

from __future__ import annotations

import datetime as dt
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
from pipelines.cli import (
    ConfOption,
    Engine,
    EngineOption,
    MasterOption,
    check_engine_options,
)

if TYPE_CHECKING:
    from model.registry import ModelRegistry
    from model.score import Scored
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
    # check_gate=...) -> {version: model.version_list.Standing}; read by the layer above.
    standings: Callable[..., dict[str, Standing]] | None = None


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
                                 training=True),
                 no_feed_note(outcome.shared_nothing, outcome.quarantined_rows, training=True),
                 household_note(outcome.without_household, outcome.quarantined_rows,
                                training=True)):
        if note:  # as scoring says them: a model trained without an agency says so
            console.print(note, soft_wrap=True)
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


def score(
    ctx: typer.Context,
    input: Annotated[str, typer.Option(
        "--input", help="Extract directory (no outcomes needed); with --engine spark, also any "
                        "folder Spark reads (hdfs://, s3a://).")],
    output: Annotated[str, typer.Option(
        "--output", help="Ratings file: .csv or .parquet; with --engine spark, a .parquet path "
                         "Spark writes (a local path, hdfs://, s3a://).")],
    model: Annotated[
        str | None,
        typer.Option("--model", help="Version number or alias; default the served alias."),
    ] = None,
    extract_date: ExtractDate = None,
    explanations: Annotated[
        bool, typer.Option("--explanations/--no-explanations",
                           help="Add each score's explanation (top factors, by agency).")
    ] = True,
    engine: EngineOption = Engine.single,
    master: MasterOption = None,
    conf: ConfOption = None,
) -> None:
    """Score every referral of an extract with a registered model, and explain each score."""
    prepare_command_process()
    check_engine_options(engine, master, conf)
    config, day = cli_config(ctx), parse_date_option(extract_date)
    # A string, not a Path: a Path would fold a URI's `//` (hdfs://host/x -> hdfs:/host/x).
    if engine is Engine.spark:
        scored = _score_on_spark(input, output, reference=model or config.alias,
                                 registry_config=config, extract_date=day, explain=explanations,
                                 master=master, conf=conf or [])
    else:
        scored = _score_here(ctx, input, output, reference=model or config.alias,
                             extract_date=day, explain=explanations)
    _say_scored(scored, input, output, explained=explanations, extract_date=day)
    # Last, once the ratings are written: a refusal stays one line on standard error.
    warn_unless_approved(ctx, registry_from(config), scored.info.version)


def _score_here(ctx: typer.Context, input: str, output: str, *, reference: str,
                extract_date: dt.date | None, explain: bool) -> Scored:
    from data_contracts import FeedRejected
    from model.approval_hint import refusal_line
    from model.registry import RegistryError
    from model.score import OutputFormatError, score_extract

    config = cli_config(ctx)
    with stage_progress(console) as progress:
        task = progress.add_task("starting", total=None)
        try:
            return score_extract(
                Path(input), Path(output), registry=registry_from(config), reference=reference,
                extract_date=extract_date, explain=explain,
                progress=lambda stage: progress.update(task, description=stage))
        except (FeedRejected, RegistryError, OutputFormatError) as exc:
            fail(refusal_line(exc, reference, served_alias=config.alias))


def warn_unless_approved(ctx: typer.Context, registry: ModelRegistry, version: str) -> None:
    """One line on standard error when the version scored with was rejected, awaits
    approval, has an approval that is not valid, or its standing cannot be read (the
    ratings are written: testing or research on such a version is allowed, silently it
    is not). Nothing without a store: it holds no decision to read."""
    source = ctx.find_object(ConfigSource)
    if source is None or source.standings is None:
        return
    found = source.standings(registry, [version], check_gate=True).get(version)
    if found is not None and (warning := found.use_warning(version)):
        typer.echo(warning, err=True)


def _say_scored(scored: Scored, source: str, output: str, *, explained: bool,
                extract_date: dt.date | None = None) -> None:
    """The scoring commands' closing lines: how many, with what, where; the rows
    quarantined (not scored); the agencies that shared no records; no household member
    linked; what the contributions are on."""
    info = scored.info
    # Paths are printed whole (soft wrap): a narrow terminal would crop them to "...".
    console.print(f"{scored.rows:,} referrals scored with {info.name} version {info.version} "
                  f"-> {output}", soft_wrap=True)
    for note in (quarantine_note(scored.quarantined_rows, source, extract_date=extract_date),
                 no_feed_note(scored.shared_nothing, scored.quarantined_rows),
                 household_note(scored.without_household, scored.quarantined_rows)):
        if note:
            console.print(note, soft_wrap=True)
    from model.score import POINT_IN_TIME_NOTE

    console.print(POINT_IN_TIME_NOTE)
    if explained:
        from model.sentences import CONTRIBUTIONS_NOTE

        console.print(CONTRIBUTIONS_NOTE)


def _score_on_spark(input: str, output: str, *, reference: str, registry_config: ModelCliConfig,
                    extract_date: dt.date | None, explain: bool, master: str | None,
                    conf: list[str]) -> Scored:
    if not output.endswith(".parquet"):
        fail(f"{output}: --engine spark writes Parquet; use a .parquet name")
    try:
        from model.spark_scoring import score_extract_spark
        from pipelines.spark.errors import SessionRefused
        from pipelines.spark.session import parse_settings
    except ImportError:
        fail("--engine spark needs the spark extra: pip install 'safeguard-risk[spark]'")
    from data_contracts import FeedRejected
    from model.approval_hint import refusal_line
    from model.registry import RegistryError

    try:
        scored = score_extract_spark(
            input, output, registry=registry_from(registry_config), reference=reference,
            extract_date=extract_date, explain=explain, master=master,
            settings=parse_settings(conf))
    except (FeedRejected, RegistryError, SessionRefused, ValueError) as exc:
        fail(refusal_line(exc, reference, served_alias=registry_config.alias))
    return scored


def register(app: typer.Typer) -> None:
    """Add this layer's commands to the `safeguard` app."""
    app.command("train")(train)
    app.command("score")(score)
    import model.compare  # noqa: F401  (adds `model compare` to the group)
    import model.model_check  # noqa: F401  (adds `model check` to the group)
    import model.version_list  # noqa: F401  (adds `model list` to the group)

    app.add_typer(model_app, name="model")
