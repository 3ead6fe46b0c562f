"""JSON without surprises: NaN and infinities are not JSON, so they become null."""

from __future__ import annotations

import math
from typing import Any


def finite(value: Any) -> Any:
    """`value` with every non-finite float (at any depth) None, and tuples lists."""
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def finite_number(value: object) -> float | None:
    """`value` as a float when it is a finite number (not a bool), else None: a figure read
    from a JSON document, a run's metrics or a table, where null, NaN or text mean none."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None
