"""The API's documentation page, `/docs`: Swagger UI from the service's own files.

FastAPI's default page loads Swagger UI from a public CDN, so on a network without
internet access it is blank, and it runs third-party code fetched at view time on a
page that holds an API key. Here the page is FastAPI's own (`get_swagger_ui_html`,
its documented way to self-host), pointed at the `swagger-ui-dist` files that
`make assets` installs from npm into an ignored folder of the package. Without
them at start-up `/docs` says how to install them; the rest of the API is unaffected.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

logger = logging.getLogger(__name__)

DOCS_PATH = "/docs"
ASSETS_PATH = "/static/swagger-ui"
# Where `make assets` copies swagger-ui-dist's files (the version is pinned in package.json).
SWAGGER_UI_DIR = Path(__file__).parent / "static" / "vendor" / "swagger-ui"
SWAGGER_UI_FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png")
# Swagger UI's validator badge would send the API's address to a public validator for
# any host but localhost. FastAPI's layout shows no badge; off all the same.
SWAGGER_UI_PARAMETERS = {"validatorUrl": None}

_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)

MISSING_ASSETS_PAGE = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>{title}: documentation page not installed</title></head>
<body>
<h1>The API documentation page is not installed</h1>
<p>This service serves Swagger UI from its own files, never from the internet, and
they were missing from its <code>static/vendor/swagger-ui</code> folder when it started.</p>
<p>Install them with <code>make assets</code> (it installs the <code>swagger-ui-dist</code>
package pinned in <code>package.json</code> from npm), then restart the service.</p>
<p>The API itself works: its description is at <a href="{openapi_url}">{openapi_url}</a>.</p>
</body>
</html>
"""


def script_hash(source: str) -> str:
    """The CSP source (`'sha256-...'`) that lets exactly this inline script run."""
    digest = hashlib.sha256(source.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


class DocsPage:
    """The `/docs` page of one app, rendered once, and the inline script it runs."""

    def __init__(self, *, title: str, openapi_url: str, assets_dir: Path) -> None:
        page = get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{title} - API documentation",
            swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_PATH}/favicon-32x32.png",
            swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
        )
        self.html = bytes(page.body).decode("utf-8")
        self.missing_html = MISSING_ASSETS_PAGE.format(title=title, openapi_url=openapi_url)
        self.installed = all((assets_dir / name).is_file() for name in SWAGGER_UI_FILES)

    def script_sources(self) -> list[str]:
        """CSP hashes of the page's inline scripts (Swagger UI's start-up call)."""
        return [script_hash(source) for source in _INLINE_SCRIPT.findall(self.html)]

    def response(self) -> HTMLResponse:
        """The page, or 503 and how to install its files when they are missing."""
        if self.installed:
            return HTMLResponse(self.html)
        return HTMLResponse(self.missing_html, status_code=503)


def install_docs(app: FastAPI, assets_dir: Path = SWAGGER_UI_DIR) -> DocsPage:
    """Serve `/docs` and its files on `app` (created with `docs_url=None, redoc_url=None`)."""
    page = DocsPage(title=app.title, openapi_url=app.openapi_url or "/openapi.json",
                    assets_dir=assets_dir)
    if page.installed:
        app.mount(ASSETS_PATH, StaticFiles(directory=assets_dir), name="swagger-ui")
    else:
        logger.warning("%s will say how to install its files: they are missing from %s "
                       "(`make assets` installs them)", DOCS_PATH, assets_dir)

    @app.get(DOCS_PATH, include_in_schema=False)
    def docs() -> HTMLResponse:
        return page.response()

    return page
