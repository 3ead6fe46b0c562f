"""Batch scoring: a feature table and a model to one rating row per referral."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, NamedTuple

import numpy as np
import pandas as pd

from data_contracts.csv_output import write_csv
from data_contracts.output_paths import file_place_refusal
from model.data import prepare_extract
from model.feed_notices import applies_to, referrals_concerned
from model.risk_model import Ratings, RiskModel
from pipelines.manifest import FEATURE_NAMES

if TYPE_CHECKING:  # explanations (SHAP) are imported only when a score is explained
    from model.explain import CaseExplainer
    from model.governance import EscalationRule
    from model.late_warning import FeedNotice
    from model.registry import ModelRegistry
    from model.registry_records import VersionInfo

OUTPUT_FORMATS: Final = (".csv", ".parquet")
# What a batch score says once of the point-in-time rule: on a historical extract nearly
# every referral has records known after its date (the API's score counts them for a
# live case, where one is news; a row's warning would be on 97% of a synthetic extract's).
POINT_IN_TIME_NOTE: Final = (
    "Each referral was scored on what was known on its date: records about its subject or "
    "household known only after that date are not counted (`safeguard report partnership` "
    "counts, per agency, the records that arrived after a referral's date).")


class Scored(NamedTuple):
    """What a batch scoring run did (either engine)."""

    rows: int  # referrals scored
    info: VersionInfo  # the model version used (its checksum tag: `model_sha256`)
    shared_nothing: tuple[str, ...]  # agencies with no accepted record in the extract
    quarantined_rows: dict[str, int]  # rows quarantined per feed (not scored, not used)
    table: pd.DataFrame | None = None  # the ratings written (the single-machine engine)
    without_household: bool = False  # the extract linked no household member
    # Of agencies late or silent in the extract (`model.feed_notices`), each with the
    # number of referrals it concerned.
    notices: tuple[tuple[FeedNotice, int], ...] = ()

    @property
    def model_sha256(self) -> str | None:
        """The SHA-256 of the model folder scored with: its checksum tag, which every load
        of it (`ModelRegistry.load`; on Spark the driver's and each worker's) hashed the
        folder and checked against, or refused it."""
        from model.registry import CHECKSUM_TAG

        return self.info.tags.get(CHECKSUM_TAG)


class OutputFormatError(ValueError):
    """The output file cannot be written: its extension names no supported format, or
    its place is not a writable folder."""


def check_output_path(path: Path) -> None:
    """Refuse, before any work, an output file whose extension is not .csv or .parquet,
    that is a folder, or whose nearest existing folder cannot be written to."""
    if path.suffix.lower() not in OUTPUT_FORMATS:
        raise OutputFormatError(f"{path}: the output format follows the file extension; "
                                f"use one of {', '.join(OUTPUT_FORMATS)}")
    refusal = file_place_refusal(path, what="ratings file")
    if refusal:
        raise OutputFormatError(refusal)


def rate_table(model: RiskModel, features: pd.DataFrame, *, model_version: str,
               explainer: CaseExplainer | None = None, n_jobs: int = 2) -> pd.DataFrame:
    """Ratings of every referral of a feature table (rows in the table's order).

    With an explainer, each row also gets ``raw_score`` (log-odds), ``base_value`` (the
    reference referral's score), ``compared_with`` (that reference, in a sentence),
    ``top_factors``, ``contributions_by_agency`` (base value + their sum = raw score),
    ``agencies_not_seen`` and ``warnings``, JSON-encoded.
    """
    matrix = features[list(FEATURE_NAMES)].to_numpy(dtype=np.float32)
    if explainer is None:
        return _ratings_frame(model, features, model.rate(matrix), model_version)
    columns = _explanations(explainer, features, matrix, n_jobs=n_jobs)
    ratings = model.rate(matrix, raw_score=np.asarray(columns["raw_score"]))
    return _ratings_frame(model, features, ratings, model_version).assign(**columns)


def _explanations(explainer: CaseExplainer, features: pd.DataFrame, matrix: np.ndarray, *,
                  n_jobs: int) -> dict[str, Any]:
    """The explanation columns, each referral explained with the explainer's notices
    that apply to its date (`model.late_warning.FeedNotice.applies_from`): the rows of
    each set of notices explained together, then put back in the table's order."""
    notices = explainer.notices
    if not any(notice.applies_from for notice in notices):
        return explainer.explain_columns(matrix, n_jobs=n_jobs)
    which = np.zeros(len(matrix), dtype=np.int64)
    for bit, applies in enumerate(applies_to(notices, features["referral_date"])):
        which |= applies.astype(np.int64) << bit
    parts = []
    for code in np.unique(which).tolist():
        rows = np.flatnonzero(which == code)
        chosen = tuple(notice for bit, notice in enumerate(notices) if code >> bit & 1)
        columns = explainer.with_notices(chosen).explain_columns(matrix[rows], n_jobs=n_jobs)
        parts.append(pd.DataFrame(columns, index=rows, copy=False))
    joined = pd.concat(parts).sort_index().reset_index(drop=True)
    return {name: joined[name] for name in joined.columns}


def _ratings_frame(model: RiskModel, features: pd.DataFrame, ratings: Ratings,
                   model_version: str) -> pd.DataFrame:
    bands = model.governance.bands

    def by_band(field: str, index: np.ndarray) -> np.ndarray:
        # Looked up once per band, not once per referral.
        return np.array([getattr(band, field) for band in bands], dtype=object)[index]

    return pd.DataFrame({
        "referral_id": features["referral_id"].astype(str).to_numpy(),
        "probability": ratings.probability,
        "score": ratings.score.astype(np.int64),
        "band": by_band("name", ratings.band),
        "rag": by_band("rag", ratings.band),
        "response_timescale": by_band("response_timescale", ratings.band),
        "model_band": by_band("name", ratings.model_band),
        "escalations": _escalation_names(ratings.escalations),
        "model_version": model_version,
    })


def _escalation_names(escalations: list[list[EscalationRule]]) -> list[str]:
    """The rules that fired for each referral as a JSON list of names; most referrals share
    one of a few lists, so each distinct list is encoded once."""
    encoded: dict[tuple[str, ...], str] = {}
    names = []
    for fired in escalations:
        key = tuple(rule.name for rule in fired)
        if (text := encoded.get(key)) is None:
            text = encoded[key] = json.dumps(list(key))
        names.append(text)
    return names


def write_table(table: pd.DataFrame, path: Path) -> None:
    """Write CSV or Parquet by the file's extension, whole or not at all."""
    check_output_path(path)
    # Written beside it, then renamed over it: a failed write (a full disk) leaves the
    # earlier file whole rather than a truncated one.
    partial = path.with_name(f".{path.name}.partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix.lower() == ".csv":
            write_csv(table, partial)
        else:
            table.to_parquet(partial, index=False)
        os.replace(partial, path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise OutputFormatError(f"{path}: cannot be written ({exc.strerror or exc})") from exc


def score_extract(input_dir: Path, output: Path, *, registry: ModelRegistry, reference: str,
                  extract_date: dt.date | None = None, explain: bool = True,
                  progress: Callable[[str], None] = lambda _stage: None) -> Scored:
    """Score every referral of an extract with a registered model; write CSV or Parquet."""
    check_output_path(output)
    progress(f"loading model {reference}")
    version = registry.resolve(reference).version  # an unknown version fails before any work
    # The model loads (checksum, golden set: mostly Python) beside the validation and the
    # features (mostly pyarrow and NumPy, which release the GIL). A model that fails to
    # load is still the error reported, as when it loaded first.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="model-load") as beside:
        loading = beside.submit(registry.load, version)
        try:
            prepared = prepare_extract(input_dir, extract_date=extract_date, with_labels=False,
                                       keep_feeds=False, progress=progress)
        except BaseException:
            loading.result()
            raise
        loaded = loading.result()
    progress("scoring and explaining" if explain else "scoring")
    explainer = None
    if explain:
        from model.service import explainer_for

        explainer = explainer_for(loaded.model).for_extract(prepared.shared_nothing,
                                                            prepared.notices)
    table = rate_table(loaded.model, prepared.features, model_version=loaded.info.version,
                       explainer=explainer)
    progress("writing")
    write_table(table, output)
    concerned = referrals_concerned(prepared.notices, prepared.features["referral_date"])
    return Scored(len(table), loaded.info, prepared.shared_nothing, prepared.quarantined_rows,
                  table, prepared.without_household,
                  tuple(zip(prepared.notices, concerned, strict=True)))
