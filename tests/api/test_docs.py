"""The documentation page, and every page the service serves: its own files only."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.testclient import TestClient

from api.app import create_app
from tests.api.conftest import ApiEnv
from tests.api.crawl import crawl, html_links
from tests.api.fakes import FakeScorer


def test_docs_page_loads_swagger_ui_from_the_service_itself(api: ApiEnv) -> None:
    page = api.client.get("/docs")

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assets = html_links(page.text)
    assert {"/static/swagger-ui/swagger-ui-bundle.js", "/static/swagger-ui/swagger-ui.css",
            "/static/swagger-ui/favicon-32x32.png"} == set(assets)
    for asset in assets:
        response = api.client.get(asset)
        assert response.status_code == 200, asset
        assert len(response.content) > 500, asset
    assert "'/openapi.json'" in page.text
    assert '"validatorUrl": null' in page.text  # no public validator is ever asked


def test_no_page_the_service_serves_references_another_host(api: ApiEnv) -> None:
    result = crawl(api.client, api.headers("admin"))

    assert result.outside == []
    assert {"/docs", "/openapi.json", "/static/swagger-ui/swagger-ui.css", "/healthz",
            "/v1/model", "/v1/audit"} <= set(result.fetched)
    assert "/docs" in result.html_pages
    assert {path: code for path, code in result.fetched.items() if code >= 400} == {}


def test_the_crawl_catches_pages_that_load_from_elsewhere() -> None:
    app = FastAPI()  # FastAPI's own /docs and /redoc load from public CDNs

    @app.get("/page")
    def page() -> HTMLResponse:
        return HTMLResponse('<link rel="stylesheet" href="/style.css">'
                            '<script src="https://cdn.example.org/ui.js"></script>')

    @app.get("/style.css")
    def style() -> HTMLResponse:
        return HTMLResponse("body { background: url(//fonts.example.net/bg.png) }",
                            media_type="text/css")

    result = crawl(TestClient(app))

    assert {("/page", "https://cdn.example.org/ui.js"),
            ("/style.css", "//fonts.example.net/bg.png")} <= set(result.outside)
    hosts_of_docs = {urlsplit(link).netloc for page, link in result.outside if page == "/docs"}
    assert "cdn.jsdelivr.net" in hosts_of_docs


def test_without_its_files_the_docs_page_says_how_to_install_them(
    api: ApiEnv, tmp_path: Path
) -> None:
    app = create_app(api.settings, FakeScorer(), docs_assets=tmp_path / "not-installed")
    with TestClient(app) as client:
        page = client.get("/docs")
        assert page.status_code == 503
        assert "make assets" in page.text and "restart the service" in page.text
        assert "<script" not in page.text
        assert "default-src 'self'" in page.headers["content-security-policy"]
        assert client.get("/static/swagger-ui/swagger-ui-bundle.js").status_code == 404
        # The API itself is unaffected.
        assert client.get("/openapi.json").status_code == 200
        assert client.get("/v1/model", headers=api.headers("triage")).status_code == 200
        assert crawl(client).outside == []
