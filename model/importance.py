"""Global explanations for governance: which factors, features and agencies drive the model.

The contributions are the case explanations' own (against the same reference referral,
summed into the same factors), averaged in absolute value over a sample.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from model.explain import AGENCY_GROUPS, CaseExplainer
from model.group_sums import group_sums
from model.labels import factor_label, short_label


@dataclass(frozen=True)
class GlobalImportance:
    """Mean absolute contributions over a sample, for governance review.

    Attributes:
        by_factor: ``factor`` (its headline feature), ``label``, ``features`` (those it
            sums, joined by spaces), ``agency``, ``mean_abs_contribution``, largest first.
        by_feature: ``feature``, ``label``, ``agency``, ``mean_abs_contribution``, largest first.
        by_agency: ``agency`` and ``mean_abs_contribution`` (of the agency's summed
            contribution per case), largest first.
        contributions: The sample's contributions (rows x features), in log-odds.
        sample: The sample's feature matrix.
        base_value: The log-odds every explanation starts from.
        feature_names: The names of the sample's columns.
    """

    by_factor: pd.DataFrame
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
        import shap  # its plots only (about 2 s to import: training imports it beside the fit)

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
    """Mean absolute SHAP contribution per classifier feature and per agency over a sample.

    Args:
        explainer: The explainer of the model.
        X_sample: Rows of the explainer's columns (`CaseExplainer.feature_names`).
    """
    base, phi = explainer.contributions(X_sample)
    names = list(explainer.model_features)
    by_feature = pd.DataFrame({
        "feature": names, "label": [short_label(n) for n in names],
        "agency": list(explainer.layout.agency),
        "mean_abs_contribution": np.abs(phi).mean(axis=0),
    }).sort_values("mean_abs_contribution", ascending=False, ignore_index=True)
    layout = explainer.layout
    members = [[names[j] for j in factor] for factor in layout.factors]
    heads = [m[layout.headline(m)] for m in members]
    by_factor = pd.DataFrame({
        "factor": heads, "label": [factor_label(m) for m in members],
        "features": [" ".join(m) for m in members],
        "agency": [layout.agency[factor[0]] for factor in layout.factors],
        "mean_abs_contribution": np.abs(group_sums(phi, layout.factor_matrix)).mean(axis=0),
    }).sort_values("mean_abs_contribution", ascending=False, ignore_index=True)
    by_agency = pd.DataFrame({
        "agency": list(AGENCY_GROUPS),
        "mean_abs_contribution": np.abs(group_sums(phi, explainer.agency_groups)).mean(axis=0),
    }).sort_values("mean_abs_contribution", ascending=False, ignore_index=True)
    sample = explainer.layout.values(explainer.matrix(X_sample))  # as recorded, for plots
    return GlobalImportance(by_factor, by_feature, by_agency, phi, sample, base,
                            explainer.model_features)
