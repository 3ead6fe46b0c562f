"""Where a command may write its one output file, judged before any work: `features` and
`score` both ask here, so a table or ratings file that cannot be written is refused in
one line at once, not after the extract has been validated, built and scored."""

from __future__ import annotations

import os
from pathlib import Path


def file_place_refusal(path: Path, *, what: str) -> str | None:
    """Why a file (`what`: "feature table", "ratings file") cannot be written at `path`,
    or None when it can: the path is a folder, exists and cannot be replaced, or its
    nearest existing folder is a file or not writable (missing folders are made when
    the file is written)."""
    if path.is_dir():
        return f"{path}: is a folder; name the {what}"
    if path.exists() and not os.access(path, os.W_OK):
        return f"{path}: exists and this user cannot replace it"
    folder = next(p for p in (path.absolute().parent, *path.absolute().parents) if p.exists())
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        return f"{path}: cannot write there ({folder} is not a folder this user can write to)"
    return None
