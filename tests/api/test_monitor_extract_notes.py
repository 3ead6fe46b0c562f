"""What `safeguard monitor` says of the extract, besides a missing household_members feed
(`test_monitor_household.py`): its quarantined rows and an agency that shared nothing,
here police, whose every row was quarantined. Monitor said neither, though other
commands on an extract do: a board read police records falling to 0% as police having
stopped sharing. Both are printed, and written to `monitor.json` (`extract_notes`) and
`monitor.html`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
from markupsafe import escape
from typer.testing import CliRunner

from api.cli import app
from api.store import init_db
from tests.api.conftest import TrainedModel
from tests.api.test_monitor import _environment


def test_an_agency_whose_every_row_was_quarantined_is_named_in_the_report(
        trained_model: TrainedModel, tmp_path: Path) -> None:
    newer = tmp_path / "newer"
    shutil.copytree(trained_model.extract, newer)
    police = pd.read_parquet(newer / "events_police.parquet")
    police.assign(event_type="not_a_police_record").to_parquet(newer / "events_police.parquet")
    referrals = pd.read_parquet(newer / "referrals.parquet")
    referrals.loc[0, "sex"] = "not_a_sex"  # one referral row quarantined: not monitored
    referrals.to_parquet(newer / "referrals.parquet")
    database = tmp_path / "store.db"
    init_db(f"sqlite:///{database}")
    result = CliRunner().invoke(
        app, ["monitor", "--input", str(newer), "--output", str(tmp_path / "out"),
              "--model", trained_model.version], env=_environment(trained_model, database))
    assert result.exit_code == 1, result.output  # police records fell to none

    notes = json.loads((tmp_path / "out" / "monitor.json").read_text())["extract_notes"]
    assert list(notes) == ["quarantined", "agencies_without_records"]
    assert notes["agencies_without_records"].startswith(
        "Police shared no records in this extract (no feed, a feed without rows, or every "
        "row quarantined): every referral was rated without its records")
    assert notes["agencies_without_records"].endswith(
        f"Every row was quarantined: Police ({len(police):,} rows); correct the feed and "
        "monitor again (`safeguard validate` lists each row with its reason).")
    assert notes["quarantined"].startswith(
        f"Quarantined, so not used: 1 referral row (not monitored) and {len(police):,} rows "
        f"of other feeds; `safeguard validate "
        f"--input {newer} --extract-date ")
    said = " ".join(result.stdout.split())
    html = " ".join((tmp_path / "out" / "monitor.html").read_text().split())
    for note in notes.values():
        assert note in said
        assert f"<li>{escape(note)}</li>" in html
