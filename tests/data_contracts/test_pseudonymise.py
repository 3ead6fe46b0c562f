"""Pseudonymisation: deterministic per key, unlinkable across keys, the key never shown."""

from __future__ import annotations

import hashlib
import hmac
import re
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from api.cli import app
from data_contracts.pseudonymise import (
    KEY_ENV_VAR,
    PseudonymisationError,
    load_key,
    pseudonymise_file,
    pseudonymise_series,
    token,
)
from data_contracts.vocab import TOKEN_PATTERN

KEY = b"k" * 16 + b"0123456789abcdef"  # 32 bytes
OTHER_KEY = b"z" * 40
runner = CliRunner()

values = st.lists(st.text(min_size=1, max_size=30), min_size=1, max_size=30)


@settings(max_examples=50, deadline=None)
@given(values)
def test_same_key_and_value_give_same_token(cells: list[str]) -> None:
    first = pseudonymise_series(pd.Series(cells), KEY)
    again = pseudonymise_series(pd.Series(list(reversed(cells))), KEY)
    assert first.tolist() == list(reversed(again.tolist()))
    assert all(re.fullmatch(TOKEN_PATTERN, t) for t in first)
    assert first.nunique() == len(set(cells))


@settings(max_examples=30, deadline=None)
@given(values)
def test_different_keys_give_unlinkable_tokens(cells: list[str]) -> None:
    mine = set(pseudonymise_series(pd.Series(cells), KEY))
    theirs = set(pseudonymise_series(pd.Series(cells), OTHER_KEY))
    assert not mine & theirs


def test_empty_cells_stay_empty() -> None:
    tokens = pseudonymise_series(pd.Series(["a", "", None]), KEY)
    assert tokens.notna().tolist() == [True, False, False]


def test_short_or_missing_key_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                         ) -> None:
    monkeypatch.delenv(KEY_ENV_VAR, raising=False)
    short = tmp_path / "short.key"
    short.write_bytes(b"x" * 31)
    with pytest.raises(PseudonymisationError, match="too short"):
        load_key(short)
    with pytest.raises(PseudonymisationError, match="no key"):
        load_key(None)
    monkeypatch.setenv(KEY_ENV_VAR, KEY.decode())
    assert load_key(None) == KEY


def _pseudonymise(src: Path, dst: Path, *options: str, env: dict[str, str] | None = None):  # noqa: ANN202
    args = ["pseudonymise", *options, str(src), str(dst)]
    return runner.invoke(app, args, env=env or {KEY_ENV_VAR: ""})


def _write_people(path: Path) -> None:
    frame = pd.DataFrame(
        {"person_id": ["A1", "B2", "A1"], "household_id": ["H1", "", "H1"], "n": ["007", "1", "2"]}
    )
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path)


