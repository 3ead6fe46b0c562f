"""docs/layout.md, which the README offers as every module by layer, names every module
of each layer's top folder (and of `api/store/`): eleven were missing from it once."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("data_contracts", "pipelines", "model", "api", "api/store")


def _named() -> tuple[set[str], list[str]]:
    names = set(re.findall(r"`([^`\s]+\.py)`", (ROOT / "docs" / "layout.md").read_text()))
    return {Path(n).name for n in names}, [n for n in names if "*" in n]


@pytest.mark.parametrize("folder", FOLDERS)
def test_layout_names_every_module(folder: str) -> None:
    names, patterns = _named()
    missing = [p.name for p in sorted((ROOT / folder).glob("*.py")) if p.name != "__init__.py"
               and p.name not in names and not any(fnmatch.fnmatch(p.name, g) for g in patterns)]
    assert not missing, f"docs/layout.md names no {', '.join(missing)} ({folder}/)"
