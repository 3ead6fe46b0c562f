"""The record of what was planted in an extract, measured on it (``OUT.planted.json``).

An extract's files do not say which disparities it carries, so the generator writes,
beside the extract (like the truth file, never inside it), each mechanism with its
setting and its effect as realised: the group's records from the mechanism's agencies
as they happened and as the extract holds them. A recording bias of 2.5 realises a
little under 2.5 (extra records dated past the history's ends or recorded after the
extract date are not kept); a missing-information share of 0.6 keeps about 0.4.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipelines.synth.config import SynthConfig
from pipelines.synth.disparities import DISPARITIES, DISPARITY_BY_NAME
from pipelines.synth.events import Events
from pipelines.synth.plant import affected
from pipelines.synth.population import Population

PLANTED_SUFFIX = ".planted.json"


@dataclass(frozen=True)
class PlantedEffect:
    """One mechanism's setting and its realised effect on the group's records."""

    name: str
    strength: float
    active: bool
    true_records: int  # the group's records from the agencies, as they happened
    extract_records: int  # the same records as the extract holds them

    @property
    def realised(self) -> float | None:
        """Records in the extract per true record (None when the group has none)."""
        return self.extract_records / self.true_records if self.true_records else None

    def document(self) -> dict[str, Any]:
        """The JSON form, with the mechanism's description."""
        disparity = DISPARITY_BY_NAME[self.name]
        realised = self.realised
        return {
            "name": self.name, "kind": disparity.kind, "agencies": list(disparity.agencies),
            "ethnicity_group": disparity.ethnicity_group, "strength": self.strength,
            "off_at": disparity.off, "active": self.active,
            "true_records": self.true_records, "extract_records": self.extract_records,
            "realised_ratio": None if realised is None else round(realised, 4),
            "audit_finding": disparity.audit_finding if self.active else None,
        }


def planted_effects(
    true_events: Events, events: Events, population: Population, config: SynthConfig
) -> tuple[PlantedEffect, ...]:
    """Every mechanism (off when the settings do not name it), with the group's records
    before and after planting."""
    settings = dict(config.disparities)
    effects = []
    for disparity in DISPARITIES:
        strength = float(settings.get(disparity.name, disparity.off))
        effects.append(PlantedEffect(
            name=disparity.name, strength=strength, active=strength != disparity.off,
            true_records=int(np.count_nonzero(affected(true_events, population, disparity))),
            extract_records=int(np.count_nonzero(affected(events, population, disparity))),
        ))
    return tuple(effects)


def write_planted(effects: tuple[PlantedEffect, ...], path: Path, *, config: SynthConfig) -> None:
    """Write the record as JSON (nothing clock-dependent: the same seed, the same bytes)."""
    document = {
        "seed": config.seed, "n_referrals": config.n_referrals,
        "extract_date": config.extract_date.isoformat(),
        "group_membership": "ethnicity_group of the person's main household",
        "truth": "true_probability and label are computed before any planted effect",
        "disparities": [effect.document() for effect in effects],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
