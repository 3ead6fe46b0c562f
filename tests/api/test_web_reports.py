"""The oversight reports' pages when the file a command wrote cannot be read, and the
commands writing their files whole."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.monitor_command import MONITOR_JSON
from api.partnership_command import PARTNERSHIP_JSON
from api.report_files import write_whole
from tests.api.conftest import ApiEnv
from tests.api.web_client import signed_in_client


@pytest.mark.parametrize(("name", "file", "written"), [
    ("monitor", MONITOR_JSON, b'{"model_version": "1", "generated_at": "2026-12-'),
    ("partnership", PARTNERSHIP_JSON, b'{"quarters": [\xff'),
    ("monitor", MONITOR_JSON, b"[]"),
    # JSON objects of another shape: an older command's, another tool's
    ("partnership", PARTNERSHIP_JSON, b"{}"),
    ("monitor", MONITOR_JSON, b'{"model_version": "1", "generated_at": "2026-12-01"}'),
])
def test_a_report_file_that_is_not_a_whole_report_is_said_so_not_a_500(
    own_store_api: ApiEnv, name: str, file: str, written: bytes
) -> None:
    """A report opened while its command wrote it (cut short) was a 500 page."""
    assert own_store_api.settings.reports_dir is not None
    folder = own_store_api.settings.reports_dir / name
    folder.mkdir(parents=True)
    (folder / file).write_bytes(written)
    browser = signed_in_client(own_store_api.client, own_store_api.keys["governance"])

    page = browser.get(f"/governance/reports/{name}")

    assert page.status_code == 503
    text = " ".join(page.text.split())
    assert "report cannot be read: write it again with safeguard " in text
    assert f"--output {folder}" in text
    assert "govuk-header" in page.text  # the service's page, signed in


def test_a_report_file_is_replaced_whole_or_not_at_all(tmp_path: Path) -> None:
    path = tmp_path / MONITOR_JSON
    write_whole(path, '{"earlier": true}')
    with pytest.raises(UnicodeEncodeError):
        write_whole(path, '{"later": "\ud800"}')  # fails as it is written
    assert path.read_text(encoding="utf-8") == '{"earlier": true}'
    assert [p.name for p in tmp_path.iterdir()] == [MONITOR_JSON]
