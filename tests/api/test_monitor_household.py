"""`safeguard monitor` on an extract without household membership, against a model
trained with it: every agency's records about household members fall, and the monitor
laid the drift at the agencies' door. It now says first that none could be counted, and
says it where a governance board reads it too: `monitor.json` (`extract_notes`), the
written `monitor.html` and the governance page showing the latest report (the note was
printed only, and the report showed the falls without their cause)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from fastapi.testclient import TestClient
from markupsafe import escape

from api.app import create_app
from api.store import init_db
from tests.api.conftest import TrainedModel, issue_keys, make_settings
from tests.api.fakes import FakeScorer
from tests.api.test_monitor import _monitor_without
from tests.api.web_client import signed_in_client

NOTE = ("No household_members feed (or a feed without rows): records about parents, carers "
        "and other household members could not be counted for any referral; the model was "
        "trained on an extract that had them, so drift and falls in agencies' records may "
        "come from this, not from the agencies.")


def served_report_page(written: Path, tmp_path: Path) -> str:
    """The governance page showing the monitor report written to `written`, as a member
    of the board signed in reads it (the service's reports folder holding a copy)."""
    reports = tmp_path / "reports"
    shutil.copytree(written, reports / "monitor")
    url = f"sqlite:///{tmp_path / 'api.db'}"
    init_db(url)
    settings = make_settings(url, reports_dir=reports)
    keys, _ = issue_keys(settings)
    with TestClient(create_app(settings, FakeScorer())) as client:
        page = signed_in_client(client, keys["governance"]).get("/governance/reports/monitor")
    assert page.status_code == 200, page.text
    return " ".join(page.text.split())


def test_monitor_says_no_household_member_was_linked_unlike_at_training(
        trained_model: TrainedModel, tmp_path: Path) -> None:
    assert trained_model.loaded.model.metadata["household_members"] is True  # at training
    result = _monitor_without(trained_model, tmp_path, "household_members.parquet",
                              "--model", trained_model.version)
    assert result.exit_code in (0, 1), result.output  # 1: thresholds crossed, as they may
    assert NOTE in " ".join(result.stdout.split()), result.output
    written = json.loads((tmp_path / "out" / "monitor.json").read_text(encoding="utf-8"))
    assert written["extract_notes"] == {"household_members": NOTE}
    html = " ".join((tmp_path / "out" / "monitor.html").read_text(encoding="utf-8").split())
    assert f"<li>{escape(NOTE)}</li>" in html
    assert "What the extract lacked" in html
    assert f"<li>{escape(NOTE)}</li>" in served_report_page(tmp_path / "out",
                                                                          tmp_path)
