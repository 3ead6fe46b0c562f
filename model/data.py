"""From an extract directory to the frames training and scoring need."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pandas as pd

from data_contracts import validate_extract
from data_contracts.report import agencies_without_records, without_household_members
from data_contracts.vocab import HOUSEHOLD_MEMBERS, OUTCOMES, REFERRALS
from model.feed_notices import feed_notices
from model.late_warning import FeedNotice
from pipelines.features import build_features
from pipelines.labels import build_labels

Progress = Callable[[str], None]


@dataclass(frozen=True)
class PreparedExtract:
    """A validated extract with its point-in-time features (and labels when it has outcomes)."""

    feeds: dict[str, pd.DataFrame]
    features: pd.DataFrame
    labels: pd.DataFrame | None
    extract_date: dt.date
    input_dir: Path
    quarantined_rows: dict[str, int]  # rows quarantined per feed (feeds with any)
    shared_nothing: tuple[str, ...]  # the agencies with no accepted record (in AGENCIES order)
    without_household: bool = False  # no household membership accepted: none linked
    # What validation warned of the extract's date (`data_contracts.extract_date`: a date
    # taken from the data that stands alone), for the training report and the card.
    date_warnings: tuple[str, ...] = ()
    # Of the agencies whose records arrive late in it, or that stopped recording
    # (`model.feed_notices`): what a score of its referrals is told.
    notices: tuple[FeedNotice, ...] = ()

    @property
    def quarantined(self) -> int:
        """Rows quarantined, every feed together."""
        return sum(self.quarantined_rows.values())

    @cached_property
    def fingerprint(self) -> str:
        """Which data a model was trained on; hashed when first asked (training asks,
        scoring does not: it would read every byte of the extract once more)."""
        return extract_fingerprint(self.input_dir)

    @property
    def members(self) -> pd.DataFrame | None:
        """Household membership, when the extract has it."""
        return self.feeds.get(HOUSEHOLD_MEMBERS)


def extract_fingerprint(input_dir: Path) -> str:
    """SHA-256 over the extract's file names and bytes: which data a model was trained on."""
    digest = hashlib.sha256()
    for path in sorted(p for p in input_dir.iterdir() if p.is_file()):
        digest.update(path.name.encode() + b"\0")
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def prepare_extract(input_dir: Path, *, extract_date: dt.date | None = None,
                    with_labels: bool = True, keep_feeds: bool = True,
                    progress: Progress | None = None) -> PreparedExtract:
    """Validate an extract and build its features, and its labels when asked.

    With ``keep_feeds=False`` (scoring: no labels) the validated feeds are let go once
    encoded, as `safeguard features` does, and `PreparedExtract.feeds` is empty: the
    feature build then runs without them beside it (100,000 referrals: about 0.45 GiB
    less at the peak).

    Raises:
        FeedRejected: when the extract cannot be used at all (a missing required feed,
            unreadable files): the message names the problem.
        ValueError: labels asked for without keeping the feeds they come from.
    """
    if with_labels and not keep_feeds:
        raise ValueError("labels are built from the feeds: keep them (keep_feeds=True)")

    def say(stage: str) -> None:
        if progress is not None:
            progress(stage)

    say("validating the extract")
    validated = validate_extract(input_dir, extract_date=extract_date, count_persons=False)
    shared_nothing = agencies_without_records(validated.feeds)  # before any feed is let go
    notices = feed_notices(validated.feeds, extract_date=validated.extract_date)
    date_warning = validated.report["extract_date_warning"]  # `validation.json`'s
    without_household = without_household_members(validated.feeds)
    say("building point-in-time features")
    features = build_features(validated.feeds, progress=progress, release=not keep_feeds)
    labels = None
    if with_labels:
        say("labelling outcomes")
        labels = build_labels(validated.feeds[REFERRALS], validated.feeds.get(OUTCOMES),
                              validated.extract_date)
    return PreparedExtract(validated.feeds, features, labels, validated.extract_date,
                           input_dir, validated.quarantined_rows(), shared_nothing,
                           without_household, (date_warning,) if date_warning else (), notices)
