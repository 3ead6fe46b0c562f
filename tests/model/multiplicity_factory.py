"""A TEST FACTORY for the fairness audit's correction for many comparisons: referrals with
no difference between any groups (the model calibrated for all, selection by the
predicted risk alone), into which one strong disparity can be planted."""

from __future__ import annotations

import numpy as np
import pandas as pd

ETHNICITIES = ("white", "asian", "black", "mixed", "other", "unknown")
SHARES = (0.70, 0.10, 0.08, 0.05, 0.04, 0.03)


def null_referrals(n: int, seed: int) -> pd.DataFrame:
    """`n` labelled, rated referrals with no difference planted: every group and
    intersection the audit compares (about 90) differs only by chance."""
    rng = np.random.default_rng(seed)
    probability = rng.beta(1.2, 6.0, n)
    return pd.DataFrame({
        "ethnicity_group": rng.choice(ETHNICITIES, n, p=SHARES),
        "sex": rng.choice(["female", "male"], n),
        "disability": rng.uniform(size=n) < 0.15,
        "age_years": rng.choice([0, 3, 7, 12, 16, 40, 70], n,
                                p=[0.08, 0.2, 0.22, 0.25, 0.1, 0.1, 0.05]),
        "imd_decile": rng.integers(1, 11, n),
        "subject_type": "child",
        "label": (rng.uniform(size=n) < probability).astype(int),
        "probability": probability,
        "band": np.where(probability > 0.3, "high", "low"),
    })


def planted(frame: pd.DataFrame, seed: int, *, group: str = "asian",
            kind: str = "calibration") -> pd.DataFrame:
    """One strong disparity for one ethnicity group: outcomes 6 points above the risk
    predicted ("calibration"), or 30% of those selected placed below the selected bands
    ("selection": a selection ratio about 0.7)."""
    rng = np.random.default_rng(seed + 1000)
    out = frame.copy()
    rows = (out["ethnicity_group"] == group).to_numpy()
    if kind == "calibration":
        truth = np.clip(out["probability"].to_numpy() + 0.06, 0, 1)
        drawn = (rng.uniform(size=len(out)) < truth).astype(int)
        out["label"] = np.where(rows, drawn, out["label"])
    else:
        demoted = rows & (out["band"] == "high").to_numpy() & (rng.uniform(size=len(out)) < 0.3)
        out.loc[demoted, "band"] = "low"
    return out
