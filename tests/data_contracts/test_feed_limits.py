"""Empty, header-only and oversized feeds: refused early, in one line, in bounded memory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from data_contracts.vocab import FEED_COLUMNS
from tests.data_contracts import factories as f
from tests.data_contracts.test_cli import _assert_one_line_error
from tests.data_contracts.test_cli import _validate as validate_cli

MIB = 1024 * 1024

# Runs `safeguard` in a process of its own and prints its peak resident memory (KiB):
# VmHWM belongs to the process's own address space, new at exec (ru_maxrss can carry
# the forking test process's size).
_MEASURED = """
import pathlib, sys
from typer.testing import CliRunner
from api.cli import app
result = CliRunner().invoke(app, sys.argv[1:])
print(result.stderr.strip())
print("exit", result.exit_code)
status = pathlib.Path("/proc/self/status").read_text().splitlines()
print("peak_rss_kib", next(line.split()[1] for line in status if line.startswith("VmHWM:")))
"""


def _validate(input_dir: Path, report_dir: Path, *extra: str):  # noqa: ANN202
    return validate_cli(input_dir, report_dir, "--extract-date", f.EXTRACT_DATE, *extra)


def _one_line_error(output: str) -> str:
    _assert_one_line_error(output)
    return output.strip()


def _header_only(path: Path, feed: str, *, newline: bool = True) -> None:
    path.write_text(",".join(FEED_COLUMNS[feed]) + ("\n" if newline else ""), encoding="utf-8")


def _measured_validate(input_dir: Path, report_dir: Path, *extra: str) -> tuple[str, int]:
    args = ["validate", "--input", str(input_dir), "--report", str(report_dir), *extra]
    done = subprocess.run(
        [sys.executable, "-c", _MEASURED, *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
        env={**os.environ},
    )
    *output, exit_line, peak_line = done.stdout.strip().splitlines()
    assert exit_line == "exit 1", done.stdout
    return "\n".join(output), int(peak_line.split()[1]) * 1024


def test_a_header_only_referrals_feed_is_refused_in_one_line(tmp_path: Path) -> None:
    folder = f.write_extract(tmp_path / "in", f.extract())
    _header_only(folder / "referrals.csv", "referrals")
    line = _one_line_error(_validate(folder, tmp_path / "out").output)
    assert line == (
        "error: referrals.csv: holds no referral (a header row only): nothing to validate"
    )


def test_header_only_optional_feeds_are_valid_and_empty(tmp_path: Path) -> None:
    folder = f.write_extract(tmp_path / "in", {"referrals": f.referrals()})
    _header_only(folder / "events_police.csv", "events_police")
    _header_only(folder / "outcomes.csv", "outcomes", newline=False)
    result = _validate(folder, tmp_path / "out")
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out" / "validation.json").read_text(encoding="utf-8"))
    for feed in ("events_police", "outcomes"):
        assert report["feeds"][feed]["read"] == report["feeds"][feed]["accepted"] == 0
    assert report["agency_coverage"]["police"] == {"present": True, "shared": False, "persons": 0,
                                                     "records": 0}


def test_an_empty_feed_file_is_refused_in_one_line_after_the_others_are_reported(
        tmp_path: Path) -> None:
    folder = f.write_extract(tmp_path / "in", {"referrals": f.referrals()})
    (folder / "events_health.csv").write_bytes(b"")
    result = _validate(folder, tmp_path / "out")
    assert result.exit_code == 1
    assert _one_line_error(result.stderr) == (
        "error: events_health.csv: is empty (0 bytes): a feed holds at least its header row "
        f"(every other feed checked: see {tmp_path / 'out' / 'validation.json'})"
    )
    report = json.loads((tmp_path / "out" / "validation.json").read_text(encoding="utf-8"))
    assert report["refused_feeds"] == {"events_health": {
        "file": "events_health.csv",
        "reason": "is empty (0 bytes): a feed holds at least its header row"}}
    assert report["feeds"]["referrals"]["accepted"] == 3


def test_an_empty_referrals_file_refuses_the_extract_with_no_report(tmp_path: Path) -> None:
    folder = f.write_extract(tmp_path / "in", {"referrals": f.referrals()})
    (folder / "referrals.csv").write_bytes(b"")
    line = _one_line_error(_validate(folder, tmp_path / "out").output)
    assert line == "error: referrals.csv: is empty (0 bytes): a feed holds at least its header row"
    assert not (tmp_path / "out").exists()


def test_an_oversized_feed_is_refused_from_its_size_in_bounded_memory(tmp_path: Path) -> None:
    folder = f.write_extract(tmp_path / "in", {"referrals": f.referrals()})
    with (folder / "events_police.csv").open("wb") as handle:
        handle.truncate(2 * 1024 * MIB)  # 2 GiB, sparse: nothing written to disk
    output, peak = _measured_validate(folder, tmp_path / "out", "--max-feed-bytes", "1000000")
    assert _one_line_error(output) == (
        "error: events_police.csv: is 2,147,483,648 bytes, over the limit of 1,000,000 bytes "
        "per feed file (--max-feed-bytes or SAFEGUARD_MAX_FEED_BYTES) (every other feed "
        f"checked: see {tmp_path / 'out' / 'validation.json'})"
    )
    assert peak < 400 * MIB, f"peak RSS {peak / MIB:.0f} MiB"


def test_the_limit_can_be_set_in_the_environment(tmp_path: Path, monkeypatch) -> None:
    folder = f.write_extract(tmp_path / "in", f.extract())
    monkeypatch.setenv("SAFEGUARD_MAX_FEED_BYTES", "100")
    line = _one_line_error(_validate(folder, tmp_path / "out").output)
    assert "over the limit of 100 bytes per feed file" in line
    monkeypatch.setenv("SAFEGUARD_MAX_FEED_BYTES", "lots")
    line = _one_line_error(_validate(folder, tmp_path / "out").output)
    assert line == "error: SAFEGUARD_MAX_FEED_BYTES: must be a whole number of bytes, got 'lots'"


def test_a_file_without_a_header_line_is_refused_reading_only_its_start(tmp_path: Path) -> None:
    folder = f.write_extract(tmp_path / "in", {"referrals": f.referrals()})
    with (folder / "events_police.csv").open("wb") as handle:
        handle.truncate(256 * MIB)  # under the limit: one 256 MiB line of NUL bytes
    output, peak = _measured_validate(folder, tmp_path / "out")
    assert _one_line_error(output) == (
        "error: events_police.csv: no header row in its first 65,536 bytes (every other feed "
        f"checked: see {tmp_path / 'out' / 'validation.json'})"
    )
    assert peak < 400 * MIB, f"peak RSS {peak / MIB:.0f} MiB"


def test_a_folder_named_as_an_agency_feed_is_refused_not_taken_as_shared_nothing(
        tmp_path: Path) -> None:
    # A Spark export writes `events_police.parquet/` as a folder of parts: it was ignored
    # ("not a feed file's name (did you mean events_police.parquet?)") and the police
    # taken to have shared nothing, in every score.
    folder = f.write_extract(tmp_path / "in", {"referrals": f.referrals()})
    police = {"events_police": f.extract()["events_police"]}
    f.write_extract(folder / "events_police.parquet", police)
    result = _validate(folder, tmp_path / "out")
    assert result.exit_code == 1
    reason = ("is a folder, not a file: a feed is one .csv or .parquet file (a Parquet "
              "folder of parts, as Spark writes, is not read: write it as one file)")
    assert _one_line_error(result.stderr) == (
        f"error: events_police.parquet: {reason} "
        f"(every other feed checked: see {tmp_path / 'out' / 'validation.json'})")
    report = json.loads((tmp_path / "out" / "validation.json").read_text(encoding="utf-8"))
    assert report["refused_feeds"] == {"events_police": {"file": "events_police.parquet",
                                                         "reason": reason}}


def test_a_folder_named_as_the_referrals_feed_is_named_as_such(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    (folder / "referrals.csv").mkdir(parents=True)
    line = _one_line_error(_validate(folder, tmp_path / "out").output)
    assert line.startswith("error: referrals.csv: is a folder, not a file"), line


def test_a_parquet_feed_repeating_a_column_name_is_refused_naming_it(tmp_path: Path) -> None:
    # pyarrow's dataset reader refused it as "cannot be parsed as Parquet: Multiple matches
    # for FieldRef.Name(event_type) in person_id: string ... __fragment_index: int32 ...".
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = f.write_extract(tmp_path / "in", {"referrals": f.referrals()})
    police = pa.Table.from_pandas(f.extract()["events_police"], preserve_index=False)
    doubled = pa.Table.from_arrays([*police.columns, police.column("event_type")],
                                   names=[*police.column_names, "event_type"])
    pq.write_table(doubled, folder / "events_police.parquet")
    result = _validate(folder, tmp_path / "out")
    assert result.exit_code == 1
    assert _one_line_error(result.stderr) == (
        "error: events_police.parquet: repeats the column name 'event_type': a column holds "
        f"one field (every other feed checked: see {tmp_path / 'out' / 'validation.json'})")
