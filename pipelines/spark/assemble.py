"""The wide feature table assembled on the executors (`mapInPandas`), batch by batch.

Each input row is one referral: its audit columns, the features Spark computed as
columns, and its cells as parallel arrays (`pipelines.spark.plan.cell_aggregates`).
The cells are scattered into the count, recency and coverage features by rules compiled
from the manifest (`pipelines.spark.scatter`); the output has the single-machine
engine's columns: audit columns, then every manifest feature in order, float32.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Final

import numpy as np
import pandas as pd

from pipelines.features import AUDIT_COLUMNS, FEATURE_DTYPE
from pipelines.manifest import FEATURE_NAMES, MANIFEST, WINDOWS
from pipelines.spark.scatter import (
    HELD,
    LATEST,
    MEASURES,
    SCATTERED_KINDS,
    compile_rules,
    scatter,
)

CELL_COLUMNS: Final[tuple[str, ...]] = tuple(
    f"_cell_{name}" for name in ("_cell", *(w for w, _d in WINDOWS), MEASURES[LATEST])
)
COLUMN_FEATURES: Final[tuple[str, ...]] = tuple(
    spec.name for spec in MANIFEST if spec.kind not in SCATTERED_KINDS
)


def _cells(batch: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each cell's batch row, cell number and measures (cells x `MEASURES`)."""
    arrays = {
        name: [
            np.asarray(a, dtype=np.int64) if a is not None else np.empty(0, np.int64)
            for a in batch[name]
        ]
        for name in CELL_COLUMNS
    }
    lengths = np.array([len(a) for a in arrays[CELL_COLUMNS[0]]], dtype=np.int64)
    row = np.repeat(np.arange(len(batch)), lengths)
    flat = [
        np.concatenate(arrays[name]) if len(batch) else np.empty(0, np.int64)
        for name in CELL_COLUMNS
    ]
    measures = np.empty((len(row), len(MEASURES)), dtype=np.float64)
    measures[:, :HELD] = np.column_stack(flat[1:]) if len(row) else 0.0
    measures[:, HELD] = 1.0
    return row, flat[0], measures


def assemble_batches(batches: Iterable[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """`mapInPandas` function: referral rows with cells -> feature table rows."""
    rules = compile_rules()
    position = {name: i for i, name in enumerate(FEATURE_NAMES)}
    for batch in batches:
        matrix = np.full((len(batch), len(FEATURE_NAMES)), np.nan)
        for name in COLUMN_FEATURES:
            matrix[:, position[name]] = batch[name].to_numpy(np.float64, na_value=np.nan)
        row, cell, measures = _cells(batch)
        scatter(matrix, row, cell, measures, rules)
        features = pd.DataFrame(matrix.astype(FEATURE_DTYPE), columns=list(FEATURE_NAMES))
        yield pd.concat([batch[list(AUDIT_COLUMNS)].reset_index(drop=True), features], axis=1)
