"""pandera, imported without pyspark.pandas.

When PySpark is installed (the `spark` extra), ``import pandera`` imports
``pyspark.pandas`` as well (``pandera.external_config``), only so that a pandas
patch of PySpark's is in place before pandera's class-based models are defined. The
feed schemas are plain ``DataFrameSchema`` objects and never need it, and it costs
about 0.3 s of every command that validates a feed. So pandera is imported with
``pyspark.pandas`` marked as unavailable, and the mark is removed at once: code that
does need pyspark.pandas later (it is only imported in ``pipelines/spark``) imports it
as usual, and pandera still sets the Spark environment variables it sets today.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

_PYSPARK_PANDAS = "pyspark.pandas"


@contextmanager
def _without_pyspark_pandas() -> Iterator[None]:
    """Within the block, ``import pyspark.pandas`` raises ImportError (unless imported)."""
    if _PYSPARK_PANDAS in sys.modules:
        yield
        return
    sys.modules[_PYSPARK_PANDAS] = None  # type: ignore[assignment]  # import system's "absent"
    try:
        yield
    finally:
        if sys.modules.get(_PYSPARK_PANDAS, 0) is None:
            del sys.modules[_PYSPARK_PANDAS]


with _without_pyspark_pandas():
    import pandera.pandas as pa

__all__ = ["pa"]
