"""Validation of a whole extract: the entry points other layers call.

Flow: read every feed as strings -> refuse direct identifiers and missing columns ->
parse to canonical dtypes -> settle the extract date (when not given, the latest date
of the rows that break no rule: :func:`infer_extract_date`) -> run each feed's schema
(referrals first, since outcomes must name an accepted referral) -> report.

Canonical dtypes of accepted frames: strings ``string[pyarrow]`` (missing is
``pd.NA``), dates ``datetime64[ns]`` (``recorded_date`` NaT when empty),
``value`` float64 (NaN when empty), ``age_years`` int64, ``imd_decile`` Int64,
``disability`` bool.

A repeated ``referral_id`` (among the rows passing every other rule): rows holding the
same values keep the first in file order, the later ones are quarantined; rows that
differ are all quarantined (:func:`data_contracts.checking.key_failures`).
"""

from __future__ import annotations

import datetime as dt
import logging
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from data_contracts.checking import ParsedFeed, parse_feed
from data_contracts.errors import FeedRejected
from data_contracts.extract_date import infer_extract_date
from data_contracts.extract_date import referral_dates as referral_dates_of
from data_contracts.feed_files import ExtractFiles, find_feed_files, missing_feed_meant
from data_contracts.feed_threads import each_feed, in_order, status
from data_contracts.quarantining import check_feed, check_provisionally
from data_contracts.reading import (
    check_feed_size,
    feed_size_limit,
    frame_to_strings,
    read_table,
    table_to_strings,
)
from data_contracts.refusals import FeedRefusals
from data_contracts.report import build_report, feed_entry
from data_contracts.rules import AFTER_EXTRACT_DATE
from data_contracts.schemas import feed_schema
from data_contracts.vocab import FEED_COLUMNS, FEEDS, OUTCOMES, REFERRALS, REQUIRED_FEEDS

logger = logging.getLogger(__name__)

__all__ = ["ValidatedExtract", "infer_extract_date", "validate_extract", "validate_frames"]

@dataclass(frozen=True)
class ValidatedExtract:
    """The result of validating an extract.

    Attributes:
        feeds: Accepted rows per feed, canonical dtypes; absent feeds are absent keys.
        quarantine: Rejected rows per feed, as read (strings), plus a ``reason`` column.
        report: Exactly what goes into ``validation.json``.
        extract_date: The extract date used for the date rules.
        refused: Optional feeds refused and set aside (never loaded), by feed, in feed
            order: only when asked for (`validate_extract`); otherwise a refusal raises.
    """

    feeds: dict[str, pd.DataFrame]
    quarantine: dict[str, pd.DataFrame]
    report: dict[str, Any]
    extract_date: dt.date
    refused: dict[str, FeedRejected] = field(default_factory=dict)

    def quarantined_rows(self) -> dict[str, int]:
        """Rows quarantined per feed, for the feeds that had any."""
        return {feed: len(rows) for feed, rows in self.quarantine.items() if len(rows)}


