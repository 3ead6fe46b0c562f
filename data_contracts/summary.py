"""What `safeguard validate` prints of a validation: its feeds, the agencies' coverage, the
most frequent quarantine reasons, and the files and columns it ignored (`print_summary`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from data_contracts.vocab import AGENCIES, AGENCY_LABELS, FEEDS, event_feed

if TYPE_CHECKING:
    from rich.console import Console

REASONS_SHOWN: Final = 10  # the most frequent quarantine reasons printed after a validation


def print_summary(console: Console, report: dict[str, Any]) -> None:
    """Print the summary of a validation from its report (`validation.json`)."""
    from rich.table import Table

    feeds = Table(title=f"Extract of {report['extract_date']}")
    for header in ("feed", "read", "accepted", "quarantined"):
        feeds.add_column(header, justify="left" if header == "feed" else "right")
    for feed in FEEDS:
        entry = report["feeds"].get(feed)
        if feed in report["refused_feeds"]:
            feeds.add_row(feed, "refused", "-", "-")
        elif entry is None:
            feeds.add_row(feed, "-", "-", "-")
        else:
            counts = (entry["read"], entry["accepted"], entry["quarantined"])
            feeds.add_row(feed, *(f"{n:,}" for n in counts))
    console.print(feeds)
    coverage = Table(title="Agency coverage")
    for header in ("agency", "shared", "persons", "records"):
        coverage.add_column(header, justify="left" if header in {"agency", "shared"} else "right")
    for agency in AGENCIES:
        entry = report["agency_coverage"][agency]
        if entry["shared"]:
            coverage.add_row(
                AGENCY_LABELS[agency], "yes", f"{entry['persons']:,}", f"{entry['records']:,}"
            )
        elif event_feed(agency) in report["refused_feeds"]:
            coverage.add_row(AGENCY_LABELS[agency], "feed refused", "-", "-")
        elif entry["present"]:  # a feed, but no row accepted: it shared no record
            coverage.add_row(AGENCY_LABELS[agency], _no_record(report, agency), "0", "0")
        else:
            coverage.add_row(AGENCY_LABELS[agency], "not shared", "-", "-")
    console.print(coverage)
    _print_reasons(console, report)
    if report["ignored_files"]:  # names as they are: no rich markup in them
        console.print(f"Ignored files (not feed names): {', '.join(_ignored_files(report))}",
                      markup=False, highlight=False, soft_wrap=True)
    left_out = [f"{entry['file']}: {', '.join(entry['ignored_columns'])}"
                for entry in report["feeds"].values() if entry["ignored_columns"]]
    if left_out:
        console.print("Columns not in the specification (not loaded, nor copied to the "
                      f"quarantine): {'; '.join(left_out)}", markup=False, highlight=False,
                      soft_wrap=True)


def _no_record(report: dict[str, Any], agency: str) -> str:
    """Why an agency's feed shared no record: it held none (a header row only), or none of
    its rows was accepted ('no record accepted' said of a header-only feed suggested rows
    had been refused)."""
    read = report["feeds"].get(event_feed(agency), {}).get("read")
    return "header only" if read == 0 else "no record accepted"


def _ignored_files(report: dict[str, Any]) -> list[str]:
    """The files a validation ignored, each with the feed file it was likely meant to be
    when that feed is missing (`events-police.csv (did you mean events_police.csv?)`)."""
    from data_contracts.feed_files import missing_feed_meant

    named = []
    for name in report["ignored_files"]:
        if meant := missing_feed_meant(name, report["missing_feeds"]):
            name = f"{name} (did you mean {meant}?)"
        named.append(name)
    return named


def _print_reasons(console: Console, report: dict[str, Any]) -> None:
    from rich.table import Table

    rows = [
        (count, feed, reason)
        for feed, entry in report["feeds"].items()
        for reason, count in entry["reasons"].items()
    ]
    if not rows:
        return
    table = Table(title="Most frequent quarantine reasons")
    table.add_column("feed")
    table.add_column("reason")
    table.add_column("rows", justify="right")
    for count, feed, reason in sorted(rows, key=lambda row: -row[0])[:REASONS_SHOWN]:
        table.add_row(feed, reason, f"{count:,}")
    console.print(table)
