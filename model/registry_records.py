"""What the model registry (`model.registry`) hands back: a registered version as users
see it, and a model loaded from one. Plain records: reading them needs no MLflow.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from model.risk_model import RiskModel


@dataclass(frozen=True)
class VersionInfo:
    """A registered model version as users see it."""

    name: str
    version: str
    aliases: tuple[str, ...]
    created_at: int
    run_id: str
    source: str
    tags: dict[str, str]
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class LoadedModel:
    """A model loaded from the registry, checksum verified and golden set re-scored."""

    model: RiskModel
    info: VersionInfo
    golden: list[dict[str, Any]]
