"""`safeguard score`: every referral of an extract scored with a registered version (here
or on Spark), the command's closing lines, and a warning when the version scored with is
not approved for triage."""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from data_contracts.cli import (
    ExtractDate,
    fail,
    parse_date_option,
    prepare_command_process,
    stage_progress,
)
from data_contracts.closing_notes import household_note, no_feed_note, quarantine_note
from model.cli import ConfigSource, ModelCliConfig, cli_config, console, registry_from
from pipelines.cli import ConfOption, Engine, EngineOption, MasterOption, check_engine_options

if TYPE_CHECKING:
    from model.registry import ModelRegistry
    from model.score import Scored


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
        _standings_ahead(ctx)
        scored = _score_here(ctx, input, output, reference=model or config.alias,
                             extract_date=day, explain=explanations)
    _say_scored(scored, input, output, explained=explanations, extract_date=day)
    # Last, once the ratings are written: a refusal stays one line on standard error.
    warn_unless_approved(ctx, registry_from(config), scored)


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


def _standings_ahead(ctx: typer.Context) -> None:
    """Start loading what `warn_unless_approved` reads, beside the scoring: its imports,
    mostly Python, overlap the feature build's pyarrow and NumPy, which
    release the GIL. Whatever fails there fails again, and is reported, in the check."""
    source = ctx.find_object(ConfigSource)
    if source is None or source.standings_ahead is None:
        return
    ahead = source.standings_ahead

    def load() -> None:
        with contextlib.suppress(Exception):
            ahead()

    threading.Thread(target=load, name="standings-ahead", daemon=True).start()


def warn_unless_approved(ctx: typer.Context, registry: ModelRegistry, scored: Scored) -> None:
    """One line on standard error when the version scored with was rejected, awaits
    approval, has an approval that is not valid, or its standing cannot be read (the
    ratings are written: testing or research on such a version is allowed, silently it
    is not). Nothing without a store: it holds no decision to read. The approval is
    checked against the model folder's hash as the load read it (`Scored.model_sha256`):
    the folder is not copied and hashed again; the files the card is built from are read
    by the check (among them the model's own document, which the load parsed but keeps
    no bytes of)."""
    source = ctx.find_object(ConfigSource)
    if source is None or source.standings is None:
        return
    version = scored.info.version
    folder_hashes = {version: scored.model_sha256} if scored.model_sha256 else {}
    found = source.standings(registry, [version], check_gate=True,
                             folder_hashes=folder_hashes).get(version)
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
    if scored.notices:
        from model.late_warning import notice_note

        for notice, referrals in scored.notices:
            if referrals:
                console.print(notice_note(notice, referrals, explained=explained),
                              soft_wrap=True)
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
        from pipelines.spark.errors import SessionRefused, SparkOutOfMemory
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
    except (FeedRejected, RegistryError, SessionRefused, SparkOutOfMemory, ValueError) as exc:
        fail(refusal_line(exc, reference, served_alias=registry_config.alias))
    return scored
