"""Executable contracts for the agency feeds (specification: data_contracts/README.md).

The public API is imported lazily so that ``import data_contracts`` (and the
vocabularies) stays cheap; pandas, pyarrow and pandera load on first use.
"""

from __future__ import annotations

import importlib
import warnings
from typing import TYPE_CHECKING, Any, Final

# pandera imports pyspark.pandas whenever PySpark is installed (the `spark` extra), and
# PySpark 4.3 then warns, on every command, that pandas 3 is "not yet fully supported".
# The paths this project uses with PySpark are tested end to end with pandas 3.1
# (tests/spark), so the warning would only clutter each command's output.
PYSPARK_PANDAS_WARNING: Final = "PySpark does not yet fully support pandas"
warnings.filterwarnings("ignore", message=PYSPARK_PANDAS_WARNING, category=FutureWarning)

if TYPE_CHECKING:
    from data_contracts.errors import FeedRejected
    from data_contracts.report import write_validation_report
    from data_contracts.validate import ValidatedExtract, validate_extract, validate_frames

__all__ = [
    "FeedRejected",
    "ValidatedExtract",
    "validate_extract",
    "validate_frames",
    "write_validation_report",
]

_HOMES = {
    "FeedRejected": "data_contracts.errors",
    "ValidatedExtract": "data_contracts.validate",
    "validate_extract": "data_contracts.validate",
    "validate_frames": "data_contracts.validate",
    "write_validation_report": "data_contracts.report",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'data_contracts' has no attribute {name!r}")
