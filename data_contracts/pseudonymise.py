"""Pseudonymisation of identifier columns with a keyed hash (HMAC-SHA256).

Tokens are the full 64-character lowercase hex digest of HMAC-SHA256(key, value),
which fits the feed token format (``[A-Za-z0-9_-]{1,64}``). Nothing is truncated,
so two different values collide with probability about n**2 / 2**257 for n
distinct values: for a billion values, about 1e-59. The same key and value give
the same token in every file; a different key gives unlinkable tokens.

The key comes from a key file or the ``SAFEGUARD_PSEUDONYMISATION_KEY``
environment variable, never from the command line, and must be at least
:data:`MIN_KEY_BYTES` bytes. It is never logged or printed.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from data_contracts.csv_output import write_csv
from data_contracts.errors import FeedRejected
from data_contracts.feed_files import feed_named
from data_contracts.reading import STRING_DTYPE, read_table
from data_contracts.vocab import FEED_COLUMNS

logger = logging.getLogger(__name__)

KEY_ENV_VAR: Final = "SAFEGUARD_PSEUDONYMISATION_KEY"
MIN_KEY_BYTES: Final = 32
_FORMATS: Final = (".csv", ".parquet")


class PseudonymisationError(ValueError):
    """Pseudonymisation cannot proceed; the message never contains the key."""


def _one_line_columns(path: Path, columns: Sequence[str]) -> set[str]:
    """The columns of a file that cannot hold a line break: those pseudonymised, and the
    specification's of the feed the file's name names. A double quote left unclosed in
    one refuses the file (`csv_quotes`): the rows it swallowed were written inside one
    cell, their identifiers as they were."""
    feed = feed_named(path.name)
    return set(columns) | set(FEED_COLUMNS[feed] if feed else ())


def load_key(key_file: Path | None = None) -> bytes:
    """The pseudonymisation key, from ``key_file`` or else the environment.

    Surrounding whitespace (a trailing newline in the file) is not part of the key.

    Raises:
        PseudonymisationError: No key, an unreadable file, or a key shorter than 32 bytes.
    """
    if key_file is not None:
        try:
            key = key_file.read_bytes().strip()
        except OSError as exc:
            raise PseudonymisationError(f"cannot read key file {key_file}") from exc
    elif os.environ.get(KEY_ENV_VAR):
        key = os.environ[KEY_ENV_VAR].strip().encode()  # UTF-8
    else:
        raise PseudonymisationError(f"no key: give --key-file or set {KEY_ENV_VAR}")
    if len(key) < MIN_KEY_BYTES:
        raise PseudonymisationError(
            f"key too short: {len(key)} bytes, at least {MIN_KEY_BYTES} needed"
        )
    return key


def token(value: str, key: bytes) -> str:
    """The pseudonymous token of one value."""
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()  # UTF-8


def pseudonymise_series(values: pd.Series, key: bytes) -> pd.Series:
    """Tokens for a column; missing and empty cells stay missing.

    Each distinct value is hashed once, so a million rows of a few thousand persons is quick.
    """
    text = values.astype(STRING_DTYPE)
    text = text.mask(text == "")  # missing
    codes, uniques = pd.factorize(text)  # code -1 for a missing cell
    tokens = pd.array([token(str(v), key) for v in uniques] + [pd.NA])  # -1 takes the last
    return pd.Series(tokens.take(codes), index=values.index, dtype=STRING_DTYPE)


def _check_path(path: Path, role: str) -> None:
    if path.suffix.lower() not in _FORMATS:
        raise PseudonymisationError(f"{role} {path.name}: must end in .csv or .parquet")


def pseudonymise_file(
    input_path: Path, output_path: Path, *, columns: Sequence[str], key: bytes
) -> int:
    """Replace ``columns`` of a CSV or Parquet file by tokens and write the result.

    CSV cells are read and written as text, so other columns pass through unchanged.

    Returns:
        Number of rows written.

    Raises:
        PseudonymisationError: Bad file names, unreadable input or a missing column.
    """
    _check_path(input_path, "input")
    _check_path(output_path, "output")
    if not input_path.is_file():
        raise PseudonymisationError(f"input {input_path} not found")
    try:
        table = read_table(input_path, one_line=_one_line_columns(input_path, columns))
    except FeedRejected as exc:
        raise PseudonymisationError(str(exc)) from exc
    missing = [c for c in columns if c not in table.column_names]
    if missing:
        raise PseudonymisationError(f"{input_path.name}: column '{missing[0]}' not found")
    text = {pa.string(): STRING_DTYPE, pa.large_string(): STRING_DTYPE}
    frame = table.to_pandas(types_mapper=text.get)
    for column in columns:
        frame[column] = pseudonymise_series(frame[column], key)
    output_path.parent.mkdir(parents=True, exist_ok=True)
    if output_path.suffix.lower() == ".csv":
        write_csv(frame, output_path, feed=True)
    else:
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), output_path)
    logger.info("pseudonymised %d rows of %s", len(frame), input_path.name)
    return len(frame)
