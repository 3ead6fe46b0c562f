"""`safeguard monitor`: a newer extract against a model version, with practitioners' decisions.

Writes `monitor.json` and `monitor.html`, and exits with status 1, naming each reason on
a line of its own, when a threshold of the governance settings (`[monitoring]`) is
crossed. Reads decisions from the service's store; the run is itself audited.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from api.report_files import write_whole
from data_contracts.cli import fail, parse_date_option
from data_contracts.vocab import AGENCIES

if TYPE_CHECKING:
    import pandas as pd

    from api.store.db import Store
    from model.registry import ModelRegistry

MONITOR_JSON = "monitor.json"
MONITOR_HTML = "monitor.html"


def _decisions(store: Store) -> pd.DataFrame:
    import pandas as pd

    from api.store.repository import CURRENT_DECISION_COLUMNS, current_decisions

    with store.session() as session:
        rows = current_decisions(session)
    return pd.DataFrame(rows, columns=list(CURRENT_DECISION_COLUMNS))


def _warn_if_rejected(store: Store, registry: ModelRegistry, version: str) -> None:
    """One line on standard error when governance rejected the monitored version."""
    from api.version_standing import standing

    with store.session() as session:
        warning = standing(session, registry, version, board=None, check_gate=False).warning
    if warning:
        typer.echo(warning, err=True)


def write_monitor_report(report: dict[str, Any], output: Path) -> None:
    """monitor.json and monitor.html in `output` (a figure that could not be computed,
    NaN or infinite, is null: neither is JSON)."""
    from api.templating import render_report
    from model.finite_json import finite

    output.mkdir(parents=True, exist_ok=True)
    report = finite(report)
    write_whole(output / MONITOR_JSON, json.dumps(report, indent=1, allow_nan=False))
    html = render_report("reports/monitor.html", title="Model monitoring", report=report)
    write_whole(output / MONITOR_HTML, html)


def monitor(
    input_dir: Annotated[Path, typer.Option("--input", help="The newer extract.")],
    output: Annotated[Path, typer.Option(help="Folder for monitor.json and monitor.html.")],
    model: Annotated[str | None, typer.Option(
        help="Version or alias; default the served alias (champion).")] = None,
    since: Annotated[str | None, typer.Option(
        help="Monitor referrals from this date (YYYY-MM-DD); default from the day after "
             "the training extract's date, at most as long as the model's reference "
             "period.")] = None,
    extract_date: Annotated[str | None, typer.Option(
        help="The extract's date (YYYY-MM-DD); default the latest date in it.")] = None,
) -> None:
    """Drift, agency coverage, matured outcomes and practitioners' overrides since training."""
    from api.admin import check_output_folder, open_for_report
    from api.audit import commit_with_audit, operator_event
    from data_contracts.errors import FeedRejected
    from model.calibration_check import KIND as CALIBRATION
    from model.calibration_check import WATCH_NEXT
    from model.data import prepare_extract
    from model.monitor_group_outcomes import CALIBRATION_KIND
    from model.monitor_referral_mix import KIND as MIX_KIND
    from model.monitor_run import (
        EXTRACT_NOTES,
        NoMonitoringReference,
        NothingToMonitor,
        monitor_extract,
    )
    from model.outcome_gaps import OUTCOME_GAPS, gap_warnings
    from model.registry import RegistryError

    settings, store, registry = open_for_report(
        "monitoring reads practitioners' decisions from the store")
    check_output_folder(output)  # before the work, which may take minutes
    try:
        loaded = registry.load(model or settings.model_alias)
        _warn_if_rejected(store, registry, loaded.info.version)
        prepared = prepare_extract(input_dir, extract_date=parse_date_option(extract_date))
        report = monitor_extract(loaded.model, version=loaded.info.version, prepared=prepared,
                                 decisions=_decisions(store),
                                 since=parse_date_option(since, "--since"))
    except (RegistryError, FeedRejected, NoMonitoringReference, NothingToMonitor) as exc:
        fail(str(exc))
    write_monitor_report(report, output)
    with store.session() as session:
        commit_with_audit(session, [operator_event(
            "monitor", model_version=loaded.info.version, crossed=len(report["crossed"]))])
    store.dispose()
    typer.echo(f"monitored {report['window']['referrals']:,} referrals "
               f"({report['window']['from']} to {report['window']['to']}) against model "
               f"version {loaded.info.version}: {output / MONITOR_HTML}")
    typer.echo(f"window: {report['window']['rule']}")
    for note in report[EXTRACT_NOTES].values():  # in monitor.json and on the page too
        typer.echo(note)  # before the thresholds a missing feed may have crossed
    if not report["window"]["judged"]:
        n, worth = report["window"]["referrals"], report["window"]["effective_referrals"]
        typer.echo(f"drift and coverage: too few referrals to judge ({n:,}"
                   + (f", worth {worth:,.0f} as families repeat" if worth < n else "")
                   + f"; at least {report['thresholds']['min_window_referrals']:,}): "
                   "shown, not judged")
    if note := report["matured_outcomes"].get("note"):
        typer.echo(f"matured outcomes: {note}")
    for line in gap_warnings(report["matured_outcomes"].get(OUTCOME_GAPS, []),
                             counted_as="those matured since training were counted as "
                                        "matured without an outcome"):
        typer.echo(line, err=True)
    for check in report["checks"]:
        if check["kind"] == MIX_KIND or check["kind"] in (CALIBRATION, CALIBRATION_KIND) and (
                check["message"].endswith(WATCH_NEXT)):
            typer.echo(f"to watch: {check['message']}")
    if report["crossed"]:
        for message in crossed_lines(report["crossed"], report["checks"]):
            typer.echo(f"threshold crossed: {message}", err=True)
        raise typer.Exit(code=1)
    typer.echo("no threshold crossed")


def crossed_lines(crossed: list[str], checks: list[dict[str, Any]]) -> list[str]:
    """What the command says of the crossed thresholds: an agency whose records fell (its
    coverage over the whole window, or the records it sent in a quarter) or arrive late
    first, then the drift of its features in one line (a police feed left out of an
    extract crossed 75 feature thresholds, one line each, and the fall of the police
    records, their cause, came last); `monitor.json` keeps every check."""
    from model.monitor_record_delays import KIND as RECORD_DELAY
    from model.monitor_record_falls import KIND as RECORD_FALL

    kind = {check["message"]: check for check in checks if check.get("crossed")}
    fell = [m for m in crossed
            if kind.get(m, {}).get("kind") in ("coverage", RECORD_FALL, RECORD_DELAY)
            and kind[m]["subject"].removesuffix(" (90d)") in AGENCIES]
    agencies = {kind[m]["subject"].removesuffix(" (90d)") for m in fell}
    # An agency whose records arrive late: its features drift because its recent records
    # were not yet there (a fall in the quarter the delay began is its doing too).
    late = {kind[m]["subject"] for m in fell if kind[m]["kind"] == RECORD_DELAY}
    drifted: dict[str, int] = {}
    lines = list(fell)
    for message in (m for m in crossed if m not in fell):
        check = kind.get(message, {})
        agency = next((a for a in sorted(agencies) if check.get("kind") == "drift"
                       and f"_{a}_" in f"_{check['subject']}_"), None)
        if agency is None:
            lines.append(message)
        else:
            drifted[agency] = drifted.get(agency, 0) + 1
    return lines + [f"{n} {agency} feature{'s' if n != 1 else ''} drifted past the PSI "
                    f"threshold, as {agency} records "
                    f"{'arrived late' if agency in late else 'fell'} (above): {MONITOR_JSON} "
                    "lists each" for agency, n in drifted.items()]