def _validate_raw(
    raw_feeds: dict[str, tuple[str, pd.DataFrame]],
    *,
    extract_date: dt.date | None,
    ignored_files: list[str],
    refusals: FeedRefusals,
    progress: bool = False,
    count_persons: bool = True,
) -> ValidatedExtract:
    """Validate raw feeds; ``raw_feeds`` is emptied as they are parsed.

    A feed's raw and parsed frames are let go as soon as it is checked, so the largest
    extract never holds every feed's raw, parsed and accepted copies at once (for
    100,000 referrals that was the command's peak, 1.33 GiB, at the last feed checked).
    """
    missing = [feed for feed in REQUIRED_FEEDS if feed not in raw_feeds]
    if missing:
        raise FeedRejected(missing[0], "required feed missing from the extract")
    source, referrals = raw_feeds[REFERRALS]
    if referrals.empty:  # other feeds may be empty: that agency shared no record
        raise FeedRejected(source, "holds no referral (a header row only): nothing to validate")
    del referrals

    today = dt.date.today()
    passing: dict[str, np.ndarray] = {}

    def parse(feed: str) -> ParsedFeed:
        source, raw = raw_feeds.pop(feed)
        parsed_feed = parse_feed(feed, source, raw, feed_schema(feed))
        if extract_date is None and feed != OUTCOMES:  # outcomes' rules read the referrals'
            schema = feed_schema(feed, extract_date=today)
            passing[feed] = check_provisionally(parsed_feed, schema)
        return parsed_feed

    present = [feed for feed in FEEDS if feed in raw_feeds]
    parsed = each_feed(parse, present, refusals=refusals, progress=progress,
                       message="parsing the feeds")
    date_warning = None
    if extract_date is None:
        inferred = infer_extract_date(parsed, today, passing=passing)
        extract_date, date_warning = inferred.day, inferred.warning
        if date_warning:
            logger.warning("%s", date_warning)
    checked: dict[str, tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]] = {}

    def check(feed: str) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
        parsed_feed = parsed.pop(feed)  # let go once checked
        referral_dates = (referral_dates_of(checked[REFERRALS][0]) if feed == OUTCOMES
                          else None)
        schema = feed_schema(feed, extract_date=extract_date, referral_dates=referral_dates)
        accepted, rejected = check_feed(parsed_feed, schema, extract_date=extract_date)
        entry = feed_entry(parsed_feed, accepted, rejected,
                           {REFERRALS: checked[REFERRALS][0]} if feed == OUTCOMES else {},
                           count_persons=count_persons)
        logger.info("%s: %s", feed, {k: entry[k] for k in ("read", "accepted")})
        return accepted, rejected, entry

    # Two feeds at a time, as they were parsed; outcomes last, since their rules read the
    # accepted referrals.
    order = list(parsed)
    first = [feed for feed in order if feed != OUTCOMES]
    results = in_order(check, first, progress=progress, message="checking the feeds")
    checked.update(zip(first, results, strict=True))
    if OUTCOMES in parsed:
        with status(progress, "checking the outcomes"):
            checked[OUTCOMES] = check(OUTCOMES)
    feeds = {feed: checked[feed][0] for feed in order}
    quarantine = {feed: checked[feed][1] for feed in order}
    entries = {feed: checked.pop(feed)[2] for feed in order}
    refused = refusals.in_feed_order()
    report = build_report(extract_date=extract_date, entries=entries, feeds=feeds,
                          ignored_files=ignored_files, refused=refused,
                          extract_date_warning=date_warning)
    return ValidatedExtract(feeds, quarantine, report, extract_date, refused)