@pytest.mark.parametrize(
    ("src_name", "dst_name"), [("in.csv", "out.parquet"), ("in.parquet", "out.csv")]
)
def test_cli_pseudonymises_files_consistently(tmp_path: Path, src_name: str, dst_name: str) -> None:
    key_file = tmp_path / "key"
    key_file.write_bytes(KEY + b"\n")
    _write_people(tmp_path / src_name)
    result = _pseudonymise(
        tmp_path / src_name, tmp_path / dst_name,
        "--key-file", str(key_file), "--columns", "person_id,household_id",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    out = (
        pd.read_csv(tmp_path / dst_name, dtype=str, keep_default_na=False)
        if dst_name.endswith(".csv")
        else pd.read_parquet(tmp_path / dst_name).fillna("")
    )
    expected = pseudonymise_series(pd.Series(["A1", "B2", "A1"]), KEY).tolist()
    assert out["person_id"].tolist() == expected
    assert out["household_id"].tolist()[1] == ""
    assert out["n"].tolist() == ["007", "1", "2"]
    text = (tmp_path / dst_name).read_bytes()
    assert KEY not in text and KEY.decode() not in result.output


def test_cli_key_from_environment_and_never_printed(tmp_path: Path) -> None:
    _write_people(tmp_path / "in.csv")
    result = _pseudonymise(
        tmp_path / "in.csv", tmp_path / "out.csv", "--columns", "person_id",
        env={KEY_ENV_VAR: KEY.decode()},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert KEY.decode() not in result.output


@pytest.mark.parametrize(
    ("options", "env", "message"),
    [
        (("--columns", "person_id"), {KEY_ENV_VAR: "short"}, "too short"),
        (("--columns", "person_id"), {KEY_ENV_VAR: ""}, "no key"),
        (("--columns", "nhs_id"), {KEY_ENV_VAR: KEY.decode()}, "column 'nhs_id' not found"),
    ],
)
def test_cli_refuses_with_one_line_error(
    tmp_path: Path, options: tuple[str, ...], env: dict[str, str], message: str
) -> None:
    _write_people(tmp_path / "in.csv")
    result = _pseudonymise(tmp_path / "in.csv", tmp_path / "out.csv", *options, env=env)
    assert result.exit_code != 0
    assert result.output.startswith("error: ") and message in result.output
    assert "Traceback" not in result.output and "short" not in result.output.replace(
        "too short", ""
    )


def test_a_token_is_the_hmac_sha256_of_the_value_under_the_key() -> None:
    """Another system holding the key computes the same token (the specification's rule)."""
    expected = hmac.new(KEY, "Ä1-person".encode(), hashlib.sha256).hexdigest()
    assert token("Ä1-person", KEY) == expected
    assert pseudonymise_series(pd.Series(["Ä1-person"]), KEY).tolist() == [expected]


def test_a_key_of_exactly_32_bytes_is_accepted_and_surrounding_whitespace_dropped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_file = tmp_path / "key"
    key_file.write_bytes(b"  " + KEY + b"\n")
    monkeypatch.delenv(KEY_ENV_VAR, raising=False)
    assert load_key(key_file) == KEY
    monkeypatch.setenv(KEY_ENV_VAR, f" {KEY.decode()}\n")
    assert load_key(None) == KEY
    monkeypatch.setenv(KEY_ENV_VAR, KEY.decode()[:31])
    with pytest.raises(PseudonymisationError, match="key too short: 31 bytes, at least 32"):
        load_key(None)


def test_a_key_file_wins_over_the_environment_and_an_unreadable_one_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_file = tmp_path / "key"
    key_file.write_bytes(OTHER_KEY)
    monkeypatch.setenv(KEY_ENV_VAR, KEY.decode())
    assert load_key(key_file) == OTHER_KEY
    with pytest.raises(PseudonymisationError, match=f"cannot read key file {tmp_path}"):
        load_key(tmp_path / "missing.key")


@pytest.mark.parametrize(("src", "dst", "message"), [
    ("in.txt", "out.csv", "input in.txt: must end in .csv or .parquet"),
    ("in.csv", "out.json", "output out.json: must end in .csv or .parquet"),
    ("absent.csv", "out.csv", "not found"),
])
def test_files_are_refused_by_name_before_anything_is_written(
    tmp_path: Path, src: str, dst: str, message: str
) -> None:
    _write_people(tmp_path / "in.csv")
    (tmp_path / "in.txt").write_text("person_id\nA1\n", encoding="utf-8")
    with pytest.raises(PseudonymisationError, match=message):
        pseudonymise_file(tmp_path / src, tmp_path / dst, columns=["person_id"], key=KEY)
    assert not (tmp_path / dst).exists()


def test_upper_case_suffixes_are_read_and_written(tmp_path: Path) -> None:
    (tmp_path / "IN.CSV").write_text("person_id,n\nA1,1\nB2,2\nA1,3\n", encoding="utf-8")
    rows = pseudonymise_file(tmp_path / "IN.CSV", tmp_path / "OUT.CSV", columns=["person_id"],
                             key=KEY)
    out = pd.read_csv(tmp_path / "OUT.CSV", dtype=str)
    assert rows == 3 and out["person_id"].tolist()[0] == token("A1", KEY)


@pytest.mark.parametrize("dst_name", ["out.csv", "out.parquet"])
def test_the_output_has_the_inputs_columns_only_in_a_new_folder(
    tmp_path: Path, dst_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    _write_people(tmp_path / "in.csv")
    dst = tmp_path / "new" / "folder" / dst_name
    with caplog.at_level("INFO", logger="data_contracts.pseudonymise"):
        rows = pseudonymise_file(tmp_path / "in.csv", dst, columns=["person_id"], key=KEY)
    csv = dst_name.endswith(".csv")
    out = pd.read_csv(dst, dtype=str) if csv else pd.read_parquet(dst)
    columns = list(out.columns) if csv else pq.read_schema(dst).names  # as any reader sees it
    assert rows == 3
    assert columns == ["person_id", "household_id", "n"]
    assert out["person_id"].tolist() == [token("A1", KEY), token("B2", KEY), token("A1", KEY)]
    assert caplog.messages == ["pseudonymised 3 rows of in.csv"]


def test_an_unreadable_input_is_refused_with_the_readers_reason(tmp_path: Path) -> None:
    (tmp_path / "in.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(PseudonymisationError, match="in.parquet"):
        pseudonymise_file(tmp_path / "in.parquet", tmp_path / "out.csv", columns=["person_id"],
                          key=KEY)


def test_tokens_keep_the_rows_index_so_they_land_on_their_own_rows() -> None:
    cells = pd.Series(["A1", "B2"], index=[10, 20])
    tokens = pseudonymise_series(cells, KEY)
    assert tokens.index.tolist() == [10, 20]
    frame = pd.DataFrame({"person_id": ["B2", "A1"]}, index=[20, 10])
    frame["token"] = tokens
    assert frame["token"].tolist() == [token("B2", KEY), token("A1", KEY)]


@pytest.mark.parametrize("cells", [["A1", "", "B2", "A1"], ["", None]])
def test_tokens_are_arrow_text_like_every_feed_column(cells: list[str | None]) -> None:
    tokens = pseudonymise_series(pd.Series(cells, dtype=object), KEY)
    assert tokens.dtype == pd.StringDtype("pyarrow")
    expected = [token(c, KEY) if c else None for c in cells]
    assert [None if pd.isna(t) else t for t in tokens] == expected
