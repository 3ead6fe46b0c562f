"""docs/layout.md, which the README offers as every module by layer, names every module
of each layer's top folder (and of `api/store/`) in that layer's own entry: sixteen were
missing from it once. A name is looked for in its layer's entry, so a `cli.py` named
under one layer does not stand for another's."""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Each folder checked, and the layer whose entry ("- `model/`: ...") must name its modules.
FOLDERS = {"data_contracts": "data_contracts", "pipelines": "pipelines", "model": "model",
           "api": "api", "api/store": "api"}


def _entry(layer: str) -> str:
    """The text of a layer's entry: from its "- `layer/`" line to the next entry."""
    text = (ROOT / "docs" / "layout.md").read_text()
    found = re.search(rf"^- `{re.escape(layer)}/`.*?(?=^- `|\Z)", text, re.M | re.S)
    assert found, f"docs/layout.md has no entry for {layer}/"
    return found.group(0)


@pytest.mark.parametrize("folder", FOLDERS)
def test_layout_names_every_module(folder: str) -> None:
    names = set(re.findall(r"`([^`\s]+\.py)`", _entry(FOLDERS[folder])))
    patterns = [n for n in names if "*" in n]
    missing = [p.name for p in sorted((ROOT / folder).glob("*.py")) if p.name != "__init__.py"
               and p.name not in names and not any(fnmatch.fnmatch(p.name, g) for g in patterns)]
    assert not missing, f"docs/layout.md's {FOLDERS[folder]}/ entry names no {', '.join(missing)}"
