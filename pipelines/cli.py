"""Commands of the pipelines layer: `safeguard synth` and `safeguard features`."""

from __future__ import annotations

import datetime as dt
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from data_contracts.cli import (
    ExtractDate,
    fail,
    parse_date_option,
    prepare_command_process,
    stage_progress,
)
from data_contracts.closing_notes import household_note, quarantine_note

console = Console()


class Engine(StrEnum):
    single = "single"
    spark = "spark"


# The options of the commands that run on either engine (`features`, `score`).
EngineOption = Annotated[Engine, typer.Option(
    help="single: this machine; spark: a Spark session (the spark extra; Parquet folder).")]
MasterOption = Annotated[str | None, typer.Option(
    help="Spark master URL (engine spark); default: spark-defaults.conf, else local[*].")]
ConfOption = Annotated[list[str] | None, typer.Option(help="Spark setting key=value (repeat).")]


def check_engine_options(engine: Engine, master: str | None, conf: list[str] | None) -> None:
    """Refuse ``--master`` or ``--conf`` without ``--engine spark`` as a usage error (exit
    2): a cluster's URL given with the engine forgotten would run on this machine unseen.

    Raises:
        typer.BadParameter: If either is given to the single-machine engine.
    """
    if engine is not Engine.spark and (master is not None or conf):
        raise typer.BadParameter("--master and --conf are Spark's: add --engine spark")


class FeedFormat(StrEnum):
    csv = "csv"
    parquet = "parquet"


def synth(
    out: Annotated[
        Path | None,
        typer.Option(help="Directory to write the extract into (created); "
                     "optional with --realism-report."),
    ] = None,
    referrals: Annotated[int, typer.Option(min=1, help="Number of referrals.")] = 10_000,
    seed: Annotated[int, typer.Option(help="Random seed; same seed, same extract.")] = 0,
    format: Annotated[FeedFormat, typer.Option("--format", help="File format of the feeds.")] = (
        FeedFormat.csv
    ),
    truth: Annotated[
        Path | None,
        typer.Option(help="Truth file (true probabilities), kept outside the extract. "
                     "Default: <out>.truth.parquet beside the extract directory."),
    ] = None,
    extract_date: Annotated[
        str | None, typer.Option("--extract-date", help="YYYY-MM-DD; default 2026-09-30.")
    ] = None,
    clean: Annotated[
        bool,
        typer.Option("--clean", help="Inject no deliberately broken rows "
                     "(by default a few are injected and listed in <out>.corruptions.csv)."),
    ] = False,
    disparities: Annotated[
        str,
        typer.Option(help="Planted disparities: default, none, or name=strength pairs, "
                     "comma separated, optionally after default or none "
                     "(e.g. none,police_recording_black=2). See pipelines/SYNTHETIC_DATA.md."),
    ] = "default",
    realism_report: Annotated[
        bool,
        typer.Option("--realism-report", help="Print each published figure beside the "
                     "generator's; exit 1 when one is outside the tolerance."),
    ] = False,
) -> None:
    """Generate a realistic synthetic multi-agency extract that follows the feed specification."""
    from dataclasses import replace

    from pipelines.synth import SynthConfig, generate_data, generate_extract
    from pipelines.synth.disparities import parse_disparities
    from pipelines.synth.report import print_realism_report

    if out is None and not realism_report:
        fail("give --out DIRECTORY to write an extract (or --realism-report)")
    try:
        config = SynthConfig(n_referrals=referrals, seed=seed, file_format=format.value,
                             corrupt=not clean, disparities=parse_disparities(disparities))
    except ValueError as exc:
        fail(f"--disparities: {exc}")
    day = parse_date_option(extract_date)
    if day is not None:
        config = replace(config, extract_date=day)
    data = generate_data(config)
    if out is not None:
        summary = generate_extract(config, out_dir=out, truth_path=truth, data=data)
        console.print(summary.as_rich_table())
    if realism_report and not print_realism_report(data, config, console):
        raise typer.Exit(code=1)


def manifest_path_for(output: str) -> str:
    """Where the feature manifest is written beside a feature table (a path or URI)."""
    return output.removesuffix(".parquet") + ".manifest.json"


