"""`generate_extract`: draw a synthetic extract and write it, its truth and its corruptions."""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from rich.table import Table

from data_contracts.vocab import EVENT_FEEDS, FEED_FORMATS, FEEDS
from pipelines.synth.config import SynthConfig, spawn_generators
from pipelines.synth.corrupt import Corruption, corrupt_tables
from pipelines.synth.model import SyntheticData, generate_data
from pipelines.synth.planted import PLANTED_SUFFIX, write_planted
from pipelines.synth.tables import extract_tables, referral_ids, truth_table
from pipelines.synth.writer import write_corruptions, write_feed, write_truth

logger = logging.getLogger(__name__)

TRUTH_SUFFIX = ".truth.parquet"
CORRUPTIONS_SUFFIX = ".corruptions.csv"
WRITE_THREADS = 2  # the feeds are written this many at a time


@dataclass(frozen=True)
class ExtractSummary:
    """What ``generate_extract`` wrote."""

    out_dir: Path
    truth_path: Path
    corruptions_path: Path
    planted_path: Path
    rows: dict[str, int]
    n_corruptions: int
    base_rate: float  # share labelled 1 among referrals with complete follow-up
    incomplete_share: float
    intercepts: tuple[float, float]  # children's, adults at risk's
    seconds: float

    @property
    def event_rows(self) -> int:
        """Rows over all agency event feeds."""
        return sum(self.rows[feed] for feed in EVENT_FEEDS)

    def as_rich_table(self) -> Table:
        """A table for the terminal."""
        table = Table(title=f"Synthetic extract in {self.out_dir}")
        table.add_column("feed")
        table.add_column("rows", justify="right")
        for feed, rows in self.rows.items():
            table.add_row(feed, f"{rows:,}")
        table.add_row("injected broken rows", f"{self.n_corruptions:,}")
        table.add_row("base rate (follow-up complete)", f"{self.base_rate:.3f}")
        table.add_row("incomplete follow-up", f"{self.incomplete_share:.3f}")
        table.add_row("truth file (never train on it)", str(self.truth_path))
        table.add_row("corruptions file", str(self.corruptions_path))
        table.add_row("planted disparities file", str(self.planted_path))
        table.add_row("seconds", f"{self.seconds:.1f}")
        return table


def beside(out_dir: Path, suffix: str) -> Path:
    """A path next to the extract directory: ``<out_dir><suffix>``."""
    return out_dir.parent / (out_dir.name + suffix)


def _check_outside(out_dir: Path, path: Path) -> None:
    if path.resolve().is_relative_to(out_dir.resolve()):
        raise ValueError(f"{path} must be outside the extract directory {out_dir}")


def _clear_stale_feeds(out_dir: Path) -> None:
    """Remove feed files a previous run may have left, in either format."""
    for feed in FEEDS:
        for file_format in FEED_FORMATS:
            (out_dir / f"{feed}.{file_format}").unlink(missing_ok=True)


def generate_extract(
    config: SynthConfig,
    out_dir: Path,
    *,
    truth_path: Path | None = None,
    data: SyntheticData | None = None,
) -> ExtractSummary:
    """Generate a synthetic extract into ``out_dir``; truth, corruptions and planted go beside it.

    Args:
        config: What to generate.
        out_dir: The extract directory (created).
        truth_path: Truth file; by default ``<out_dir>.truth.parquet`` beside ``out_dir``.
        data: What ``generate_data(config)`` returned, when the caller already has it.

    Returns:
        Row counts and headline figures of what was written.

    Raises:
        ValueError: If the truth file would land inside the extract directory.
    """
    started = time.perf_counter()
    out_dir = Path(out_dir)
    truth_path = Path(truth_path) if truth_path else beside(out_dir, TRUTH_SUFFIX)
    corruptions_path = beside(out_dir, CORRUPTIONS_SUFFIX)
    planted_path = beside(out_dir, PLANTED_SUFFIX)
    _check_outside(out_dir, truth_path)
    data = data if data is not None else generate_data(config)
    tables = extract_tables(data)
    corruptions: list[Corruption] = []
    if config.corrupt:
        rng = spawn_generators(config.seed, ("model", "corrupt"))["corrupt"]
        tables, corruptions = corrupt_tables(
            tables, event_share=config.corrupt_event_share, rng=rng
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    _clear_stale_feeds(out_dir)
    # Arrow writes without the GIL: the feeds (independent files) are written side by side.
    with ThreadPoolExecutor(max_workers=WRITE_THREADS) as pool:
        written = [
            pool.submit(write_feed, table, out_dir, feed=feed, file_format=config.file_format)
            for feed, table in tables.items()
        ]
        write_truth(truth_table(data, referral_ids(data.referrals.size)), truth_path)
        for future in written:
            future.result()
    write_corruptions(corruptions, corruptions_path)
    write_planted(data.planted, planted_path, config=config)
    complete = data.truth.follow_up_complete
    summary = ExtractSummary(
        out_dir=out_dir,
        truth_path=truth_path,
        corruptions_path=corruptions_path,
        planted_path=planted_path,
        rows={feed: table.num_rows for feed, table in tables.items()},
        n_corruptions=len(corruptions),
        base_rate=float(data.truth.label[complete].mean()) if complete.any() else float("nan"),
        incomplete_share=float(1 - complete.mean()),
        intercepts=data.intercepts,
        seconds=time.perf_counter() - started,
    )
    logger.info("wrote %d feeds to %s in %.1f s", len(tables), out_dir, summary.seconds)
    return summary


__all__ = ["ExtractSummary", "generate_extract"]
