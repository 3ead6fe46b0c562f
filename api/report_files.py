"""Writing a report's files whole: the governance pages read what `safeguard monitor` and
`safeguard report partnership` write (`api.web.reports`), and a page opened while a
command wrote its JSON read it cut short."""

from __future__ import annotations

import os
from pathlib import Path


def write_whole(path: Path, text: str) -> None:
    """Write `text` to `path` (UTF-8) beside it, then rename it over it: a reader sees the
    earlier file or the new one, never part of one, and a failed write leaves the earlier."""
    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
