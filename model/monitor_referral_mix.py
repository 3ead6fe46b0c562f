"""`safeguard monitor`'s words for a change in the mix of referrals: presenting need,
referral source and who is referred, each category's share of the window's referrals
against its share at training.

The drift check judges each model feature alone by its PSI, and a need's indicator is one
feature among 540: a probe's domestic-abuse referrals, 17.9% of referrals at training and
39.3% after, read PSI 0.232 under the 0.25 threshold, and nothing said so in words. A
category whose share rose or fell by `mix_share_ratio` times and `mix_share_points` is
listed as "to watch" (never crossed: a new mix is no fault of the model, but the model's
figures at training were for the old one; its calibration and the drift of the
category's features are the checks that say whether it still serves). The shares at
training are read from the monitoring reference's bins of each category's indicator
feature; a category the model does not read (no bins) is left out.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import pandas as pd

from data_contracts.vocab import PRESENTING_NEEDS, REFERRAL_SOURCES
from model.governance import MonitoringSettings
from model.monitoring import Check
from pipelines.feature_spec import ADULT_AT_RISK, need_feature_name, source_feature_name
from pipelines.phrases import NEED_PHRASES, SOURCE_PHRASES

KIND: Final = "referral_mix"
SECTION: Final = "referral_mix"
# Per kind of category: its categories, each with its indicator feature and its words.
_GROUPS: Final = (
    ("presenting need", [(need, need_feature_name(need), f"{NEED_PHRASES[need]} referrals")
                         for need in PRESENTING_NEEDS]),
    ("referral source", [(source, source_feature_name(source),
                          f"referrals {SOURCE_PHRASES[source]}") for source in REFERRAL_SOURCES]),
)


def _share_at_training(bins: dict[str, Any]) -> float | None:
    """The reference's share of an indicator feature at 1: that of the value bin holding 1
    (`model.drift.Bins`: ``len(edges) + 1`` value bins, then the "no value" bin)."""
    edges = [-np.inf, *bins["edges"], np.inf]
    inclusive = bins.get("upper_inclusive", False)
    for i, share in enumerate(bins["shares"][:-1]):
        low, high = edges[i], edges[i + 1]
        if (low < 1.0 <= high) if inclusive else (low <= 1.0 < high):
            return float(share)
    return None


def _shares(reference: dict[str, Any], features: pd.DataFrame,
            categories: list[tuple[str, str, str]]) -> list[tuple[str, str, float, float]]:
    """(category, words, share at training, share now) of each category of a kind."""
    bins = reference["features"]
    return [(category, words, then, _share_now(features, name))
            for category, name, words in categories
            if name in bins and name in features.columns
            and (then := _share_at_training(bins[name])) is not None]


def _share_now(features: pd.DataFrame, name: str) -> float:
    return float(np.mean(features[name].to_numpy(dtype=np.float64) > 0.5))


def _changed(then: float, now: float, settings: MonitoringSettings) -> bool:
    if abs(now - then) < settings.mix_share_points:
        return False
    return now >= then * settings.mix_share_ratio or now * settings.mix_share_ratio <= then


def _how_much(then: float, now: float) -> str:
    if then <= 0:
        return "none at training"
    ratio = now / then
    return (f"{ratio:.1f} times its share at training" if ratio >= 1
            else f"{ratio:.0%} of its share at training")


def referral_mix(reference: dict[str, Any], features: pd.DataFrame,
                 settings: MonitoringSettings, *, judged: bool
                 ) -> tuple[dict[str, Any], list[Check]]:
    """Each category's share at training and now (`monitor.json`'s `referral_mix`), and a
    "to watch" check (never crossed) per category whose share changed by the settings'
    ratio and points; none when the window is too small to judge (`judged` False)."""
    kinds = [(kind, _shares(reference, features, categories)) for kind, categories in _GROUPS]
    if ADULT_AT_RISK in reference["features"] and ADULT_AT_RISK in features.columns:
        then = _share_at_training(reference["features"][ADULT_AT_RISK])
        if then is not None:
            now = _share_now(features, ADULT_AT_RISK)
            kinds.append(("person referred", [
                ("adult_at_risk", "referrals of adults at risk", then, now),
                ("child", "referrals of children", 1.0 - then, 1.0 - now)]))
    section = {kind: [{"category": c, "training_share": then, "share": now}
                      for c, _, then, now in rows] for kind, rows in kinds}
    checks = [Check(KIND, f"{kind}={category}", False,
                    f"referral mix ({kind}): {words} were {then:.1%} of referrals at "
                    f"training and {now:.1%} in the window ({_how_much(then, now)}): the "
                    "model's figures at training were for the earlier mix")
              for kind, rows in kinds for category, words, then, now in rows
              if judged and _changed(then, now, settings)]
    return section, checks
