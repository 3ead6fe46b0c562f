"""Finding an extract's feed files in its folder, and what an ignored file was meant to be.

A feed file is named after its feed, in a format the contract accepts
(``events_police.csv``, ``referrals.parquet``), case not minded; anything else in the
folder is listed as ignored, with a hint when it looks like a feed's file misnamed. The
files found are measured and read by `data_contracts.reading`.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from data_contracts.errors import FeedRejected
from data_contracts.vocab import AGENCIES, FEED_FORMATS, FEEDS, event_feed


@dataclass(frozen=True)
class ExtractFiles:
    """The feed files found in an input directory."""

    feeds: dict[str, Path] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)


def feed_named(file_name: str) -> str | None:
    """The feed a file of this name holds (``events_police.csv`` -> ``events_police``),
    or None when the name is not a feed's in a format the contract accepts.

    Case is not minded, in the feed's name as in its format (``Events_Police.CSV``): a
    system that writes names in capitals would otherwise have its feed ignored, and the
    practitioner told that the agency shared nothing.
    """
    stem, _, suffix = file_name.lower().rpartition(".")
    return stem if stem in FEEDS and suffix in FEED_FORMATS else None


def feed_file_meant(file_name: str) -> str | None:
    """The feed file an ignored file was likely meant to be, for a hint: a feed's name
    written with other separators (``events-police.csv``), nearly (``referral.csv``), as
    its agency's (``police.csv``) or in another format (``events_police.xlsx``, which
    suggests ``events_police.csv``); None when it looks like no feed."""
    stem, dot, suffix = file_name.lower().rpartition(".")
    if not dot:
        stem, suffix = suffix, ""
    stem = re.sub(r"[\s.-]+", "_", stem.strip())
    if stem in AGENCIES:
        stem = event_feed(stem)
    close = difflib.get_close_matches(stem, FEEDS, n=1, cutoff=0.8)
    if not close:
        return None
    return f"{close[0]}.{suffix if suffix in FEED_FORMATS else FEED_FORMATS[0]}"


def missing_feed_meant(file_name: str, missing: Collection[str]) -> str | None:
    """The feed file an ignored file was likely meant to be (`feed_file_meant`), when that
    feed is one of the `missing` (the warning every command gives and `validate`'s
    summary both ask this)."""
    meant = feed_file_meant(file_name)
    return meant if meant is not None and feed_named(meant) in missing else None


def not_a_folder(*, exists: bool) -> str:
    """Why an ``--input`` that is no folder is refused (`exists`: it names a file)."""
    if exists:
        return "is a file, not the extract's directory (the folder holding its feeds)"
    return "input directory not found"


def find_feed_files(input_dir: Path) -> ExtractFiles:
    """Map feed names to files; anything else in the directory is listed as ignored.

    Raises:
        FeedRejected: The directory is missing, or a feed comes in two formats.
    """
    if not input_dir.is_dir():
        raise FeedRejected(str(input_dir), not_a_folder(exists=input_dir.exists()))
    feeds: dict[str, Path] = {}
    ignored: list[str] = []
    for path in sorted(input_dir.iterdir()):
        # A folder (a Spark export's Parquet parts) or other non-file named as a feed is
        # the feed, refused when measured: ignoring it said that agency shared nothing.
        feed = feed_named(path.name)
        if feed is None:
            ignored.append(path.name)
        elif feed in feeds:
            raise FeedRejected(path.name, f"feed '{feed}' given twice ({feeds[feed].name} too)")
        else:
            feeds[feed] = path
    return ExtractFiles(feeds=feeds, ignored=ignored)
