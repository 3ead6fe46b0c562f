"""The ratings file `safeguard score` writes is safe to open in a spreadsheet."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

from model.score import write_table


def test_a_ratings_csv_writes_a_formula_like_referral_id_as_text(tmp_path: Path) -> None:
    table = pd.DataFrame({"referral_id": ["-2+3", "R1"], "probability": [0.25, 0.5]})
    write_table(table, tmp_path / "ratings.csv")
    with (tmp_path / "ratings.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows == [["referral_id", "probability"], ["'-2+3", "0.25"], ["R1", "0.5"]]
