"""The web pages: triage staff's and governance boards' pages, served by the API's app.

`install_web(app, settings)` mounts GOV.UK Frontend's files and the service's own
static files, adds the pages' routes (kept apart from the JSON routes), and the
error pages. It returns the CSP hashes of the pages' one inline script (GOV.UK's
template marks the body `js-enabled` with it), for the security headers.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api.docs import script_hash
from api.settings import Settings
from api.templating import GOVUK_ASSETS_URL, GOVUK_FRONTEND_DIR, GOVUK_STATIC_URL
from api.web import (
    case_decisions,
    decision_pages,
    governance,
    model_pages,
    reports,
    score_pages,
    signin,
    subject_pages,
    triage,
)
from api.web.errors import error_page, install_error_pages
from api.web.session import SessionCodec
from model.governance import load_governance

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def page_script_sources() -> list[str]:
    """CSP hashes of the inline scripts every page carries (GOV.UK's template has one)."""
    html = bytes(error_page(404).body).decode("utf-8")
    return sorted({script_hash(source) for source in _INLINE_SCRIPT.findall(html)})


def install_web(app: FastAPI, settings: Settings) -> list[str]:
    """Add the pages, their files and error pages to `app`; the CSP hashes they need."""
    app.state.session_codec = SessionCodec(settings.api_key_pepper.get_secret_value())
    app.state.governance = load_governance(settings.governance_settings_path)[0]
    app.state.model_versions = governance.registry_versions(settings)
    if not (GOVUK_FRONTEND_DIR / "govuk-frontend.min.css").is_file():
        logger.warning("the pages will be unstyled: GOV.UK Frontend's files are missing from "
                       "%s (`make assets` installs them)", GOVUK_FRONTEND_DIR)
    app.mount(GOVUK_STATIC_URL, StaticFiles(directory=GOVUK_FRONTEND_DIR, check_dir=False),
              name="govuk-frontend")
    app.mount(GOVUK_ASSETS_URL, StaticFiles(directory=GOVUK_FRONTEND_DIR / "assets",
                                            check_dir=False), name="govuk-assets")
    for folder in ("js", "css"):
        app.mount(f"/static/{folder}", StaticFiles(directory=STATIC_DIR / folder),
                  name=f"service-{folder}")
    for router in (signin.router, triage.router, score_pages.router, governance.router,
                   model_pages.router, decision_pages.router, reports.router,
                   subject_pages.router, case_decisions.router):
        app.include_router(router)
    install_error_pages(app)
    return page_script_sources()
