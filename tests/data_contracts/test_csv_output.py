"""Every CSV the product writes is safe to open in a spreadsheet (CSV formula injection)."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from api.cli import app
from data_contracts import validate_frames
from data_contracts.csv_output import FORMULA_TRIGGERS, read_cell, write_csv
from tests.data_contracts import factories as f
from tests.data_contracts.test_cli import _validate as validate_cli

HOSTILE = ['=HYPERLINK("http://x","y")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]
PROJECT = Path(__file__).resolve().parents[2]


def _cells(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def _assert_no_formula(rows: list[list[str]]) -> None:
    for row in rows:
        for cell in row:
            assert not cell.startswith(FORMULA_TRIGGERS), (cell, row)


def test_a_referral_id_like_a_formula_is_an_id_and_one_with_a_line_break_is_not(
    extract_date
) -> None:
    """The specification's referral id is a string: `=HYPERLINK(...)` follows it (the CSVs
    written from it defuse it, below); a line break or a space at an end does not."""
    not_ids = ["R\n2", "R3 ", "R4\u00a0", "\u3000R5", ".", ".."]
    referrals = f.referrals(3 + len(not_ids))
    referrals.loc[1, "referral_id"] = HOSTILE[0]
    referrals.loc[2, "referral_id"] = "..."  # not a step up a folder: an id
    for row, not_id in enumerate(not_ids, start=3):
        referrals.loc[row, "referral_id"] = not_id
    result = validate_frames({"referrals": referrals}, extract_date=extract_date)
    assert result.feeds["referrals"]["referral_id"].tolist() == ["R0001", HOSTILE[0], "..."]
    reasons = result.quarantine["referrals"]["reason"].tolist()
    assert len(reasons) == len(not_ids)
    assert all(r.startswith("referral_id: not a referral id") for r in reasons), reasons


def test_validate_writes_quarantined_cells_and_names_as_text(tmp_path: Path) -> None:
    hostile = HOSTILE[:-1]  # a feed's cell holds no line break
    referrals = f.referrals(len(hostile))
    referrals["person_id"] = hostile  # not tokens: every row is quarantined as read
    referrals["household_id"] = "a;b"
    referrals["=cmd"] = "x"  # a column the specification does not know: left out of quarantine
    f.write_extract(tmp_path / "in", {"referrals": referrals})
    result = validate_cli(tmp_path / "in", tmp_path / "out", "--extract-date", f.EXTRACT_DATE)
    assert result.exit_code == 0, result.output
    path = tmp_path / "out" / "quarantine" / "referrals.csv"
    rows = _cells(path)
    _assert_no_formula(rows)
    assert rows[0][-2:] == ["imd_decile", "reason"]
    assert [row[1] for row in rows[1:]] == ["'" + cell for cell in hostile]
    assert ',"a;b",' in path.read_text(encoding="utf-8")  # a separator stays inside its cell


@pytest.mark.parametrize("as_arrow", [False, True], ids=["pandas", "arrow"])
def test_the_writer_neutralises_text_and_keeps_numbers(tmp_path: Path, as_arrow: bool) -> None:
    frame = pd.DataFrame(
        {"text": HOSTILE, "number": [-1.5, 2.0, -3.0, 4.0, 5.0, 6.0], "count": [-1, 2, 3, 4, 5, 6]}
    )
    path = tmp_path / "out.csv"
    write_csv(pa.Table.from_pandas(frame) if as_arrow else frame, path)
    rows = _cells(path)
    assert [row[0] for row in rows[1:]] == ["'" + cell for cell in HOSTILE]
    read = pd.read_csv(path)
    assert read["number"].tolist() == frame["number"].tolist()  # numbers stay numbers
    assert read["count"].tolist() == frame["count"].tolist()


def test_pseudonymise_passes_other_cells_through_as_they_were(tmp_path: Path, monkeypatch) -> None:
    """A pseudonymised feed is read by the pipeline again: a leading quote added to the
    referral id ``=1+1`` would make it another referral's id (``'=1+1``, also an id)."""
    source = tmp_path / "raw.csv"
    ids = ["=1+1", "'=1+1", "@A1", "plain, with a comma"]
    pd.DataFrame({"person_id": ["alice", "bob", "carol", "dan"], "referral_id": ids}).to_csv(
        source, index=False
    )
    monkeypatch.setenv("SAFEGUARD_PSEUDONYMISATION_KEY", "k" * 64)
    result = CliRunner().invoke(
        app, ["pseudonymise", str(source), str(tmp_path / "out.csv"), "--columns", "person_id"]
    )
    assert result.exit_code == 0, result.output
    rows = _cells(tmp_path / "out.csv")
    assert rows[0] == ["person_id", "referral_id"]
    assert [row[1] for row in rows[1:]] == ids


def test_no_two_texts_are_written_alike_and_reading_back_undoes_the_quote(
    tmp_path: Path,
) -> None:
    """``=1+1`` is written ``'=1+1``, so a text that already was ``'=1+1`` gets one more
    quote: dropping one leading quote from each cell gives every text back."""
    texts = ["=1+1", "'=1+1", "-", "'-", "'", "''", "plain", "it's"]
    for data in (pd.DataFrame({"id": texts}), pa.table({"id": texts})):
        write_csv(data, tmp_path / "ids.csv")
        written = [row[0] for row in _cells(tmp_path / "ids.csv")[1:]]
        _assert_no_formula([written])
        assert len(set(written)) == len(texts)
        assert [read_cell(cell) for cell in written] == texts


_WRITERS = re.compile(r"\.to_csv\(|csv\.writer\(|csv\.DictWriter\(|\.write_csv\(")


def test_every_csv_writer_of_the_product_goes_through_the_one_helper() -> None:
    helper = PROJECT / "data_contracts" / "csv_output.py"
    bypassing = [
        str(path.relative_to(PROJECT))
        for package in ("data_contracts", "pipelines", "model", "api")
        for path in sorted((PROJECT / package).rglob("*.py"))
        if path != helper and _WRITERS.search(path.read_text(encoding="utf-8"))
    ]
    assert bypassing == []


def test_a_cell_of_text_is_written_in_quotes(tmp_path: Path) -> None:
    write_csv(pd.DataFrame({"a": ["x;y", "plain"]}), tmp_path / "q.csv")
    assert (tmp_path / "q.csv").read_text(encoding="utf-8") == 'a\n"x;y"\n"plain"\n'
    assert list(csv.reader(io.StringIO('"x;y"'))) == [["x;y"]]
