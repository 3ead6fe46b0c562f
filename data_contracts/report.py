"""The validation report (``validation.json``) and quarantine files.

Beyond the keys the specification's tooling expects, each feed entry also lists
``ignored_columns`` (columns not in the specification: not loaded, nor copied to the
quarantine file, which names them in its folder's ``README.txt`` without their cells) and
``absent_optional_columns`` (optional columns the file did not carry, read as empty).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from data_contracts.csv_output import write_csv
from data_contracts.reading import is_in
from data_contracts.vocab import (
    AGENCIES,
    FEEDS,
    HOUSEHOLD_MEMBERS,
    OUTCOMES,
    REFERRALS,
    SPEC_VERSION,
    event_feed,
)

if TYPE_CHECKING:
    import datetime as dt

    from data_contracts.checking import ParsedFeed
    from data_contracts.errors import FeedRejected
    from data_contracts.validate import ValidatedExtract

logger = logging.getLogger(__name__)


def _persons(feed: str, accepted: pd.DataFrame, feeds: Mapping[str, pd.DataFrame]) -> int:
    """Distinct persons in an accepted feed (outcomes: the persons of their referrals)."""
    if "person_id" in accepted.columns:
        return int(accepted["person_id"].nunique())
    if feed == OUTCOMES and REFERRALS in feeds:
        referrals = feeds[REFERRALS]
        named = is_in(referrals["referral_id"], accepted["referral_id"])
        return int(referrals.loc[named, "person_id"].nunique())
    return 0


def feed_entry(
    parsed: ParsedFeed,
    accepted: pd.DataFrame,
    quarantine: pd.DataFrame,
    feeds: Mapping[str, pd.DataFrame],
    *,
    count_persons: bool = True,
) -> dict[str, Any]:
    """Report entry of one feed; ``read == accepted + quarantined`` holds by construction.
    ``persons`` is None when not counted (see `data_contracts.validate_extract`)."""
    counts = quarantine["reason"].value_counts(sort=True)
    return {
        "read": len(parsed.raw),
        "accepted": len(accepted),
        "quarantined": len(quarantine),
        "reasons": {str(reason): int(n) for reason, n in counts.items()},
        "file": parsed.source,
        "persons": _persons(parsed.feed, accepted, feeds) if count_persons else None,
        "ignored_columns": parsed.ignored_columns,
        "absent_optional_columns": parsed.absent_columns,
    }


def agencies_without_records(feeds: Mapping[str, pd.DataFrame]) -> tuple[str, ...]:
    """The agencies that shared no record in an extract, from its accepted rows by feed:
    no feed, a feed of no rows, or one whose every row was quarantined. Under the feed
    specification they shared nothing, which the practitioner must be told."""
    return tuple(agency for agency in AGENCIES if len(feeds.get(event_feed(agency), ())) == 0)


def without_household_members(feeds: Mapping[str, pd.DataFrame]) -> bool:
    """Whether an extract's accepted rows hold no household membership (no
    `household_members` feed, which the specification makes optional, or none of its rows
    accepted): then no record about a subject's parents, carers or other household members
    can be linked to any referral."""
    return len(feeds.get(HOUSEHOLD_MEMBERS, ())) == 0


def agency_coverage(feeds: Mapping[str, pd.DataFrame], entries: Mapping[str, Any],
                    refused: Collection[str] = ()) -> dict:
    """Per agency: whether it sent a feed (`present`: one refused too), whether it shared
    any record (an accepted row: `shared`), and how many persons and records were
    accepted."""
    without = agencies_without_records(feeds)
    coverage = {}
    for agency in AGENCIES:
        feed = event_feed(agency)
        loaded = feed in entries
        coverage[agency] = {
            "present": loaded or feed in refused,
            "shared": agency not in without,
            "persons": entries[feed]["persons"] if loaded else 0,
            "records": len(feeds[feed]) if loaded else 0,
        }
    return coverage


def build_report(
    *,
    extract_date: dt.date,
    entries: dict[str, dict[str, Any]],
    feeds: Mapping[str, pd.DataFrame],
    ignored_files: list[str],
    refused: Mapping[str, FeedRejected],
    extract_date_warning: str | None = None,
) -> dict[str, Any]:
    """The whole ``validation.json`` document; a feed refused (never loaded) is in
    ``refused_feeds``, with its file and reason, not in ``feeds`` nor ``missing_feeds``;
    ``extract_date_warning`` when the extract date taken from the data stands alone
    (:mod:`data_contracts.extract_date`), else null."""
    return {
        "spec_version": SPEC_VERSION,
        "extract_date": extract_date.isoformat(),
        "extract_date_warning": extract_date_warning,
        "feeds": {feed: entries[feed] for feed in FEEDS if feed in entries},
        "refused_feeds": {feed: {"file": refusal.source, "reason": refusal.problem}
                          for feed, refusal in refused.items()},
        "agency_coverage": agency_coverage(feeds, entries, refused),
        "missing_feeds": [feed for feed in FEEDS if feed not in entries and feed not in refused],
        "ignored_files": sorted(ignored_files),
    }


def write_validation_report(result: ValidatedExtract, report_dir: Path) -> None:
    """Write ``validation.json``, ``quarantine/<feed>.csv`` (one per feed read) and
    ``quarantine/README.txt`` (`quarantine_readme`).

    Quarantine files are written spreadsheet-safe (:mod:`data_contracts.csv_output`).
    Every feed read gets a quarantine file, empty but for its header when nothing
    was quarantined, so a reader never confuses "no bad rows" with "not checked".
    """
    quarantine_dir = report_dir / "quarantine"
    quarantine_dir.mkdir(parents=True, exist_ok=True)
    (report_dir / "validation.json").write_text(
        json.dumps(result.report, indent=2) + "\n", encoding="utf-8"
    )
    for feed, frame in result.quarantine.items():
        write_csv(frame, quarantine_dir / f"{feed}.csv")
    (quarantine_dir / "README.txt").write_text(quarantine_readme(result.report),
                                               encoding="utf-8")
    logger.info("validation report written to %s", report_dir)


def quarantine_readme(report: Mapping[str, Any]) -> str:
    """What a quarantine folder holds, and the columns not in the specification left out
    of its files, by file, named without their cells (`data_contracts.checking`)."""
    lines = ["Each <feed>.csv here holds that feed's quarantined rows: the cells of the "
             "columns the feed specification names, as the agency wrote them, and the "
             "reason the row was not loaded (reason).", ""]
    left_out = [(entry["file"], entry["ignored_columns"]) for entry in report["feeds"].values()
                if entry["ignored_columns"]]
    if not left_out:
        return "\n".join([*lines, "No feed held a column the specification does not name.", ""])
    lines.append("Columns not in the specification, neither loaded nor copied here (nor is "
                 "a row as read, row_as_read, of these feeds: its line holds their cells):")
    lines += [f"- {file}: {', '.join(columns)}" for file, columns in left_out]
    return "\n".join([*lines, ""])
