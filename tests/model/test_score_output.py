"""The ratings file `safeguard score` writes is safe to open in a spreadsheet."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from model.score import OutputFormatError, check_output_path, write_table


def test_a_ratings_csv_writes_a_formula_like_referral_id_as_text(tmp_path: Path) -> None:
    table = pd.DataFrame({"referral_id": ["-2+3", "R1"], "probability": [0.25, 0.5]})
    write_table(table, tmp_path / "ratings.csv")
    with (tmp_path / "ratings.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows == [["referral_id", "probability"], ["'-2+3", "0.25"], ["R1", "0.5"]]


@pytest.mark.parametrize("name, message", [
    ("ratings.txt", "the output format follows the file extension"),
    ("folder.parquet", "is a folder; name the ratings file"),
    ("a_file/ratings.parquet", "a_file is not a folder this user can write to"),
])
def test_an_output_that_cannot_be_written_is_refused_before_any_work(
        tmp_path: Path, name: str, message: str) -> None:
    (tmp_path / "folder.parquet").mkdir()
    (tmp_path / "a_file").write_text("x")
    with pytest.raises(OutputFormatError, match=message):
        check_output_path(tmp_path / name)
    check_output_path(tmp_path / "new" / "deeper" / "ratings.parquet")  # made when written


def test_a_failed_write_is_one_error_naming_the_file(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    earlier = pd.DataFrame({"referral_id": ["R0"]})
    write_table(earlier, tmp_path / "ratings.parquet")
    real = pd.DataFrame.to_parquet

    def half_then_full(self: pd.DataFrame, path: Path, **kwargs: object) -> None:
        real(self.head(0), path, **kwargs)  # the disk fills part way through
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_parquet", half_then_full)
    with pytest.raises(OutputFormatError, match=r"ratings.parquet: cannot be written \(No space"):
        write_table(pd.DataFrame({"referral_id": ["R1"]}), tmp_path / "ratings.parquet")
    monkeypatch.undo()
    assert pd.read_parquet(tmp_path / "ratings.parquet").equals(earlier)  # left whole
    assert [p.name for p in tmp_path.iterdir()] == ["ratings.parquet"]
