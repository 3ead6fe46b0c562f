"""Browser fixtures: the app served on an ephemeral port, and headless Chromium offline.

Chromium is Debian's (`make browser` installs it; Playwright downloads no browser).
Every page is offline but for the service: each request to another origin is aborted
and recorded, and the test fails on it, as on any console error (a Content-Security-
Policy refusal is one) or uncaught script error.

The browser reaches the service by a name (`SERVICE_HOST`) that Chromium resolves to
127.0.0.1, as a user's browser reaches a deployed service: code that behaves
differently on `localhost` (Swagger UI's validator badge does) is tested as deployed.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, Route, sync_playwright

from api.app import create_app
from api.store import init_db
from tests.api.conftest import (  # noqa: F401 - trained_model is a fixture used here
    TrainedModel,
    empty_registry,
    issue_keys,
    make_settings,
    registry_settings,
    trained_model,
)
from tests.api.fakes import FakeScorer, fake_versions

CHROMIUM = Path(os.environ.get("SAFEGUARD_CHROMIUM", "/usr/bin/chromium"))
SERVICE_HOST = "safeguard.test"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
    f"--host-resolver-rules=MAP {SERVICE_HOST} 127.0.0.1",
]
PAGE_TIMEOUT_MS = 30_000


@dataclass
class ServedApp:
    """The app listening on 127.0.0.1, the address the browser knows it by, a key per role."""

    port: int
    keys: dict[str, str]

    @property
    def origin(self) -> str:
        return f"http://{SERVICE_HOST}:{self.port}"

    def url(self, path: str) -> str:
        return self.origin + path


def _serve(app: FastAPI, keys: dict[str, str]) -> Iterator[ServedApp]:
    """Serve `app` with uvicorn in a thread on a free port until the generator closes."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the app did not start serving within 30 s", pytrace=False)
        time.sleep(0.05)
    yield ServedApp(port=sock.getsockname()[1], keys=keys)
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture(scope="session")
def served_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedApp]:
    """The app (SQLite, the fake scorer, fake versions) served on a free port; its MLflow
    store is an empty one of its own, so the fake versions' approvals cannot be read."""
    folder = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{folder / 'api.db'}"
    init_db(url)
    settings = make_settings(url, **registry_settings(empty_registry(folder / "mlflow")))
    keys, _ = issue_keys(settings)
    app = create_app(settings, FakeScorer())
    app.state.model_versions = fake_versions
    yield from _serve(app, keys)


@pytest.fixture(scope="session")
def served_model_app(
    trained_model: TrainedModel,  # noqa: F811 - the fixture imported above
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ServedApp]:
    """The app (fake scorer) over the registry of a really trained model: its model card,
    fairness report and approvals are the real ones."""
    url = f"sqlite:///{tmp_path_factory.mktemp('browser_model') / 'api.db'}"
    init_db(url)
    settings = make_settings(url, **trained_model.settings_overrides())
    keys, _ = issue_keys(settings)
    yield from _serve(create_app(settings, FakeScorer()), keys)


def _write_reports(trained_model: TrainedModel, folder: Path) -> None:  # noqa: F811
    """The monitoring and partnership reports of the trained model on its own extract, as
    `safeguard monitor` and `safeguard report partnership` write them into `folder`."""
    from api.monitor_command import write_monitor_report
    from api.partnership_command import write_partnership_report
    from model.monitor_run import monitor_extract
    from model.partnership import partnership_report, partnership_tables
    from model.service import explainer_for
    from tests.api.test_monitor import NO_DECISIONS

    model, prepared = trained_model.loaded.model, trained_model.prepared
    write_monitor_report(monitor_extract(model, version=trained_model.version,
                                         prepared=prepared, decisions=NO_DECISIONS),
                         folder / "monitor")
    tables = partnership_tables(model, prepared.feeds, prepared.features,
                                explainer=explainer_for(model), sample=200,
                                extract_date=prepared.extract_date)
    write_partnership_report(partnership_report(
        tables, model_version=trained_model.version, extract_date=prepared.extract_date,
        referrals=len(prepared.features)), folder / "partnership")


@pytest.fixture(scope="session")
def served_reports_app(
    trained_model: TrainedModel,  # noqa: F811 - the fixture imported above
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[ServedApp]:
    """As `served_model_app`, with the trained model's monitoring and partnership reports
    in its reports folder (`SAFEGUARD_REPORTS_DIR`)."""
    folder = tmp_path_factory.mktemp("browser_reports")
    _write_reports(trained_model, folder / "reports")
    url = f"sqlite:///{folder / 'api.db'}"
    init_db(url)
    settings = make_settings(url, reports_dir=folder / "reports",
                             **trained_model.settings_overrides())
    keys, _ = issue_keys(settings)
    yield from _serve(create_app(settings, FakeScorer()), keys)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Debian's headless Chromium; the test fails (never skips) when it is missing."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"no Chromium at {CHROMIUM}: `make browser` installs it "
                    "(or set SAFEGUARD_CHROMIUM to a Chromium binary)", pytrace=False)
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@dataclass
class OfflinePage:
    """A browser tab that reaches only the service, and what it tried and complained of."""

    page: Page
    served: ServedApp
    outside_requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def open(self, path: str) -> Page:
        self.page.goto(self.served.url(path))
        return self.page

    def route(self, route: Route) -> None:
        parts = urlsplit(route.request.url)
        if parts.scheme in ("http", "https") and f"{parts.hostname}:{parts.port}" != \
                f"{SERVICE_HOST}:{self.served.port}":
            self.outside_requests.append(route.request.url)
            route.abort("blockedbyclient")
            return
        route.continue_()

    def expected_status(self, code: int) -> None:
        """Forget Chromium's console line about a page answered with `code`, which the
        test asked for (an error page, a form shown again with its errors)."""
        self.errors = [error for error in self.errors if f"status of {code} " not in error]

    def console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text}")


def _offline(browser: Browser, served: ServedApp) -> Iterator[OfflinePage]:
    context = browser.new_context()
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    page = context.new_page()
    offline = OfflinePage(page=page, served=served)
    context.route("**/*", offline.route)
    page.on("console", offline.console)
    page.on("pageerror", lambda error: offline.errors.append(f"script error: {error}"))
    yield offline
    context.close()
    assert offline.outside_requests == [], "the page tried to reach other hosts"
    assert offline.errors == [], "the page logged errors"


@pytest.fixture
def offline_page(browser: Browser, served_app: ServedApp) -> Iterator[OfflinePage]:
    """A fresh tab (its own context) on the served app, the network blocked but for it.

    The test fails afterwards if the page tried to reach anything else, or logged an error.
    """
    yield from _offline(browser, served_app)


@pytest.fixture
def model_page(browser: Browser, served_model_app: ServedApp) -> Iterator[OfflinePage]:
    """As `offline_page`, on the app over the really trained model."""
    yield from _offline(browser, served_model_app)


@pytest.fixture
def reports_page(browser: Browser, served_reports_app: ServedApp) -> Iterator[OfflinePage]:
    """As `offline_page`, on the app showing the trained model's oversight reports."""
    yield from _offline(browser, served_reports_app)
