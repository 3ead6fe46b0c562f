"""`safeguard score --engine spark`: the registered model's ratings, computed on Spark.

The driver loads the registered model through `ModelRegistry.load` — the very check the
service runs: checksum against the registry's tag, golden set re-scored — so a changed
model is refused in a line before Spark starts or any output is touched (as the
single-machine path refuses it), then validates the extract; the feature table is built
on Spark from the manifest (`pipelines.spark`), and each executor's Python worker loads
the model once through the same check, then rates and explains its batches with
`model.score.rate_table`, the single-machine scorer. No pyspark import here: Spark is
driven through `pipelines.spark`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pandas as pd

from data_contracts.report import agencies_without_records, without_household_members
from model.explain import CaseExplainer
from model.explain_batch import COLUMNS as EXPLANATION_COLUMNS
from model.feed_notices import feed_notices, referrals_concerned
from model.late_warning import FeedNotice
from model.registry import ModelRegistry, RegistryError
from model.risk_model import RiskModel
from model.score import Scored, rate_table
from model.service import explainer_for
from pipelines.spark.batches import map_batches, worker_error, write_parquet
from pipelines.spark.errors import out_of_memory_refused
from pipelines.spark.features import spark_feature_table
from pipelines.spark.job import session_and_extract

# The columns `model.score.rate_table` writes, as Spark types.
RATING_TYPES: Final[dict[str, str]] = {
    "referral_id": "string",
    "probability": "double",
    "score": "bigint",
    "band": "string",
    "rag": "string",
    "response_timescale": "string",
    "model_band": "string",
    "escalations": "string",
    "model_version": "string",
}
NUMERIC_EXPLANATIONS: Final = frozenset({"raw_score", "base_value"})


def rating_schema(*, explain: bool) -> str:
    """The ratings table's columns as a Spark DDL string."""
    types = dict(RATING_TYPES)
    if explain:
        types |= {
            key: "double" if key in NUMERIC_EXPLANATIONS else "string"
            for key in EXPLANATION_COLUMNS
        }
    return ", ".join(f"{name} {kind}" for name, kind in types.items())


@dataclass(frozen=True)
class ModelSource:
    """Where an executor finds the registered model: picklable, hashable."""

    tracking_uri: str
    model_name: str
    artifact_root: str | None
    version: str
    explain: bool
    shared_nothing: tuple[str, ...] = ()  # agencies with no record in the extract scored
    notices: tuple[FeedNotice, ...] = ()  # of agencies late or silent in it


# Per Python worker: models loaded (and checked) once, reused by every later batch.
_LOADED: dict[ModelSource, tuple[RiskModel, CaseExplainer | None]] = {}


def loaded_model(source: ModelSource) -> tuple[RiskModel, CaseExplainer | None]:
    """The model (and explainer) of ``source``, loaded and verified on first use."""
    if source not in _LOADED:
        registry = ModelRegistry(
            source.tracking_uri, model_name=source.model_name, artifact_root=source.artifact_root
        )
        model = registry.load(source.version).model
        explainer = (explainer_for(model).for_extract(source.shared_nothing, source.notices)
                     if source.explain else None)
        _LOADED[source] = (model, explainer)
    return _LOADED[source]


@dataclass(frozen=True)
class RateBatches:
    """The `mapInPandas` function: feature batches -> rating batches."""

    source: ModelSource

    def __call__(self, batches: Iterable[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        model, explainer = loaded_model(self.source)
        for batch in batches:
            yield rate_table(
                model, batch, model_version=self.source.version, explainer=explainer, n_jobs=1
            )


def score_extract_spark(
    input_dir: str | Path,
    output: str,
    *,
    registry: ModelRegistry,
    reference: str,
    extract_date: dt.date | None = None,
    explain: bool = True,
    master: str | None = None,
    settings: Mapping[str, str] | None = None,
) -> Scored:
    """Score every referral of an extract on Spark; write the ratings as Parquet.

    Returns:
        The number of referrals scored, the model version used, and the agencies that
        shared no record (no table: it stays where Spark wrote it).

    Raises:
        FeedRejected: If the extract fails validation (no Spark session is started when
            it is a local folder).
        RegistryError: If the reference names no version, or the driver or an executor
            finds the model changed (checksum) or not reproducing its golden set: the
            message the single-machine path gives.
        SparkOutOfMemory: If the job runs out of memory (the cause and the fix, one line).
    """
    info = registry.resolve(reference)
    registry.load(info.version)  # refused here, before Spark starts, if it has changed
    spark, extract = session_and_extract(input_dir, master=master, settings=settings,
                                         extract_date=extract_date)
    feeds = extract.feeds
    shared_nothing = agencies_without_records(feeds)
    without_household = without_household_members(feeds)
    notices = feed_notices(feeds, extract_date=extract.extract_date)
    source = ModelSource(registry.tracking_uri, registry.model_name, registry.artifact_root,
                         info.version, explain, shared_nothing, notices)
    with out_of_memory_refused(spark):
        ratings = map_batches(
            spark_feature_table(spark, feeds), RateBatches(source), rating_schema(explain=explain)
        )
        try:
            write_parquet(ratings, output)
        except Exception as exc:
            message = worker_error(exc, RegistryError.__name__)
            if message is None:
                raise
            raise RegistryError(message) from None
    concerned = referrals_concerned(notices, feeds["referrals"]["referral_date"])
    return Scored(len(feeds["referrals"]), info, shared_nothing, extract.quarantined_rows(),
                  without_household=without_household,
                  notices=tuple(zip(notices, concerned, strict=True)))


def collect_ratings(frame: Any) -> pd.DataFrame:
    """A Spark ratings table as pandas (for tests and small outputs)."""
    return frame.toPandas()
