"""What a model card is built from, read from a registered version's run.

`CardSources` is a plain record of the version's run: metrics, parameters, its model
document (`risk_model.json`: features, governance settings, metadata), the evaluation
and explanation tables, the calibration plot, the fairness report and the feature
manifest the version was trained on (`model.trained_manifest`). `read_sources`
fills it through the registry (the one MLflow module); `model.card` builds the card
from it without any I/O. A file the run does not hold is None, never an error: a card
says "not recorded".

`read_sources` reads each file once, and `CardSources.digests` holds the SHA-256 of
the very bytes the record was built from (`RECORDED_FILES`, with the cards logged at
training, and the run's metrics and parameters): what an approval names, so every
figure a board is shown, and every figure the acceptance checks read, is covered by it.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, Final

from model.registry import MODEL_ARTIFACT, ModelRegistry
from model.registry_records import VersionInfo
from model.risk_model import MODEL_FILE
from model.run_artifacts import EXTRACT_AUDIT_ARTIFACT
from model.run_artifacts import FAIRNESS_ARTIFACT as FAIRNESS_ARTIFACT
from model.trained_manifest import trained_manifest

if TYPE_CHECKING:
    import pandas as pd

# Where each file sits in a version's run (written by `model.workflow`; the fairness
# report's place is `model.fairness.FAIRNESS_ARTIFACT`).
CARD_HTML_ARTIFACT: Final = "card/model_card.html"
CARD_MARKDOWN_ARTIFACT: Final = "card/model_card.md"
MODEL_DOCUMENT_ARTIFACT: Final = f"{MODEL_ARTIFACT}/{MODEL_FILE}"
_TABLES: Final = {
    "rates_by_band": "evaluation/rates_by_band.csv",
    "rates_by_score": "evaluation/rates_by_score.csv",
    "importance_by_factor": "explanations/mean_abs_shap_by_factor.csv",
    "importance_by_agency": "explanations/mean_abs_shap_by_agency.csv",
}
CALIBRATION_PLOT: Final = "evaluation/calibration.png"
TRAINING_REPORT: Final = "evaluation/training_report.json"
# Every file of the run a card or the acceptance checks read, and the cards logged at
# training: an approval names the SHA-256 of each (None: the run has no such file).
RECORDED_FILES: Final = (MODEL_DOCUMENT_ARTIFACT, TRAINING_REPORT, *_TABLES.values(),
                         CALIBRATION_PLOT, FAIRNESS_ARTIFACT, CARD_HTML_ARTIFACT,
                         CARD_MARKDOWN_ARTIFACT, EXTRACT_AUDIT_ARTIFACT)
# Each recorded file in words, as the card and `safeguard model approve --help` say what
# an approval covers (the card named three files when it covered ten).
RECORDED_WORDS: Final[dict[str, str]] = {
    MODEL_DOCUMENT_ARTIFACT: "the model's own document", TRAINING_REPORT: "the training report",
    _TABLES["rates_by_band"]: "the outcome rates by band",
    _TABLES["rates_by_score"]: "the outcome rates by score",
    _TABLES["importance_by_factor"]: "the mean SHAP table by factor",
    _TABLES["importance_by_agency"]: "the mean SHAP table by agency",
    CALIBRATION_PLOT: "the calibration plot", FAIRNESS_ARTIFACT: "the fairness report",
    CARD_HTML_ARTIFACT: "the model card as logged at training (HTML)",
    CARD_MARKDOWN_ARTIFACT: "the model card as logged at training (Markdown)",
    EXTRACT_AUDIT_ARTIFACT: "the latest fairness audit of an extract"}
# What the run holds beside its files, named as its digests are.
RUN_METRICS: Final = "run metrics"
RUN_PARAMETERS: Final = "run parameters"


@dataclass(frozen=True)
class CardSources:
    """Everything recorded with a version that its card reports."""

    info: VersionInfo
    params: dict[str, str]
    model_document: dict[str, Any]
    training_report: dict[str, Any] | None
    tables: dict[str, pd.DataFrame]
    calibration_png: bytes | None
    fairness: dict[str, Any] | None
    # SHA-256 of each of `RECORDED_FILES` as read (None: no such file), and of the run's
    # metrics and parameters (`RUN_METRICS`, `RUN_PARAMETERS`).
    digests: dict[str, str | None]
    # The latest fairness audit of an extract (`safeguard audit fairness`; None: none).
    extract_audit: dict[str, Any] | None = None
    # The feature manifest version it was trained on (None: not recorded), read as a load
    # reads it; not among the digests: the model folder's copy is in the folder's checksum.
    trained_manifest: int | None = None


def sha256(data: bytes | None) -> str | None:
    """The SHA-256 of some bytes, in hex (None: no bytes, no such file)."""
    return None if data is None else hashlib.sha256(data).hexdigest()


def _canonical(values: dict[str, Any]) -> bytes:
    return json.dumps(values, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _json(data: bytes | None) -> dict[str, Any] | None:
    if data is None:
        return None
    value = json.loads(data.decode("utf-8"))
    return value if isinstance(value, dict) else None


def read_sources(registry: ModelRegistry, version: str) -> CardSources:
    """The sources of a version's card, from its run, with the digests of what was read."""
    info = registry.resolve(version)
    files = {path: registry.read_artifact(info.version, path) for path in RECORDED_FILES}
    params = registry.run_params(info.version)
    import pandas as pd  # only when a card is read: `model list` reads no table

    tables = {name: pd.read_csv(io.BytesIO(data)) for name, path in _TABLES.items()
              if (data := files[path]) is not None}
    return CardSources(
        info=info,
        params=params,
        model_document=_json(files[MODEL_DOCUMENT_ARTIFACT]) or {},
        training_report=_json(files[TRAINING_REPORT]),
        tables=tables,
        calibration_png=files[CALIBRATION_PLOT],
        fairness=_json(files[FAIRNESS_ARTIFACT]),
        digests={**{path: sha256(data) for path, data in files.items()},
                 RUN_METRICS: sha256(_canonical(dict(info.metrics))),
                 RUN_PARAMETERS: sha256(_canonical(dict(params)))},
        extract_audit=_json(files[EXTRACT_AUDIT_ARTIFACT]),
        trained_manifest=trained_manifest(partial(registry.read_artifact, info.version)),
    )