OutputTable = Annotated[str, typer.Option(
    "--output", help="Feature table to write (.parquet); with --engine spark, any path Spark "
                     "writes (a local path, hdfs://, s3a://).")]


def features(
    input: Annotated[str, typer.Option(
        "--input", help="Extract directory (feeds); with --engine spark, also any folder Spark "
                        "reads (hdfs://, s3a://).")],
    output: OutputTable,
    extract_date: ExtractDate = None,
    engine: EngineOption = Engine.single,
    master: MasterOption = None,
    conf: ConfOption = None,
) -> None:
    """Validate an extract and build its point-in-time feature table and manifest."""
    prepare_command_process()
    check_engine_options(engine, master, conf)
    # A string, not a Path: a Path would fold a URI's `//` (hdfs://host/x -> hdfs:/host/x).
    if not output.endswith(".parquet"):
        fail(f"{output}: the feature table is written as Parquet; use a .parquet file name")
    if engine is Engine.single:  # before the work (Spark's writer judges its own paths)
        from data_contracts.output_paths import file_place_refusal

        refusal = file_place_refusal(Path(output), what="feature table")
        if refusal:
            fail(refusal)
    started = time.perf_counter()
    day = parse_date_option(extract_date)
    manifest = manifest_path_for(output)
    if engine is Engine.spark:
        rows, quarantined, unlinked = _spark_features(input, output, day, master=master,
                                                      conf=conf or [], manifest=manifest)
    else:
        rows, quarantined, unlinked = _single_features(Path(input), Path(output), day)
        from pipelines.manifest import write_manifest

        write_manifest(Path(manifest))
    from pipelines.manifest import FEATURE_NAMES

    console.print(
        f"{rows:,} referrals x {len(FEATURE_NAMES):,} features -> {output} "
        f"(manifest {manifest.rsplit('/', 1)[-1]}) in {time.perf_counter() - started:.1f} s"
    )
    for note in (quarantine_note(quarantined, input, extract_date=day),
                 household_note(unlinked, quarantined)):
        if note:
            console.print(note, soft_wrap=True)  # the path whole, never cropped to "..."


def _single_features(input: Path, output: Path, day: dt.date | None
                     ) -> tuple[int, dict[str, int], bool]:
    """Referrals written, rows quarantined per feed, and whether no household member
    was linked (`data_contracts.report.without_household_members`)."""
    from data_contracts import FeedRejected, validate_extract
    from data_contracts.report import without_household_members
    from pipelines.features import build_features

    with stage_progress(console) as progress:
        task = progress.add_task("validating feeds", total=None)
        try:
            validated = validate_extract(input, extract_date=day, count_persons=False)
        except FeedRejected as exc:
            fail(str(exc))
        feeds, quarantined = validated.feeds, validated.quarantined_rows()
        unlinked = without_household_members(feeds)  # before the feeds are released
        del validated  # the feeds are released once encoded (not held beside the matrix)
        table = build_features(feeds, release=True,
                               progress=lambda stage: progress.update(task, description=stage))
        progress.update(task, description="writing")
        output.parent.mkdir(parents=True, exist_ok=True)
        table.to_parquet(output, index=False)
    return len(table), quarantined, unlinked


def _spark_features(input: str, output: str, day: dt.date | None, *, master: str | None,
                    conf: list[str], manifest: str) -> tuple[int, dict[str, int], bool]:
    try:
        from pipelines.spark.errors import SessionRefused, SparkOutOfMemory
        from pipelines.spark.session import parse_settings
    except ImportError:
        fail("--engine spark needs the spark extra: pip install 'safeguard-risk[spark]'")
    from data_contracts import FeedRejected
    from pipelines.spark.job import write_spark_features

    try:
        settings = parse_settings(conf)
    except ValueError as exc:
        fail(f"--conf: {exc}")
    try:
        extract = write_spark_features(input, output, master=master, settings=settings,
                                       extract_date=day, manifest=manifest)
    except (FeedRejected, SessionRefused, SparkOutOfMemory) as exc:
        fail(str(exc))
    from data_contracts.report import without_household_members

    return (len(extract.feeds["referrals"]), extract.quarantined_rows(),
            without_household_members(extract.feeds))


def register(app: typer.Typer) -> None:
    """Add this layer's commands to the `safeguard` app."""
    app.command("synth")(synth)
    app.command("features")(features)
