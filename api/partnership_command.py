"""`safeguard report partnership`: evidence that the partnership's information sharing works.

Per agency and quarter: reach, timeliness (and information that arrived too late) and
what the agency's information changed. Writes partnership.json and partnership.html;
the run is audited.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from api.report_files import write_whole
from data_contracts.cli import fail, parse_date_option

report_app = typer.Typer(help="Reports for the safeguarding partnership.", no_args_is_help=True)

PARTNERSHIP_JSON = "partnership.json"
PARTNERSHIP_HTML = "partnership.html"


def write_partnership_report(report: dict[str, Any], output: Path) -> None:
    """partnership.json and partnership.html in `output`."""
    from api.templating import render_report

    output.mkdir(parents=True, exist_ok=True)
    write_whole(output / PARTNERSHIP_JSON, json.dumps(report, indent=1))
    html = render_report("reports/partnership.html", title="Partnership evidence", report=report)
    write_whole(output / PARTNERSHIP_HTML, html)


@report_app.command("partnership")
def partnership(
    input_dir: Annotated[Path, typer.Option("--input", help="The extract to report on.")],
    output: Annotated[Path, typer.Option(help="Folder for partnership.json and .html.")],
    model: Annotated[str | None, typer.Option(
        help="Version or alias; default the served alias (champion).")] = None,
    sample: Annotated[int, typer.Option(
        help="Referrals explained for each agency's mean contribution to the score "
        "(a random sample; at least 100).")] = 5_000,
    extract_date: Annotated[str | None, typer.Option(
        help="The extract's date (YYYY-MM-DD); default the latest date in it.")] = None,
) -> None:
    """Reach, timeliness and contribution of each agency's information, by quarter."""
    from api.admin import check_output_folder, open_for_report
    from api.audit import commit_with_audit, operator_event
    from data_contracts.errors import FeedRejected
    from model.cli import console
    from model.data import prepare_extract
    from model.partnership import MIN_EXPLANATION_SAMPLE, partnership_report, partnership_tables
    from model.registry import RegistryError
    from model.service import explainer_for

    if sample < MIN_EXPLANATION_SAMPLE:
        fail(f"--sample {sample}: at least {MIN_EXPLANATION_SAMPLE} (a mean contribution "
             "over fewer referrals moves with the sample drawn)")
    settings, store, registry = open_for_report(
        "the report is audited, so the store must be reachable")
    check_output_folder(output)  # before the work, which may take minutes

    # The stage under way, erased when done: a refusal leaves its one line and nothing else.
    with console.status("loading the model") as status:
        try:
            loaded = registry.load(model or settings.model_alias)
            prepared = prepare_extract(input_dir, extract_date=parse_date_option(extract_date),
                                       with_labels=False, progress=status.update)
        except (RegistryError, FeedRejected) as exc:
            fail(str(exc))
        tables = partnership_tables(loaded.model, prepared.feeds, prepared.features,
                                    explainer=explainer_for(loaded.model), sample=sample,
                                    extract_date=prepared.extract_date,
                                    progress=status.update)
    report = partnership_report(tables, model_version=loaded.info.version,
                                extract_date=prepared.extract_date,
                                referrals=len(prepared.features))
    write_partnership_report(report, output)
    with store.session() as session:
        commit_with_audit(session, [operator_event(
            "report_partnership", model_version=loaded.info.version,
            referrals=len(prepared.features))])
    store.dispose()
    typer.echo(f"partnership evidence for {len(prepared.features):,} referrals: "
               f"{output / PARTNERSHIP_HTML}")
