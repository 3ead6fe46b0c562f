"""The data flow data_contracts -> pipelines -> model -> api is enforced, not hoped for."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_import_layers_are_kept() -> None:
    lint_imports = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    result = subprocess.run(
        [lint_imports, "--config", str(ROOT / "pyproject.toml")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "KEPT" in result.stdout


def test_feed_specification_copy_is_in_step_with_shared() -> None:
    shared = ROOT.parent / "shared" / "feed-spec.md"
    copy = ROOT / "data_contracts" / "README.md"
    assert copy.is_file()
    if not shared.is_file():
        pytest.skip(f"the shared specification {shared} is absent: the copy is not compared")
    assert copy.read_text(encoding="utf-8") == shared.read_text(encoding="utf-8")


def test_only_the_spark_package_imports_pyspark() -> None:
    """The rest of the project never needs Java: pyspark is imported in pipelines/spark only."""
    importing = sorted(
        str(path.relative_to(ROOT))
        for package in ("data_contracts", "pipelines", "model", "api")
        for path in (ROOT / package).rglob("*.py")
        if re.search(r"^\s*(from|import)\s+(pyspark|py4j)\b", path.read_text(encoding="utf-8"),
                     re.MULTILINE)
    )
    assert importing, "the Spark package was expected to import pyspark"
    assert all(path.startswith("pipelines/spark/") for path in importing), importing
