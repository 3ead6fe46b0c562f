"""The one Jinja environment renders GOV.UK Frontend's page template for pages and reports."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from api import templating


@pytest.fixture
def report_template(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    (tmp_path / "probe.html").write_text(
        '{% extends "layout.html" %}{% block content %}<h1>{{ title }}</h1>{% endblock %}')
    (tmp_path / "layout.html").write_text((templating.TEMPLATES_DIR / "layout.html").read_text())
    monkeypatch.setattr(templating, "TEMPLATES_DIR", tmp_path)
    templating.template_environment.cache_clear()
    yield "probe.html"
    templating.template_environment.cache_clear()


def test_a_report_is_self_contained(report_template: str) -> None:
    html = templating.render_report(report_template, title="Fairness <audit>")
    assert "<h1>Fairness &lt;audit&gt;</h1>" in html  # autoescaped
    assert "govuk-skip-link" in html and "<script type=\"module\"" not in html
    if templating.GOVUK_FRONTEND_CSS.is_file():
        assert "<style>" in html and 'rel="stylesheet"' not in html


def test_a_page_links_the_services_own_assets(report_template: str) -> None:
    html = templating.render_page(report_template, title="Queue")
    assert f'href="{templating.GOVUK_STATIC_URL}/govuk-frontend.min.css"' in html
    assert "<style>" not in html and 'src="/static/js/govuk-init.js"' in html


def test_a_time_a_report_records_as_text_is_shown_as_pages_show_times() -> None:
    """The fairness page printed "audited 2026-12-06T11:42:56Z"."""
    assert templating.when("2026-12-06T11:42:56Z") == "6 December 2026, 11:42 UTC"
    assert templating.when("2026-12-06T12:42:56+01:00") == "6 December 2026, 11:42 UTC"
    assert templating.when("2026-12-06T11:42:56") == "6 December 2026, 11:42 UTC"  # naive: UTC
    for not_a_time in ("2026-12-04", "now", ""):
        assert templating.when(not_a_time) == not_a_time
