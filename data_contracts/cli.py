"""Commands of the data contracts layer: ``safeguard validate`` and ``safeguard pseudonymise``.

Heavy libraries (pandas, pyarrow, pandera) are imported inside the commands so that
assembling the ``safeguard`` app stays fast.
"""

from __future__ import annotations

import datetime as dt
import gc
import logging
import os
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final, NoReturn

import typer
from typer.core import TyperGroup, TyperOption

from data_contracts.vocab import DATE_SHAPE

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

logger = logging.getLogger(__name__)

InputDir = Annotated[Path, typer.Option("--input", help="Directory holding the extract's feeds.")]
ReportDir = Annotated[
    Path, typer.Option("--report", help="Directory for validation.json and quarantine/.")
]
ExtractDate = Annotated[
    str | None,
    typer.Option("--extract-date",
                 help="Day the extract was taken (YYYY-MM-DD); default: from the data."),
]
KeyFile = Annotated[
    Path | None,
    typer.Option("--key-file", help="File holding the key (else $SAFEGUARD_PSEUDONYMISATION_KEY)."),
]
MaxFeedBytes = Annotated[
    int | None,
    typer.Option("--max-feed-bytes", min=1, show_default=False,
                 help="Refuse a feed file larger than this many bytes "
                      "(default $SAFEGUARD_MAX_FEED_BYTES, else 1 GiB)."),
]
Columns = Annotated[str, typer.Option("--columns", help="Comma-separated columns to pseudonymise.")]
# Test tools of the dev extra that libraries import whenever they are installed:
# scikit-learn's test helpers (imported by skops when it loads a model) import pytest,
# and pandera's built-in checks import hypothesis for data strategies. No command uses
# them; they are about 190 modules.
TEST_TOOLS: Final = ("pytest", "hypothesis")
# Allocations (less deallocations) of container objects between two young collections;
# Python's default is 700. See `collect_garbage_less_often`.
YOUNG_COLLECTION_THRESHOLD: Final = 50_000


def skip_test_tools() -> None:
    """In a command's process, make the test tools look not installed to the libraries
    that would import them; nothing changes under a test run (pytest already imported)."""
    if any(name in sys.modules for name in TEST_TOOLS):
        return
    for name in TEST_TOOLS:
        sys.modules[name] = None  # type: ignore[assignment]  # the import system's "absent"


def collect_garbage_less_often() -> None:
    """Let Python's cycle collector run less often (a young collection every 50,000 new
    container objects, not 700), in a process that imports a few hundred thousand
    objects' worth of libraries and keeps them: each full collection walks them all.
    `safeguard score --no-explanations` on 100,000 referrals ran 6 full collections
    (0.5-1.1 s of CPU, timed with `gc.callbacks`), with this none, and collecting took
    0.12 s in all; the peak memory was the same (the run leaves almost no cycles)."""
    young, middle, old = gc.get_threshold()
    gc.set_threshold(max(young, YOUNG_COLLECTION_THRESHOLD), max(middle, 20), old)


def small_pages_for_numpy() -> None:
    """NumPy's large arrays in ordinary 4 KiB pages, not the 2 MiB huge pages it asks
    the kernel for by default: the build allocates and frees arrays of tens of megabytes
    by the hundred, and the kernel clears a whole huge page on first touch (system time
    in ``clear_page_erms``). 100,000 referrals, alternating: `safeguard features` 1.9 s
    of system time against 2.7 s, `safeguard score --no-explanations` 1.9-2.1 s against
    2.8-2.9 s, user time and peak memory the same. ``NUMPY_MADVISE_HUGEPAGE`` still
    wins."""
    if "NUMPY_MADVISE_HUGEPAGE" in os.environ:
        return
    from numpy._core.multiarray import (  # type: ignore[attr-defined]  # NumPy start-up calls it
        _set_madvise_hugepage,
    )

    _set_madvise_hugepage(False)


def prepare_command_process() -> None:
    """What a command that reads an extract sets first: no test tools, fewer garbage
    collections (`collect_garbage_less_often`), small pages (`small_pages_for_numpy`),
    and Arrow's jemalloc pool, which hands freed memory back to the system where mimalloc
    (the default) kept it: `safeguard features` on 100,000 referrals peaked at 1.16 GiB
    against 1.33 GiB, for the same CPU time. ``ARROW_DEFAULT_MEMORY_POOL`` still wins."""
    skip_test_tools()
    collect_garbage_less_often()
    small_pages_for_numpy()
    import pyarrow as pa

    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        return
    try:
        pa.set_memory_pool(pa.jemalloc_memory_pool())
    except NotImplementedError:  # a pyarrow built without jemalloc keeps its default
        logger.debug("pyarrow has no jemalloc pool; keeping %s",
                     pa.default_memory_pool().backend_name)


