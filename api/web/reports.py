"""The latest monitoring and partnership reports on the governance pages.

`safeguard monitor` and `safeguard report partnership` write their reports into the
folder given as `--output`; when the service's settings name a reports folder
(`SAFEGUARD_REPORTS_DIR`), the governance page shows what those commands last wrote to
its `monitor/` and `partnership/` sub-folders, rendered again from their JSON with
the reports' own templates. Nothing is shown that no command has written.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import Response
from jinja2 import UndefinedError

from api.audit import commit_with_audit
from api.monitor_command import MONITOR_JSON
from api.partnership_command import PARTNERSHIP_JSON
from api.routes.deps import SessionDep
from api.routes.records import view_event
from api.settings import Settings
from api.web.errors import error_page
from api.web.pages import PAGE_METHODS, GovernancePage, render

logger = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class ReportKind:
    """One kind of oversight report: its folder, file, template and the command writing it."""

    title: str
    json_file: str
    template: str
    command: str


REPORTS: Final = {
    "monitor": ReportKind(
        "Model monitoring",
        MONITOR_JSON,
        "reports/monitor.html",
        "safeguard monitor --input EXTRACT --output {folder}",
    ),
    "partnership": ReportKind(
        "Partnership evidence",
        PARTNERSHIP_JSON,
        "reports/partnership.html",
        "safeguard report partnership --input EXTRACT --output {folder}",
    ),
}


@dataclass(frozen=True)
class LatestReport:
    """What the governance page says about one kind of report."""

    name: str
    title: str
    written_at: datetime | None
    how_to: str

    @property
    def url(self) -> str:
        """The page showing the report."""
        return f"/governance/reports/{self.name}"


def _file(settings: Settings, name: str) -> Path | None:
    if settings.reports_dir is None:
        return None
    return settings.reports_dir / name / REPORTS[name].json_file


def latest_reports(settings: Settings) -> list[LatestReport]:
    """Each kind of report: when it was last written, or the command that writes it."""
    found = []
    for name, kind in REPORTS.items():
        path = _file(settings, name)
        folder = (settings.reports_dir / name) if settings.reports_dir else None
        how_to = (
            kind.command.format(folder=folder)
            if folder is not None
            else "set SAFEGUARD_REPORTS_DIR for the service, then run "
            + kind.command.format(folder=f"$SAFEGUARD_REPORTS_DIR/{name}")
        )
        written = (
            datetime.fromtimestamp(path.stat().st_mtime, UTC)
            if path is not None and path.is_file()
            else None
        )
        found.append(LatestReport(name, kind.title, written, how_to))
    return found


def _read_report(path: Path) -> dict[str, Any] | None:
    """A report's JSON, or None when the file is not a whole report (cut short, not UTF-8)."""
    try:
        report = json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return report if isinstance(report, dict) else None


@router.api_route("/governance/reports/{name}", methods=PAGE_METHODS)
def report_page(name: str, request: Request, user: GovernancePage,
                session: SessionDep) -> Response:
    """The latest report of a kind, as its command last wrote it (the view is audited: the
    monitoring report quotes practitioners' override reasons). A name no kind has is a page
    not found, as any unknown address is (never named back: it may be a pasted key)."""
    if name not in REPORTS:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "there is no report of that name")
    path = _file(request.app.state.settings, name)
    if path is None or not path.is_file():
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no {name} report has been written yet")
    report = _read_report(path)
    page = None
    if report is not None:
        try:  # a JSON object of another shape (another tool's, an older command's) fails here
            page = render(request, REPORTS[name].template, user=user,
                          title=REPORTS[name].title, report=report,
                          back_link=("Model governance", "/governance"))
        except (TypeError, KeyError, AttributeError, ValueError, UndefinedError):
            logger.warning("the %s report at %s is not of the shape its page reads", name, path,
                           exc_info=True)
    if report is None or page is None:
        # Not JSON the command wrote whole (copied in part, edited, or from another tool):
        # said so, with how to write it again, rather than a 500.
        return error_page(status.HTTP_503_SERVICE_UNAVAILABLE, user=user, path=request.url.path,
                          message=f"The latest {REPORTS[name].title.lower()} report cannot be "
                                  f"read: write it again with "
                                  f"{REPORTS[name].command.format(folder=path.parent)}")
    version = report.get("model_version")
    details = {"report": name, "generated_at": report.get("generated_at")}
    commit_with_audit(session, [view_event(
        request, user.principal, "oversight_report_view", details=details,
        model_version=None if version is None else str(version))])
    return page
