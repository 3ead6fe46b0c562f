"""A column the specification does not name is never copied, and one holding personal names
under a neutral heading refuses its feed (an independent probe's `carer` column, `Jane
Smith` and `John Brown`, was accepted and its names copied to the quarantine file)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from api.cli import app
from data_contracts.errors import FeedRejected
from data_contracts.identifiers import refuse_direct_identifiers
from data_contracts.validate import validate_extract, validate_frames
from tests.data_contracts import factories as f
from tests.data_contracts.conftest import EXTRACT

runner = CliRunner()
PROBATION = "events_probation"
NAMES = ["Jane Smith", "John Brown", "Mary-Ann O'Neil"]
# Neutral extra columns: codes, numbers, single words, tokens, dates, flags, and names of
# teams, services or organisations (a word of `person_names.SERVICE_WORDS` in each).
NEUTRAL = {
    "source_code": ["NICHE-01", "NICHE-02", "X_9"],
    "score": ["12", "3.5", "-1"],
    "status": ["Open", "Closed", "Open"],
    "ref_token": ["a1b2c3", "d4e5f6", "P000123"],
    "logged": ["2024-01-10", "2024-01-11 09:30", "10/01/2024"],
    "flag": ["Yes", "No", "Y"],
    "team": ["Children Services", "Early Help Team", "Metropolitan Police"],
    "note": ["seen at home", "no concerns", "call back Monday"],
}


def _probe_extract(folder: Path, carer: list[str], *, parquet: bool = False) -> Path:
    """The probe's extract: a probation feed with a `carer` column, its second row's
    event type bad (quarantined)."""
    frames = f.extract()
    probation = frames[PROBATION]
    probation["carer"] = carer
    probation.loc[1, "event_type"] = "bogus"
    if parquet:
        del frames[PROBATION]
    f.write_extract(folder, frames)
    if parquet:
        probation.astype(object).where(probation != "", None).to_parquet(
            folder / f"{PROBATION}.parquet", index=False)
    return folder


def _validate(input_dir: Path, report_dir: Path):  # noqa: ANN202
    return runner.invoke(app, ["validate", "--input", str(input_dir), "--report",
                               str(report_dir), "--extract-date", EXTRACT.isoformat()])


def _written(report_dir: Path) -> str:
    return "\n".join(path.read_text(encoding="utf-8")
                     for path in sorted(report_dir.rglob("*")) if path.is_file())


@pytest.mark.parametrize("parquet", [False, True], ids=["csv", "parquet"])
def test_names_under_a_neutral_heading_refuse_the_feed_and_are_copied_nowhere(
        tmp_path: Path, parquet: bool) -> None:
    folder = _probe_extract(tmp_path / "in", NAMES, parquet=parquet)
    suffix = "parquet" if parquet else "csv"
    with pytest.raises(FeedRejected, match=rf"^{PROBATION}\.{suffix}: column 'carer' holds "
                       r"direct identifiers \(personal names: 100% of its non-empty cells"):
        validate_extract(folder, extract_date=EXTRACT)
    result = _validate(folder, tmp_path / "out")
    assert result.exit_code == 1
    assert "column 'carer' holds direct identifiers (personal names" in result.output
    report = json.loads((tmp_path / "out" / "validation.json").read_text())
    assert list(report["refused_feeds"]) == [PROBATION]
    assert not (tmp_path / "out" / "quarantine" / f"{PROBATION}.csv").exists()
    written = _written(tmp_path / "out")
    assert not [name for name in NAMES if name in written]


def test_a_command_building_on_the_extract_refuses_names_under_a_neutral_heading(
        tmp_path: Path) -> None:
    folder = _probe_extract(tmp_path / "in", NAMES)
    out = tmp_path / "features.parquet"
    result = runner.invoke(app, ["features", "--input", str(folder), "--output", str(out),
                                 "--extract-date", EXTRACT.isoformat()])
    assert result.exit_code == 1
    assert "column 'carer' holds direct identifiers (personal names" in result.output
    assert not out.exists()


@pytest.mark.parametrize("parquet", [False, True], ids=["csv", "parquet"])
@pytest.mark.parametrize("column", sorted(NEUTRAL))
def test_a_neutral_extra_column_is_ignored_and_left_out_of_the_quarantine(
        tmp_path: Path, column: str, parquet: bool) -> None:
    folder = _probe_extract(tmp_path / "in", NEUTRAL[column], parquet=parquet)
    result = _validate(folder, tmp_path / "out")
    assert result.exit_code == 0, result.output
    quarantine = tmp_path / "out" / "quarantine"
    rows = pd.read_csv(quarantine / f"{PROBATION}.csv", dtype=str)
    assert list(rows.columns) == [*f.events("probation").columns, "reason"]
    assert rows["event_type"].tolist() == ["bogus"]
    value = NEUTRAL[column][1]  # the quarantined row's: in no file written
    assert not [path for path in quarantine.glob("*.csv")
                if value in pd.read_csv(path, dtype=str).to_numpy()]
    assert f'"{value}"' not in _written(tmp_path / "out")
    file = f"{PROBATION}.{'parquet' if parquet else 'csv'}"  # the column named, by file
    readme = (quarantine / "README.txt").read_text(encoding="utf-8")
    assert f"- {file}: carer\n" in readme
    assert ("Columns not in the specification (not loaded, nor copied to the quarantine): "
            f"{file}: carer") in result.output


def test_a_quarantine_readme_says_when_nothing_was_left_out(tmp_path: Path) -> None:
    frames = f.extract()
    frames["events_police"].loc[0, "event_type"] = "bogus"
    result = _validate(f.write_extract(tmp_path / "in", frames), tmp_path / "out")
    assert result.exit_code == 0, result.output
    readme = (tmp_path / "out" / "quarantine" / "README.txt").read_text(encoding="utf-8")
    assert "No feed held a column the specification does not name." in readme
    assert "Columns not in the specification" not in result.output


def test_a_row_as_read_is_not_kept_when_its_line_holds_a_column_not_in_the_specification(
        tmp_path: Path) -> None:
    folder = _probe_extract(tmp_path / "in", NEUTRAL["status"])
    path = folder / f"{PROBATION}.csv"
    path.write_text(path.read_text(encoding="utf-8") + "P000009,2024-01-10,,under_supervision"
                    ",,Open,John Brown\n", encoding="utf-8")
    quarantine = validate_extract(folder, extract_date=EXTRACT).quarantine[PROBATION]
    assert "row_as_read" not in quarantine.columns
    assert quarantine["reason"].tolist()[-1] == (
        "row: not 6 fields as in the header row (the row as read is not kept: its line holds "
        "columns not in the specification)")
    assert not quarantine.isin(["John Brown", "Open"]).any().any()


def _refused(values: list[str], column: str = "carer") -> bool:
    frame = pd.DataFrame({column: values}, dtype="string[pyarrow]")
    try:
        refuse_direct_identifiers(frame, "f.csv", ("person_id", "referral_id"))
    except FeedRejected:
        return True
    return False


@pytest.mark.parametrize("cell", [
    "Jane Smith", "JOHN BROWN", "Mary-Ann O'Neil", "Smith, Jane", "J Smith", "Jane A. Smith",
    "Jane Ann Smith", "Zoë Nowak", "PC Smith",
])
def test_a_cell_written_as_a_name(cell: str) -> None:
    from data_contracts.person_names import written_as_names

    assert written_as_names(pa.array([cell])).tolist() == [True]


@pytest.mark.parametrize("cell", [
    "Jane", "jane smith", "Smith J", "Category B", "Jane Ann Mary Smith", "Ref #3", "R0001",
    "Flat 2", "2024-01-10", "Children Services", "Children's Services", "Early Help Team",
    "Metropolitan Police", "Oak Tree School", "Leeds City Council", "NHS Trust",
])
def test_a_cell_not_written_as_a_name(cell: str) -> None:
    from data_contracts.person_names import written_as_names

    assert written_as_names(pa.array([cell])).tolist() == [False]


def test_the_boundary_a_clear_majority_and_three_cells() -> None:
    """Names refuse a column when at least 60 % of its non-empty cells and at least three
    (every one, when fewer) are written as one; a column of names mostly written
    otherwise is not refused (left out of any quarantine all the same)."""
    assert _refused(["Jane Smith"]) and _refused(["Jane Smith", "", None])
    assert _refused(["Jane Smith", "John Brown", "Amy Jones", "Mother", "Father"])  # 60 %
    assert not _refused(["Jane Smith", "John Brown", "Mother", "Father"])  # 50 %
    assert not _refused(["Jane Smith", "John Brown", "Father"])  # 2 of 3


def test_title_case_labels_without_a_service_word_are_refused_as_names() -> None:
    """The false positive the rule accepts (docs/input-handling.md): two or three
    capitalised words with no word of a team's, service's or organisation's name read as
    a name; the hub never reads such a column, so the agency leaves it out."""
    assert _refused(["Leeds Bradford", "Tower Hamlets", "Milton Keynes"])
    assert not _refused(["West Yorkshire Police", "North Tyneside Council", "Youth Offending"])
    # Case-work labels and compass-named areas are no names.
    assert not _refused(["West Yorkshire", "North Tyneside", "No Further Action",
                         "Strategy Meeting", "Not Known"])


def test_a_free_text_column_of_the_specification_is_read_for_names_and_no_other() -> None:
    assert _refused(["Jane Smith", "John Brown", "Amy Jones"], column="referral_id")
    assert not _refused(["Jane Smith", "John Brown", "Amy Jones"], column="person_id")


def test_referral_ids_written_as_names_refuse_the_feed() -> None:
    frames = f.extract()
    frames["referrals"]["referral_id"] = ["Jane Smith", "John Brown", "Amy Jones"]
    frames["outcomes"]["referral_id"] = "Jane Smith"
    with pytest.raises(FeedRejected, match="column 'referral_id' holds direct identifiers "
                                           r"\(personal names"):
        validate_frames(frames, extract_date=EXTRACT)
