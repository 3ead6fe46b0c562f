"""What a model card is built from, read from a registered version's run.

`CardSources` is a plain record of the version's run: metrics, parameters, its model
document (`risk_model.json`: features, governance settings, metadata), the evaluation
and explanation tables, the calibration plot and the fairness report. `read_sources`
fills it through the registry (the one MLflow module); `model.card` builds the card
from it without any I/O. A file the run does not hold is None, never an error: a card
says "not recorded".
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any, Final

import pandas as pd

from model.fairness import FAIRNESS_ARTIFACT as FAIRNESS_ARTIFACT
from model.registry import MODEL_ARTIFACT, ModelRegistry, VersionInfo
from model.risk_model import MODEL_FILE

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


def _json(data: bytes | None) -> dict[str, Any] | None:
    if data is None:
        return None
    value = json.loads(data.decode("utf-8"))
    return value if isinstance(value, dict) else None


def read_sources(registry: ModelRegistry, version: str) -> CardSources:
    """The sources of a version's card, from its run."""
    info = registry.resolve(version)
    tables = {}
    for name, path in _TABLES.items():
        data = registry.read_artifact(info.version, path)
        if data is not None:
            tables[name] = pd.read_csv(io.BytesIO(data))
    return CardSources(
        info=info,
        params=registry.run_params(info.version),
        model_document=_json(registry.read_artifact(info.version, MODEL_DOCUMENT_ARTIFACT))
        or {},
        training_report=_json(registry.read_artifact(info.version, TRAINING_REPORT)),
        tables=tables,
        calibration_png=registry.read_artifact(info.version, CALIBRATION_PLOT),
        fairness=_json(registry.read_artifact(info.version, FAIRNESS_ARTIFACT)),
    )
