"""A CSV feed file's bytes before its rows are parsed: UTF-8, lines, header row.

A CSV header is looked for in the first :data:`HEADER_MAX_BYTES` bytes only. Before
pyarrow reads a file, the file is checked to be UTF-8 (mapped, not copied, in chunks of
:data:`UTF8_CHUNK_BYTES`), so one that is not is refused naming the line of its first bad
byte, whatever that line holds: pyarrow could not show a row of the wrong number of fields
holding such a byte (its traceback, then a count of fields), and said nothing of the
encoding. Its lines are counted in the same pass (`data_contracts.csv_reading` checks the
rows it read against them).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Final, NamedTuple

import numpy as np
import pyarrow as pa

from data_contracts.errors import FeedRejected

HEADER_MAX_BYTES: Final = 64 * 1024
UTF8_CHUNK_BYTES: Final = 16 * 1024 * 1024
_NEWLINE: Final = ord("\n")
_RETURN: Final = ord("\r")


def _newlines(data: np.ndarray, line_end: int) -> int:
    return int(np.count_nonzero(data == line_end))


def _bad_byte(path: Path, line: int, byte: int) -> FeedRejected:
    """The refusal of a file not in UTF-8, naming the line and the byte that breaks it."""
    return FeedRejected(path.name, f"is not UTF-8 (line {line} holds the byte 0x{byte:02X}): "
                                   "save it as UTF-8")


def _not_utf8(path: Path, data: np.ndarray, chunk: slice, line: int, line_end: int
              ) -> FeedRejected:
    """The refusal of a file whose bytes ``data[chunk]`` (from ``line``) break UTF-8,
    naming the line and the byte that breaks it."""
    start, text = chunk.start, data[chunk].tobytes()
    try:
        text.decode("utf-8")
    except UnicodeDecodeError as exc:
        return _bad_byte(path, line + _newlines(data[start:start + exc.start], line_end),
                         text[exc.start])
    return FeedRejected(path.name, f"is not UTF-8 (from line {line}): save it as UTF-8")


def _chunk_end(data: np.ndarray, start: int) -> int:
    """Where a chunk of about UTF8_CHUNK_BYTES from ``start`` ends: at the end of the data,
    or before a character the chunk's end would cut in two."""
    end = start + UTF8_CHUNK_BYTES
    if end >= len(data):
        return len(data)
    lead = end
    while lead > end - 3 and data[lead] & 0xC0 == 0x80:  # a continuation byte
        lead -= 1
    return lead


def _is_utf8(data: pa.Buffer) -> bool:
    offsets = pa.array([0, data.size], pa.int64()).buffers()[1]
    try:
        pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, data]).cast(
            pa.large_string())  # Arrow's validation of UTF-8: vectorised, no copy
    except pa.ArrowInvalid:
        return False
    return True


def utf8_line_count(path: Path, line_end: int = _NEWLINE) -> int:
    """How many lines a file holds, once it is known to be UTF-8 (in the same pass: the
    count costs next to nothing). The file is mapped, not read (no copy). Lines end at
    ``line_end``: a line feed (CRLF too), or a carriage return in a file whose lines end
    in CR alone (`CsvHeader.line_end`).

    Raises:
        FeedRejected: One line naming the file, the line and the byte.
    """
    if path.stat().st_size == 0:
        return 0
    with pa.memory_map(str(path)) as mapped:
        buffer = mapped.read_buffer()
        data = np.frombuffer(buffer, np.uint8)
        start, newlines = 0, 0
        while start < len(data):
            end = _chunk_end(data, start)
            if not _is_utf8(buffer.slice(start, end - start)):
                raise _not_utf8(path, data, slice(start, end), newlines + 1, line_end)
            newlines += _newlines(data[start:end], line_end)
            start = end
        return newlines + (data[-1] != line_end)  # a last line without a line break too


class CsvHeader(NamedTuple):
    """A CSV file's header row, whether rows follow, and the byte ending its lines."""

    names: list[str]
    has_rows: bool
    # A line feed (of LF or CRLF), or a carriage return when the header's ends alone, as
    # old Mac programs and a spreadsheet's "CSV (Macintosh)" write them (pyarrow reads all
    # three): a file over 64 KiB was refused as having "no header row".
    line_end: int


def _first_line(start: bytes) -> tuple[bytes, bytes, int] | None:
    """The first line of ``start``, what follows its end and the byte ending it, or None
    when it has no end there."""
    ends = [at for at in (start.find(b"\n"), start.find(b"\r")) if at >= 0]
    if not ends:
        return None
    at = min(ends)
    alone = start[at] == _RETURN and start[at + 1:at + 2] != b"\n"
    return start[:at], start[at + 1:], _RETURN if alone else _NEWLINE


def csv_header(path: Path) -> CsvHeader:
    """The header row, read from the first HEADER_MAX_BYTES bytes, and whether rows follow."""
    with path.open("rb") as handle:
        start = handle.read(HEADER_MAX_BYTES + 1)
    first = _first_line(start)
    if first is None and len(start) > HEADER_MAX_BYTES:
        raise FeedRejected(path.name, f"no header row in its first {HEADER_MAX_BYTES:,} bytes")
    line, rest, line_end = first or (start, b"", _NEWLINE)
    try:
        text = line.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _bad_byte(path, 1, line[exc.start]) from None
    header = next(csv.reader([text]), None)
    if not header or not any(name.strip() for name in header):
        raise FeedRejected(path.name, "no header row")
    return CsvHeader(header, bool(rest.strip()) or len(start) > HEADER_MAX_BYTES, line_end)
