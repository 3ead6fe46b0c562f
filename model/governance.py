"""Governance settings: bands, RAG colours, response timescales, escalation rules and
acceptance thresholds.

They live in a TOML file owned by the governance board (`model/governance.toml` is
the default), never in code, and the settings a model was trained with are stored
with every model version.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from data_contracts.vocab import AGENCIES, PRESENTING_NEEDS
from pipelines.manifest import SPECS_BY_NAME

# The metrics a model version is summed up by: stored with each model (`model.workflow`)
# and shown to the governance board.
HEADLINE_METRICS = ("test_roc_auc", "test_average_precision", "test_brier", "test_ece",
                    "baseline_roc_auc")


# The references an explanation may compare with (`model.reference` makes each and says
# it in one sentence).
ReferenceName = Literal["no_records", "training_medians"]


class GovernanceError(ValueError):
    """The governance settings file is missing, unreadable or inconsistent."""


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Band(_Frozen):
    """A band of scores with its colour and the response it asks for."""

    name: str = Field(min_length=1)
    min_score: int = Field(ge=1, le=20)
    rag: Literal["red", "amber", "green"]
    response_timescale: str = Field(min_length=1)


class EscalationRule(_Frozen):
    """A rule applied after the model: it can raise a band, never lower it."""

    name: str = Field(min_length=1)
    description: str = Field(min_length=1)
    features: tuple[str, ...] = Field(min_length=1)
    min_value: float
    minimum_band: str


class MonitoringSettings(_Frozen):
    """When `safeguard monitor` says a model needs attention (see `model.monitoring`)."""

    feature_psi_max: float = Field(default=0.25, gt=0)
    score_psi_max: float = Field(default=0.25, gt=0)
    coverage_min_ratio: float = Field(default=0.5, gt=0, le=1)
    coverage_min_training_share: float = Field(default=0.05, ge=0, le=1)
    coverage_group_gap_max: float = Field(default=2.0, gt=1)
    coverage_group_gap_rise: float = Field(default=0.25, ge=0)
    min_group_referrals: int = Field(default=100, ge=1)
    roc_auc_drop_max: float = Field(default=0.05, gt=0)
    ece_rise_max: float = Field(default=0.03, gt=0)
    calibration_ratio_lower: float = Field(default=0.8, gt=0, le=1)
    calibration_ratio_upper: float = Field(default=1.25, ge=1)
    min_matured_referrals: int = Field(default=200, ge=1)
    min_window_referrals: int = Field(default=500, ge=1)
    override_rate_max: float = Field(default=0.5, gt=0, le=1)
    # A category of referrals (a presenting need, a source, adults or children) whose share
    # rose or fell by this many times and points is "to watch" (`model.monitor_referral_mix`).
    mix_share_ratio: float = Field(default=1.5, gt=1)
    mix_share_points: float = Field(default=0.05, ge=0, le=1)
    min_decisions: int = Field(default=30, ge=1)


# The fewest bootstrap resamples an audit takes: with fewer, each end of a 95% interval
# rests on two or three resamples (with 1, every interval has no width).
MIN_RESAMPLES: Final = 100

class FairnessSettings(_Frozen):
    """How the fairness audit judges a model (`model.fairness`); the `[fairness]` table."""

    disparity_lower: float = Field(default=0.8, gt=0, le=1)
    disparity_upper: float = Field(default=1.25, ge=1)
    calibration_tolerance: float = Field(default=0.01, ge=0, le=1)
    min_group_size: int = Field(default=100, ge=1)
    suppression_threshold: int = Field(default=10, ge=0)
    selected_from_band: str = Field(default="high", min_length=1)
    bootstrap_resamples: int = Field(default=200, ge=MIN_RESAMPLES, le=10_000)
    train_bootstrap_resamples: int = Field(default=100, ge=MIN_RESAMPLES, le=10_000)
    interval_level: float = Field(default=0.95, gt=0, lt=1)
    seed: int = Field(default=0, ge=0)


class AcceptanceThresholds(_Frozen):
    """The bar a version must clear before it may be served (`model.acceptance` checks it).

    A disparity is a ratio against the reference group, read both ways (0.8 counts as
    1.25), so one maximum bounds it on either side.
    """

    min_roc_auc: float = Field(default=0.70, ge=0, le=1)
    max_ece: float = Field(default=0.05, ge=0, le=1)
    min_very_high_band_precision: float = Field(default=0.30, ge=0, le=1)
    max_selection_rate_disparity: float = Field(default=1.25, ge=1)
    max_false_positive_rate_disparity: float = Field(default=1.25, ge=1)
    max_true_positive_rate_disparity: float = Field(default=1.25, ge=1)
    max_group_calibration_gap: float = Field(default=0.05, ge=0, le=1)


class GovernanceSettings(_Frozen):
    """Everything a governance board decides about how scores are presented."""

    use_protected_characteristics: bool = False
    top_raising_factors: int = Field(default=5, ge=0, le=20)
    top_lowering_factors: int = Field(default=3, ge=0, le=20)
    explanation_reference: ReferenceName = "no_records"
    bands: tuple[Band, ...] = Field(min_length=1)
    escalation_rules: tuple[EscalationRule, ...] = ()
    usual_agencies: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    monitoring: MonitoringSettings = MonitoringSettings()
    fairness: FairnessSettings = FairnessSettings()
    acceptance: AcceptanceThresholds = Field(default_factory=AcceptanceThresholds)

    @model_validator(mode="after")
    def _consistent(self) -> GovernanceSettings:
        mins = [band.min_score for band in self.bands]
        if mins[0] != 1 or any(b <= a for a, b in zip(mins, mins[1:], strict=False)):
            raise ValueError("bands must start at min_score 1 and rise strictly")
        names = {band.name for band in self.bands}
        for rule in self.escalation_rules:
            unknown = [f for f in rule.features if f not in SPECS_BY_NAME]
            if unknown:
                raise ValueError(f"escalation rule {rule.name!r}: unknown features {unknown}")
            if rule.minimum_band not in names:
                raise ValueError(f"escalation rule {rule.name!r}: unknown band "
                                 f"{rule.minimum_band!r}; bands are {sorted(names)}")
        for need, agencies in self.usual_agencies.items():
            if need not in PRESENTING_NEEDS:
                raise ValueError(f"usual_agencies: unknown presenting need {need!r}")
            if bad := [a for a in agencies if a not in AGENCIES]:
                raise ValueError(f"usual_agencies[{need!r}]: unknown agencies {bad}")
        if self.fairness.selected_from_band not in names:
            raise ValueError(f"fairness.selected_from_band: unknown band "
                             f"{self.fairness.selected_from_band!r}; bands are {sorted(names)}")
        return self

    def band_index(self, scores: np.ndarray) -> np.ndarray:
        """Index into `bands` for each score (1 to 20)."""
        mins = np.array([band.min_score for band in self.bands])
        return np.searchsorted(mins, np.asarray(scores), side="right") - 1

    def band_named(self, name: str) -> int:
        """Index of a band by name."""
        return [band.name for band in self.bands].index(name)

    def selected_bands(self) -> tuple[str, ...]:
        """The bands the fairness audit counts as selected: `selected_from_band` and above."""
        first = self.band_named(self.fairness.selected_from_band)
        return tuple(band.name for band in self.bands[first:])

    def escalate(self, band_index: np.ndarray, features: np.ndarray,
                 feature_names: Sequence[str]) -> tuple[np.ndarray, list[list[EscalationRule]]]:
        """Apply escalation rules: the final band index per row and the rules that fired."""
        column = {name: i for i, name in enumerate(feature_names)}
        final = np.asarray(band_index).copy()
        fired: list[list[EscalationRule]] = [[] for _ in range(len(final))]
        for rule in self.escalation_rules:
            cols = [column[f] for f in rule.features]
            hit = np.flatnonzero((features[:, cols] >= rule.min_value).any(axis=1))
            floor = self.band_named(rule.minimum_band)
            np.maximum.at(final, hit, floor)
            for row in hit:
                fired[row].append(rule)
        return final, fired


def default_settings_text() -> str:
    """The shipped default settings file, as text."""
    return resources.files("model").joinpath("governance.toml").read_bytes().decode()


def parse_governance(text: str, *, source: str = "governance settings") -> GovernanceSettings:
    """Parse and check governance settings from TOML text."""
    try:
        data: Mapping[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise GovernanceError(f"{source}: not valid TOML: {exc}") from exc
    try:
        return GovernanceSettings.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}"
            for err in exc.errors()
        )
        raise GovernanceError(f"{source}: {problems}") from exc


def load_governance(path: Path | None = None) -> tuple[GovernanceSettings, str]:
    """Load governance settings (default file when `path` is None) and their text."""
    if path is None:
        text = default_settings_text()
        return parse_governance(text, source="model/governance.toml"), text
    try:
        text = path.read_bytes().decode()
    except OSError as exc:
        raise GovernanceError(f"{path}: cannot read governance settings: {exc}") from exc
    return parse_governance(text, source=str(path)), text