def validate_extract(
    input_dir: Path,
    *,
    extract_date: dt.date | None = None,
    progress: bool = False,
    max_feed_bytes: int | None = None,
    count_persons: bool = True,
    set_aside_refused: bool = False,
) -> ValidatedExtract:
    """Validate the extract in ``input_dir`` (one ``<feed>.csv`` or ``.parquet`` per feed).

    Every feed file is measured before any is read: an empty one, or one over the
    limit, is refused at once.

    Args:
        input_dir: Directory holding the feed files; other files are ignored and listed.
        extract_date: Day the extract was taken; inferred from its dates when None.
        progress: Show a progress spinner on stderr.
        max_feed_bytes: The most bytes a feed file may hold; when None,
            :func:`data_contracts.reading.feed_size_limit` ($SAFEGUARD_MAX_FEED_BYTES, 1 GiB).
        count_persons: Count each feed's distinct persons for the report (``persons``, and
            the agency coverage's); else they are None. Only the report needs them, and
            counting hashes every identifier once more (0.4-0.5 s for 100,000 referrals):
            the commands that build features from the feeds, and never write the report,
            skip it. What is accepted or quarantined is the same either way.
        set_aside_refused: An optional feed refused (:mod:`data_contracts.refusals`) is
            set aside, listed in ``refused`` and the report, and the other feeds are
            validated; else (the commands that build on the extract) it refuses the
            extract.

    Raises:
        FeedRejected: The extract cannot be used (see the message, one line); unless
            ``set_aside_refused``, also when no referral row was accepted.
    """
    files = find_feed_files(Path(input_dir))
    if REFERRALS not in files.feeds:
        raise FeedRejected(
            str(input_dir), "required feed 'referrals' missing (referrals.csv or referrals.parquet)"
        )
    _warn_misnamed(files)
    limit = feed_size_limit() if max_feed_bytes is None else max_feed_bytes
    refusals = FeedRefusals(set_aside=set_aside_refused)
    paths = {feed: files.feeds[feed] for feed in FEEDS if feed in files.feeds}
    for feed, path in list(paths.items()):
        try:
            check_feed_size(path, limit)
        except FeedRejected as refusal:
            refusals.refuse(feed, refusal)
            del paths[feed]

    def read(feed: str) -> tuple[str, pd.DataFrame]:
        table = read_table(paths[feed], max_bytes=limit, keep_ragged=True,
                           one_line=FEED_COLUMNS[feed])
        return paths[feed].name, table_to_strings(table, paths[feed].name)

    raw_feeds = each_feed(read, list(paths), refusals=refusals, progress=progress,
                          message="reading the feeds")
    result = _validate_raw(raw_feeds, extract_date=extract_date, ignored_files=files.ignored,
                           refusals=refusals, progress=progress, count_persons=count_persons)
    if not set_aside_refused and result.feeds[REFERRALS].empty:
        raise FeedRejected(paths[REFERRALS].name, no_referral_accepted(
            result, input_dir, given=extract_date is not None))
    return result


def _warn_misnamed(files: ExtractFiles) -> None:
    """Warn of each ignored file that looks like a feed the extract lacks: every command
    then says so on standard error, not only `validate`'s summary (`score` said only that
    the police "shared no records" beside an ignored `events_police.csv.gz`)."""
    missing = [feed for feed in FEEDS if feed not in files.feeds]
    for name in files.ignored:
        if meant := missing_feed_meant(name, missing):
            logger.warning("%s ignored: not a feed file's name (did you mean %s?); the "
                           "extract is read without that feed", name, meant)


def no_referral_accepted(result: ValidatedExtract, input_dir: Path, *, given: bool) -> str:
    """Why a command that builds on the extract refuses it when every referral row was
    quarantined: its output would be empty (until 6 December the command wrote an empty
    table and succeeded), and a wrong extract date is the likeliest cause. The validate
    command named carries the extract date when it was `given`."""
    reasons = result.quarantine[REFERRALS]["reason"].astype(str)
    commonest = reasons.value_counts()
    dated = f" --extract-date {result.extract_date}" if given else ""
    late = reasons.str.contains(AFTER_EXTRACT_DATE, regex=False).sum()
    why = (f" Is the extract date, {result.extract_date}, right? A date after it is a bad row "
           f"({late:,} of them)." if late else "")
    return (f"no referral was accepted (all {len(reasons):,} rows quarantined; the commonest "
            f"reason: {commonest.index[0]}, {commonest.iloc[0]:,} rows), so there is nothing "
            f"to build on.{why} `safeguard validate --input {shlex.quote(str(input_dir))}"
            f"{dated} --report DIR` lists each row with its reason")


def validate_frames(
    frames: Mapping[str, pd.DataFrame], *, extract_date: dt.date | None = None
) -> ValidatedExtract:
    """Validate in-memory raw frames (all-string or typed) with the same rules.

    Args:
        frames: Frames by feed name; unknown names are ignored and listed.
        extract_date: Day the extract was taken; inferred from its dates when None.

    Raises:
        FeedRejected: The extract cannot be used (see the message, one line).
    """
    raw_feeds = {
        feed: (feed, frame_to_strings(frame, feed))
        for feed, frame in frames.items()
        if feed in FEEDS
    }
    ignored = [str(name) for name in frames if name not in FEEDS]
    return _validate_raw(raw_feeds, extract_date=extract_date, ignored_files=ignored,
                         refusals=FeedRefusals())
