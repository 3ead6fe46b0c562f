"""``safeguard validate`` and ``safeguard pseudonymise`` as a user runs them."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from api.cli import app
from tests.data_contracts import factories as f

runner = CliRunner()


def _validate(input_dir: Path, report_dir: Path, *extra: str):  # noqa: ANN202
    args = ["validate", "--input", str(input_dir), "--report", str(report_dir), *extra]
    return runner.invoke(app, args)


def _assert_one_line_error(output: str) -> None:
    assert "Traceback" not in output
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), output


def test_validate_writes_report_and_quarantine(tmp_path: Path) -> None:
    frames = f.extract()
    del frames["events_health"]
    frames["events_police"].loc[0, "event_type"] = "bogus"
    frames["events_housing"]["event_type"] = "bogus"  # every housing row quarantined
    frames["events_probation"] = frames["events_probation"].iloc[:0]  # a header row only
    f.write_extract(tmp_path / "in", frames)
    result = _validate(tmp_path / "in", tmp_path / "out", "--extract-date", "2024-06-30")
    assert result.exit_code == 0, result.output
    assert "not shared" in result.output and "events_police" in result.output
    coverage = {line.split()[1]: line for line in result.output.splitlines()
                if line.startswith("│ ") and line.split()[1] in ("Housing", "Probation")}
    assert "no record accepted" in coverage["Housing"]
    assert "header only" in coverage["Probation"]
    report = json.loads((tmp_path / "out" / "validation.json").read_text())
    assert set(report) >= {
        "spec_version", "extract_date", "feeds", "agency_coverage", "missing_feeds",
        "ignored_files",
    }  # fmt: skip
    assert report["extract_date"] == "2024-06-30"
    assert report["agency_coverage"]["health"]["present"] is False
    assert report["agency_coverage"]["housing"] == {"present": True, "shared": False,
                                                   "persons": 0, "records": 0}
    police = report["feeds"]["events_police"]
    assert police["read"] == police["accepted"] + police["quarantined"] == 3
    quarantine = pd.read_csv(tmp_path / "out" / "quarantine" / "events_police.csv", dtype=str)
    assert quarantine.loc[0, "event_type"] == "bogus"
    assert quarantine.loc[0, "reason"].startswith("event_type: not one of the police event types: "
                                                   "domestic_abuse_incident, ")


def test_validate_without_referrals_fails_with_one_line(tmp_path: Path) -> None:
    frames = f.extract()
    del frames["referrals"]
    f.write_extract(tmp_path / "in", frames)
    result = _validate(tmp_path / "in", tmp_path / "out")
    assert result.exit_code != 0
    _assert_one_line_error(result.output)
    assert "referrals" in result.output


@pytest.mark.parametrize("bad_date", [
    "2024-13-01", "2024-02-30", "yesterday", "30/06/2024", "2024-6-30", "2024-06-3",
    "20240630", "2024-06-30\n", "２０２４-06-30", str(dt.date.today() + dt.timedelta(days=1)),
])
def test_validate_rejects_bad_extract_date_option(tmp_path: Path, bad_date: str) -> None:
    f.write_extract(tmp_path / "in", f.extract())
    result = _validate(tmp_path / "in", tmp_path / "out", "--extract-date", bad_date)
    assert result.exit_code != 0
    _assert_one_line_error(result.output)


def test_validate_names_the_feed_file_an_ignored_file_was_likely_meant_as(tmp_path: Path
                                                                         ) -> None:
    f.write_extract(tmp_path / "in", f.extract())
    (tmp_path / "in" / "events_health.csv").rename(tmp_path / "in" / "events-health.csv")
    (tmp_path / "in" / "events_police.csv.bak").write_text("person_id\n")  # police is there
    (tmp_path / "in" / "[red]notes.txt").write_text("not a feed")
    result = _validate(tmp_path / "in", tmp_path / "out", "--extract-date", "2024-06-30")
    assert result.exit_code == 0, result.output
    assert ("Ignored files (not feed names): [red]notes.txt, events-health.csv (did you mean "
            "events_health.csv?), events_police.csv.bak\n") in result.output


def test_validate_missing_directory_fails_cleanly(tmp_path: Path) -> None:
    result = _validate(tmp_path / "nowhere", tmp_path / "out")
    assert result.exit_code != 0
    _assert_one_line_error(result.output)


def test_validate_given_a_feed_file_for_the_extract_says_it_is_a_file(tmp_path: Path) -> None:
    """`--input extract/referrals.csv` read "input directory not found", of a file there."""
    feed = tmp_path / "referrals.csv"
    feed.write_text("referral_id\n")
    result = _validate(feed, tmp_path / "out")
    assert result.exit_code == 1
    _assert_one_line_error(result.output)
    assert "is a file, not the extract's directory" in result.output
    assert "not found" not in result.output


def test_validate_identifier_column_fails_naming_it(tmp_path: Path) -> None:
    frames = f.extract()
    frames["referrals"]["postcode"] = "SW1A 1AA"
    f.write_extract(tmp_path / "in", frames)
    result = _validate(tmp_path / "in", tmp_path / "out")
    assert result.exit_code != 0
    _assert_one_line_error(result.output)
    assert "referrals.csv" in result.output and "'postcode'" in result.output


def test_validate_sets_a_refused_agency_feed_aside_reports_the_others_and_fails(
        tmp_path: Path) -> None:
    frames = f.extract()
    frames["events_health"]["nhs_number"] = "943 476 5919"
    frames["events_police"].loc[0, "event_type"] = "bogus"
    f.write_extract(tmp_path / "in", frames)
    (tmp_path / "in" / "events_housing.csv").write_bytes(b"")
    result = _validate(tmp_path / "in", tmp_path / "out", "--extract-date", "2024-06-30")
    assert result.exit_code == 1
    _assert_one_line_error(result.stderr)
    assert result.stderr == (
        "error: events_health.csv: column 'nhs_number' is a direct identifier; feed refused "
        "(1 more feed refused; every other feed checked: see "
        f"{tmp_path / 'out' / 'validation.json'})\n")
    assert "feed refused" in result.stdout  # the agency coverage's row
    report = json.loads((tmp_path / "out" / "validation.json").read_text())
    assert report["refused_feeds"] == {
        "events_health": {"file": "events_health.csv",
                          "reason": "column 'nhs_number' is a direct identifier; feed refused"},
        "events_housing": {"file": "events_housing.csv",
                           "reason": "is empty (0 bytes): a feed holds at least its header row"},
    }
    assert "events_health" not in report["feeds"] and "events_health" not in report["missing_feeds"]
    assert report["agency_coverage"]["health"] == {"present": True, "shared": False,
                                                  "persons": 0, "records": 0}
    assert report["feeds"]["events_police"]["quarantined"] == 1  # the others checked
    written = {path.name for path in (tmp_path / "out" / "quarantine").iterdir()}
    assert "events_police.csv" in written and "events_health.csv" not in written


def test_a_command_building_on_an_extract_refuses_it_with_a_refused_agency_feed(
        tmp_path: Path) -> None:
    frames = f.extract()
    frames["events_health"]["nhs_number"] = "943 476 5919"
    f.write_extract(tmp_path / "in", frames)
    args = ["features", "--input", str(tmp_path / "in"), "--output", str(tmp_path / "f.parquet")]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    _assert_one_line_error(result.output)
    assert result.output.strip() == (
        "error: events_health.csv: column 'nhs_number' is a direct identifier; feed refused; "
        "the whole extract is refused with it (correct the file, or take it out to go on "
        "without it)")
    assert not (tmp_path / "f.parquet").exists()


def test_validate_unparsable_file_fails_cleanly(tmp_path: Path) -> None:
    f.write_extract(tmp_path / "in", f.extract())
    (tmp_path / "in" / "outcomes.csv").write_bytes(b"referral_id,outcome_type\n\xff\xfe,\x00\n")
    result = _validate(tmp_path / "in", tmp_path / "out")
    assert result.exit_code != 0
    _assert_one_line_error(result.stderr)
    assert "outcomes.csv: is not UTF-8 (line 2 holds the byte 0xFF)" in result.stderr


def test_a_bad_date_option_is_named_as_typed_and_only_an_extract_date_must_be_past(
        capsys: pytest.CaptureFixture[str]) -> None:
    import typer

    from data_contracts.cli import parse_date_option

    with pytest.raises(typer.Exit):
        parse_date_option("notadate", "--since")
    assert capsys.readouterr().err == "error: --since must be a date YYYY-MM-DD, got 'notadate'\n"
    with pytest.raises(typer.Exit):  # the shape the option's help names, digit for digit
        parse_date_option("2024-6-30")
    assert capsys.readouterr().err == (
        "error: --extract-date must be a date YYYY-MM-DD, got '2024-6-30'\n")
    assert parse_date_option("2024-06-30") == dt.date(2024, 6, 30)
    later = dt.date.today() + dt.timedelta(days=30)
    assert parse_date_option(str(later), "--since") == later


def test_no_feed_note_names_a_feed_whose_every_row_was_quarantined() -> None:
    """An agency that sent rows, all quarantined (a date format, say), is named apart with
    how many, so that the reader corrects the file rather than asks it for data it sent."""
    from data_contracts.closing_notes import no_feed_note

    note = no_feed_note(["police", "housing"], {"events_police": 5898, "referrals": 3})
    assert note is not None and note.startswith(
        "Police and Housing shared no records in this extract (no feed, a feed without rows, "
        "or every row quarantined)")
    assert note.endswith("Every row was quarantined: Police (5,898 rows); correct the feed "
                         "and score again (`safeguard validate` lists each row with its "
                         "reason).")
    assert "Every row was quarantined" not in (no_feed_note(["housing"], {"events_police": 4})
                                              or "")
    assert no_feed_note([], {"events_police": 4}) is None


def test_no_feed_note_says_when_no_agency_shared_anything() -> None:
    """An independent probe's extract of referrals and outcomes alone rated every referral
    low and green; the note names the six agencies and says a low band means nothing."""
    from data_contracts.closing_notes import no_feed_note
    from data_contracts.vocab import AGENCIES

    said = " a low band is no sign that nothing is known."
    assert (no_feed_note(list(AGENCIES)) or "").endswith(said)
    assert not (no_feed_note(list(AGENCIES[1:])) or "").endswith(said)
    assert said not in (no_feed_note(list(AGENCIES), training=True) or "")


def test_no_feed_note_for_training_says_the_model_learns_nothing_from_them() -> None:
    from data_contracts.closing_notes import no_feed_note

    note = no_feed_note(["police"], {"events_police": 12}, training=True) or ""
    assert note == ("Police shared no records in this extract (no feed, a feed without rows, "
                    "or every row quarantined): the model learns nothing from its records. "
                    "Every row was quarantined: Police (12 rows); correct the feed and train "
                    "again (`safeguard validate` lists each row with its reason).")


def test_household_note_says_no_household_member_could_be_counted() -> None:
    """The household_members feed is optional: without accepted rows of it, records about
    a subject's parents and carers count for no referral, and the closing notes say so."""
    import pandas as pd

    from data_contracts.closing_notes import household_note
    from data_contracts.report import without_household_members

    members = pd.DataFrame({"household_id": ["H1"], "person_id": ["P1"], "role": ["subject"]})
    assert not without_household_members({"household_members": members})
    assert without_household_members({"household_members": members.iloc[:0]})
    assert without_household_members({"referrals": members})
    assert household_note(False) is None
    assert household_note(True, {"events_police": 3}) == (
        "No household_members feed (or a feed without rows): records about parents, carers "
        "and other household members could not be counted for any referral.")
    assert household_note(True, {"household_members": 1_204}, training=True) == (
        "Every household_members row was quarantined (1,204): records about parents, carers "
        "and other household members could not be counted for any referral; the model "
        "learns nothing from them.")
    assert (household_note(True, trained_with_them=True) or "").endswith(
        "could not be counted for any referral; the model was trained on an extract that had "
        "them, so drift and falls in agencies' records may come from this, not from the "
        "agencies.")


def test_quarantine_note_for_training_names_no_output() -> None:
    """`safeguard train` writes no output of rows: its note said the quarantined referral
    rows were "not in this output"."""
    from data_contracts.closing_notes import quarantine_note

    counts = {"referrals": 2, "events_police": 3}
    assert "2 referral rows (not in this output) and 3 rows of other feeds" in str(
        quarantine_note(counts, "x"))
    trained = str(quarantine_note(counts, "x", unused="not trained on"))
    assert "2 referral rows (not trained on) and 3 rows of other feeds" in trained