class QuickHelpGroup(TyperGroup):
    """A command group whose own ``--help`` flag, when not given, reads as False.

    Typer leaves it None, and checking a None flag builds a pydantic validator, so
    ``safeguard validate --help`` imported pydantic (about 0.15 s) just to print help.
    """

    def get_help_option(self, ctx: Any) -> TyperOption | None:  # Typer's own click Context
        option = super().get_help_option(ctx)
        if option is not None and option.default is None:
            option.default = False
        return option


def stage_progress(console: Console) -> Progress:
    """A spinner naming the stage under way, with the time taken, drawn on a terminal and
    erased when done (as a `console.status`). Piped or captured it is off: Rich's progress
    then wrote an empty line to standard output as it stopped, and a refusal is one line
    on standard error, nothing else."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    return Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                    console=console, transient=True, disable=not console.is_interactive)


def fail(message: str, *, lines: bool = False) -> NoReturn:
    """End a command with a one-line `error: ...` on stderr and exit code 1; with `lines`,
    one line for each of the message's (an approval's refusal: one per threshold unmet)."""
    shown = [" ".join(line.split()) for line in message.splitlines()] if lines else [
        " ".join(message.split())]
    typer.echo("error: " + "\n".join(line for line in shown if line), err=True)
    raise typer.Exit(code=1)


def parse_date_option(text: str | None, option: str = "--extract-date") -> dt.date | None:
    """A date option (`--extract-date` unless named) as a date, or a one-line error.

    An extract date after today is refused: an extract cannot be taken in the future,
    and referrals whose follow-up is not complete would be trained on as negatives."""
    if text is None:
        return None
    # The shape first: strptime alone takes 2025-6-30, and fromisoformat 20250630.
    try:
        day = dt.date.fromisoformat(text) if re.fullmatch(DATE_SHAPE, text) else None
    except ValueError:  # the shape, but no calendar day: 2025-02-30
        day = None
    if day is None:
        fail(f"{option} must be a date YYYY-MM-DD, got '{text}'")
    if option == "--extract-date" and day > dt.date.today():
        fail(f"--extract-date {day} is after today ({dt.date.today()}): an extract is taken "
             "on or before the day it is read")
    return day


def validate(
    input_dir: InputDir,
    report_dir: ReportDir,
    extract_date: ExtractDate = None,
    max_feed_bytes: MaxFeedBytes = None,
) -> None:
    """Validate an extract: write validation.json and quarantine files, print a summary."""
    prepare_command_process()
    from rich.console import Console

    from data_contracts.errors import FeedRejected
    from data_contracts.report import write_validation_report
    from data_contracts.summary import print_summary
    from data_contracts.validate import validate_extract

    when = parse_date_option(extract_date)
    try:  # an optional feed refused is set aside: the others are checked and reported
        result = validate_extract(input_dir, extract_date=when, max_feed_bytes=max_feed_bytes,
                                  set_aside_refused=True)
        write_validation_report(result, report_dir)
    except FeedRejected as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"{report_dir}: cannot write the report ({exc.strerror or exc})")
    print_summary(Console(), result.report)
    quarantined = sum(entry["quarantined"] for entry in result.report["feeds"].values())
    if quarantined:
        noun = "row" if quarantined == 1 else "rows"
        typer.echo(f"{quarantined:,} {noun} quarantined: see {report_dir / 'quarantine'}")
    if result.refused:  # the report is written, and the extract is still not usable
        first, *others = result.refused.values()
        more = ""
        if others:
            more = f"{len(others)} more feed{'s' if len(others) > 1 else ''} refused; "
        fail(f"{first} ({more}every other feed checked: see {report_dir / 'validation.json'})")


def pseudonymise(
    input_path: Annotated[Path, typer.Argument(metavar="IN", help="CSV or Parquet file.")],
    output_path: Annotated[Path, typer.Argument(metavar="OUT", help="CSV or Parquet file.")],
    columns: Columns = "person_id,household_id",
    key_file: KeyFile = None,
) -> None:
    """Replace identifier columns with HMAC-SHA256 tokens (the key is never printed)."""
    from data_contracts.pseudonymise import PseudonymisationError, load_key, pseudonymise_file

    names = [c.strip() for c in columns.split(",") if c.strip()]
    if not names:
        fail("--columns names no column")
    try:
        key = load_key(key_file)
        rows = pseudonymise_file(input_path, output_path, columns=names, key=key)
    except PseudonymisationError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"{output_path}: cannot write ({exc.strerror or exc})")
    typer.echo(f"pseudonymised {', '.join(names)} in {rows:,} rows -> {output_path}")


def register(app: typer.Typer) -> None:
    """Add ``validate`` and ``pseudonymise`` to the ``safeguard`` app."""
    app.command("validate")(validate)
    app.command("pseudonymise")(pseudonymise)
