"""Global explanations for governance: which features and agencies drive the model overall."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shap

from model.explain import AGENCY_GROUPS, CaseExplainer
from model.sentences import short_label
from pipelines.manifest import SPECS_BY_NAME


@dataclass(frozen=True)
class GlobalImportance:
    """Mean absolute contributions over a sample, for governance review.

    Attributes:
        by_feature: ``feature``, ``label``, ``agency``, ``mean_abs_contribution``, largest first.
        by_agency: ``agency`` and ``mean_abs_contribution`` (of the agency's summed
            contribution per case), largest first.
        contributions: The sample's contributions (rows x features), in log-odds.
        sample: The sample's feature matrix.
        base_value: The log-odds every explanation starts from.
        feature_names: The names of the sample's columns.
    """

    by_feature: pd.DataFrame
    by_agency: pd.DataFrame
    contributions: np.ndarray
    sample: np.ndarray
    base_value: float
    feature_names: tuple[str, ...]

    def plots(self, out_dir: Path, *, n_dependence: int = 5, max_display: int = 20
              ) -> list[Path]:
        """Write a beeswarm plot and dependence plots of the top features as PNG files."""
        import matplotlib

        matplotlib.use("Agg")  # files only; never open a window
        import matplotlib.pyplot as plt

        out_dir.mkdir(parents=True, exist_ok=True)
        names = list(self.feature_names)
        explanation = shap.Explanation(
            values=self.contributions, base_values=np.full(len(self.sample), self.base_value),
            data=self.sample, feature_names=[short_label(n) for n in names])
        paths = []
        fig, ax = plt.subplots(figsize=(10, 0.4 * max_display + 1.5))
        shap.plots.beeswarm(explanation, max_display=max_display, ax=ax, plot_size=None,
                            show=False)
        paths.append(_save(fig, out_dir / "shap_beeswarm.png"))
        for rank, name in enumerate(self.by_feature["feature"].head(n_dependence), start=1):
            fig, ax = plt.subplots(figsize=(7, 5))
            shap.plots.scatter(explanation[:, names.index(name)], ax=ax, show=False)
            paths.append(_save(fig, out_dir / f"shap_dependence_{rank:02d}_{name}.png"))
        return paths


def _save(fig: Any, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def global_importance(explainer: CaseExplainer, X_sample: np.ndarray) -> GlobalImportance:
    """Mean absolute SHAP contribution per feature and per agency over a sample."""
    base, phi = explainer.contributions(X_sample)
    names = list(explainer.feature_names)
    by_feature = pd.DataFrame({
        "feature": names, "label": [short_label(n) for n in names],
        "agency": [SPECS_BY_NAME[n].agency for n in names],
        "mean_abs_contribution": np.abs(phi).mean(axis=0),
    }).sort_values("mean_abs_contribution", ascending=False, ignore_index=True)
    by_agency = pd.DataFrame({
        "agency": list(AGENCY_GROUPS),
        "mean_abs_contribution": np.abs(phi @ explainer.agency_groups).mean(axis=0),
    }).sort_values("mean_abs_contribution", ascending=False, ignore_index=True)
    return GlobalImportance(by_feature, by_agency, phi, np.asarray(X_sample, dtype=np.float64),
                            base, explainer.feature_names)
