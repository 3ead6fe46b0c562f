"""Jinja templates for every HTML the product makes: web pages and written reports.

One environment serves both, so a fairness report written by the command line and
the page a board member opens are the same template. The service's own templates
live in `api/templates/`; GOV.UK Frontend's macros come from the `govuk-frontend-jinja`
package under the prefix `govuk_frontend_jinja/` (its documented layout, used without
Flask). The compiled CSS, JavaScript, fonts and images come from the `govuk-frontend`
npm package that `make assets` installs into an ignored folder (versions pinned in
package.json and pyproject.toml: govuk-frontend-jinja 4.1.0 matches GOV.UK Frontend 6.3.0).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

import jinja2

from data_contracts.vocab import AGENCIES, LABEL_WINDOW_DAYS

TEMPLATES_DIR = Path(__file__).parent / "templates"
# Where `make assets` copies GOV.UK Frontend's compiled files.
GOVUK_FRONTEND_DIR = Path(__file__).parent / "static" / "vendor" / "govuk-frontend"
GOVUK_FRONTEND_CSS = GOVUK_FRONTEND_DIR / "govuk-frontend.min.css"
# The compiled CSS names its fonts and images under /assets, so pages serve them there.
GOVUK_ASSETS_URL = "/assets"
GOVUK_STATIC_URL = "/static/govuk-frontend"
SERVICE_NAME = "Safeguarding risk scoring"


def _iso_time(text: str) -> datetime | None:
    """`text` read as an ISO 8601 date and time (None: a date alone, or not a time)."""
    if len(text) <= len("2026-12-04"):
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def when(moment: datetime | int | str | None) -> str:
    """A time as people read it, in UTC ("4 December 2026, 21:03 UTC"); an int is
    milliseconds since 1970 (as the model registry records times), a string an ISO 8601
    time (as reports' JSON records them: "2026-12-04T21:03:00Z"). A string that is no
    such time (a date alone, a report's own words) is shown as it is."""
    if moment is None:
        return ""
    if isinstance(moment, str):
        parsed = _iso_time(moment)
        if parsed is None:
            return moment
        moment = parsed
    if isinstance(moment, int):
        moment = datetime.fromtimestamp(moment / 1000, tz=UTC)
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return f"{moment.day} {moment:%B %Y, %H:%M} UTC"


def case_path(referral_id: str) -> str:
    """The case page's address: the id quoted whole (a `/` as `%2F`, so a browser never
    reads `..` in "a/../b" as a step up; the route takes either, `REFERRAL_ID_ROUTE`)."""
    return "/cases/" + quote(referral_id, safe="")


# A recorded metric's name as a page shows it: the terms as the model card writes them
# ("test_roc_auc" read "test roc auc" on the governance page until 6 December).
_METRIC_TERMS: Final = (("roc auc", "ROC AUC"), ("ece", "ECE"), ("brier", "Brier"))
_METRIC_NAMES: Final = {"n_iter": "boosting iterations"}


def metric_label(name: str) -> str:
    """`test_roc_auc` as "Test ROC AUC", `test_period_n` as "Test period referrals"."""
    words = name.split("_")
    if len(words) > 1 and words[-1] == "n":
        words[-1] = "referrals"
    text = _METRIC_NAMES.get(name, " ".join(words))
    for term, label in _METRIC_TERMS:
        text = re.sub(rf"\b{term}\b", label, text)
    return text[:1].upper() + text[1:]


def group_title(attribute: str, value: str) -> str:
    """A protected group as a table row names it, in the fairness audit's words
    (`model.fairness_groups.group_title`): ``disability``, ``yes`` as "Disabled subjects"."""
    from model.fairness_groups import group_title as title

    return title({attribute: value})


def feature_label(name: str) -> str | None:
    """A model feature's plain label, as the model card's tables name it
    (`model.labels.short_label`); None of a name the manifest no longer has."""
    from model.labels import known_label

    return known_label(name)


@lru_cache(maxsize=1)
def template_environment() -> jinja2.Environment:
    """The one Jinja environment: the service's templates, then GOV.UK Frontend's macros."""
    loader = jinja2.ChoiceLoader([
        jinja2.FileSystemLoader(TEMPLATES_DIR),
        jinja2.PrefixLoader({"govuk_frontend_jinja": jinja2.PackageLoader("govuk_frontend_jinja")}),
    ])
    environment = jinja2.Environment(
        loader=loader,
        autoescape=jinja2.select_autoescape(("html", "xml")),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["when"] = when
    environment.filters["metric_label"] = metric_label
    environment.globals["case_path"] = case_path
    environment.globals["group_title"] = group_title
    environment.globals["feature_label"] = feature_label
    environment.globals["agencies"] = AGENCIES  # the one order of agencies in every table
    environment.globals["follow_up_days"] = LABEL_WINDOW_DAYS  # the outcome follow-up
    environment.globals.update(
        assetPath=GOVUK_ASSETS_URL, static_url=GOVUK_STATIC_URL, serviceName=SERVICE_NAME,
    )
    return environment


def render_page(template_name: str, **context: Any) -> str:
    """Render a page for the browser: styles and scripts are linked from the service."""
    return template_environment().get_template(template_name).render(standalone=False, **context)


def render_report(template_name: str, **context: Any) -> str:
    """Render a report to be written to a file and read offline.

    GOV.UK Frontend's CSS is inlined when `make assets` has installed it (the page then
    looks as it does in the service, fonts apart); without it the report is plain but
    complete. Nothing is fetched from the internet when the file is opened.
    """
    css = GOVUK_FRONTEND_CSS.read_text(encoding="utf-8") if GOVUK_FRONTEND_CSS.is_file() else ""
    template = template_environment().get_template(template_name)
    return template.render(standalone=True, inline_css=css, **context)
