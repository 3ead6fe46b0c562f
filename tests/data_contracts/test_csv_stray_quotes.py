"""A stray double quote in a CSV referral id: quarantined saying so, a quoted one kept."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from data_contracts.csv_stray_quotes import stray_column
from data_contracts.pseudonymise import PseudonymisationError, pseudonymise_file
from data_contracts.validate import validate_extract
from tests.data_contracts import factories as f

EXTRACT = dt.date(2024, 6, 30)
STRAY = ('referral_id: holds a stray double quote (") outside CSV quoting: a value holding '
         'a quote is written in quotes, the quote doubled')
HEADER = ["referral_id", "person_id", "note"]


@pytest.mark.parametrize(("row", "column"), [
    ('R3",P3,x', "referral_id"),  # a stray closing quote
    ('R"3,P3,x', "referral_id"),
    ('"R3"x,P3,x', "referral_id"),  # text after a closing quote: read as R3x
    ('"R""3",P3,x', None),  # the id R"3, as CSV writes it
    ('"R,3",P3,"he said ""no"""', None),
    ('R3,P"3,x', None),  # a token holding a quote breaks the token's own rule
    ('R3,P3,"seen at home,\nthen ""school"""', None),
])
def test_only_a_quote_outside_csv_quoting_is_a_stray(row: str, column: str | None) -> None:
    assert stray_column(row, HEADER, [0]) == column


def _referrals_file(folder: Path) -> list[str]:
    """An extract of six referrals in ``folder``, its referrals file's lines changed: a
    stray closing quote, a stray quote inside an id, and an id holding a quote as CSV
    writes one."""
    path = f.write_extract(folder, f.extract(referrals=f.referrals(6))) / "referrals.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[3] = lines[3].replace("R0003", 'R0003"', 1)
    lines[5] = lines[5].replace("R0005", 'R00"05', 1)
    lines[6] = lines[6].replace("R0006", '"R""0006"', 1)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return lines


def test_a_referral_id_with_a_stray_quote_is_quarantined_saying_so(tmp_path: Path) -> None:
    """A stray closing quote left the quote in an accepted referral id (R0003"), a referral
    no feed's R0003 matched; a quote written as CSV writes one is part of the id."""
    lines = _referrals_file(tmp_path / "in")
    result = validate_extract(tmp_path / "in", extract_date=EXTRACT)
    referrals = result.report["feeds"]["referrals"]
    assert (referrals["read"], referrals["accepted"], referrals["quarantined"]) == (6, 4, 2)
    quarantine = result.quarantine["referrals"]
    assert quarantine["referral_id"].tolist() == ['R0003"', 'R00"05']
    assert quarantine["reason"].tolist() == [STRAY, STRAY]
    assert result.feeds["referrals"]["referral_id"].tolist() == [
        "R0001", "R0002", "R0004", 'R"0006']
    assert lines[3].startswith('R0003",')


def test_pseudonymise_refuses_a_stray_quote_in_a_referral_id(tmp_path: Path) -> None:
    """Written again, its cells quoted as CSV quotes them, the stray quote would have
    become part of the id for every later reader."""
    _referrals_file(tmp_path)
    with pytest.raises(PseudonymisationError, match=(
            r'^referrals.csv: line 4, column \'referral_id\' holds a stray double quote')):
        pseudonymise_file(tmp_path / "referrals.csv", tmp_path / "out.csv",
                          columns=["person_id"], key=b"k" * 32)
    assert not (tmp_path / "out.csv").exists()
