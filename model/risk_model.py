"""The fitted risk model: classifier, calibrator, score ventiles and governance settings.

`RiskModel.rate` turns feature rows (the manifest's columns, as `pipelines` builds
them) into ratings: the model's log-odds, the calibrated probability, the score 1
to 20 (the ventile of the calibrated probability among the training referrals),
the band from the governance settings, and the escalation rules that fired.

On disk a model is three files: the classifier in skops format (loaded with an
explicit list of trusted types, never unpickled), its trees as NumPy arrays
(`model.explain_kernel.Forest`: what rating reads) and a JSON document with everything
else. Nothing in any of them can run code when loaded.

A loaded model rates from the trees' file: scikit-learn, and the classifier held in
skops' file, are loaded when something first asks for `RiskModel.classifier` (an
explanation, a fit), not by rating. Importing scikit-learn and skops takes 1.5-2 s,
a fifth of `safeguard score --no-explanations` on 100,000 referrals.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import numpy as np
from threadpoolctl import ThreadpoolController

from model.calibration import CalibrationMethod as CalibrationMethod
from model.calibration import Calibrator as Calibrator
from model.governance import EscalationRule, GovernanceSettings, parse_governance
from model.model_matrix import model_columns, no_record_flags
from pipelines.feature_spec import NO_RECORD_DAYS
from pipelines.manifest import FEATURE_NAMES

if TYPE_CHECKING:  # scikit-learn, skops and numba are imported when first needed
    from sklearn.ensemble import HistGradientBoostingClassifier

    from model.explain_kernel import Forest
    from model.forest_predict import ForestPredictor

CLASSIFIER_FILE: Final = "model.skops"  # the name MLflow's sklearn flavour uses
FOREST_FILE: Final = "forest.npz"
MODEL_FILE: Final = "risk_model.json"
N_SCORES: Final = 20
# How `RiskModel.score_of` scores a probability equal to several tied ventile edges.
TIED_EDGES_UPPER: Final = "upper"
TIED_EDGES_MIDDLE: Final = "middle"
# Types the classifier file may hold beyond those skops trusts by default (checked on load).
TRUSTED_TYPES: Final = ["sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor"]


@dataclass(frozen=True)
class Ratings:
    """Ratings of a batch of referrals, one entry per row."""

    raw_score: np.ndarray
    probability: np.ndarray
    score: np.ndarray
    model_band: np.ndarray
    band: np.ndarray
    escalations: list[list[EscalationRule]]


@dataclass
class RiskModel:
    """Everything needed to rate a referral from its features.

    Built either around a fitted classifier, or (`load`) around the classifier's skops
    file, read into memory, and its trees (`FOREST_FILE`): `classifier` is then loaded
    from that file when first asked for.
    """

    fitted: HistGradientBoostingClassifier | None
    feature_names: tuple[str, ...]
    calibrator: Calibrator
    ventile_edges: np.ndarray
    governance: GovernanceSettings
    governance_text: str
    metadata: dict[str, Any] = field(default_factory=dict)
    # How a probability equal to several tied ventile edges is scored (`score_of`):
    # "middle" for versions trained since 6 December, "upper" (the highest of the tied
    # scores) for versions whose document does not say, as they were scored then.
    tied_edges: str = TIED_EDGES_UPPER
    classifier_file: bytes | None = field(default=None, repr=False, compare=False)
    # The classifier's trees; not an argument, so `dataclasses.replace` never pairs
    # another classifier with these trees.
    forest: Forest | None = field(default=None, init=False, repr=False, compare=False)
    _predictor: ForestPredictor | None = field(default=None, init=False, repr=False,
                                               compare=False)

    @property
    def classifier(self) -> HistGradientBoostingClassifier:
        """The fitted classifier (loaded from its skops file when first asked for)."""
        if self.fitted is None:
            if self.classifier_file is None:
                raise ValueError("a risk model needs its classifier or the classifier's file")
            import skops.io as sio

            self.fitted = sio.loads(self.classifier_file, trusted=TRUSTED_TYPES)
        return self.fitted

    def model_matrix(self, features: np.ndarray) -> np.ndarray:
        """The classifier's columns of a full manifest feature matrix."""
        return features[:, model_columns(self.feature_names)]

    @property
    def reference(self) -> dict[str, float | None]:
        """The reference every explanation compares with (see `model.reference`).

        Raises:
            ValueError: For a model saved before explanations had a reference.
        """
        values = self.metadata.get("explanation_reference")
        if values is None:
            raise ValueError("this model version was trained before explanations compared "
                             "with a reference referral: retrain it")
        return {name: values[name] for name in self.feature_names}

    def raw_score(self, model_matrix: np.ndarray) -> np.ndarray:
        """The classifier's log-odds (what SHAP explains): its ``decision_function`` of
        `classifier_input`, to the bit, computed by `model.forest_predict`."""
        return self.predictor.raw_scores(model_matrix, np.arange(len(self.feature_names)))

    @property
    def trees(self) -> Forest:
        """The classifier's trees: from their file when loaded, else read from the
        classifier once."""
        if self.forest is None:
            from model.explain_kernel import Forest  # numba: only once the trees are read

            self.forest = Forest.of(self.classifier)
        return self.forest

    @property
    def predictor(self) -> ForestPredictor:
        """The classifier's trees, compiled for rating many rows (built when first used)."""
        if self._predictor is None:
            from model.forest_predict import ForestPredictor

            self._predictor = ForestPredictor(
                self.trees, no_record_flags(self.feature_names), NO_RECORD_DAYS)
        return self._predictor

    def score_of(self, probability: np.ndarray) -> np.ndarray:
        """Score 1 to 20: the ventile of the probability among the training referrals.

        A probability on one edge takes the higher score. When many training referrals
        share one probability several edges are equal: such a probability lies across all
        their ventiles, and takes the middle one of them (`tied_edges` "middle"). Taking
        the highest put a probability below the training referrals' median in score 17
        ("high") when a plateau of the (plain) isotonic calibrator of older versions
        spanned the 25th to the 80th percentiles (a probe's extract: 57% of referrals
        "high", none "medium"). Calibrators fitted now (`model.calibration`) leave ties
        only where the log-odds tie, where a probability reaches the calibrator's bounds,
        and, for isotonic, in the lower half of its first step and the upper half of its
        last (level below the first step's centre and above the last's).

        Ties are not broken by the log-odds: a score is the ventile of the probability a
        practitioner is shown, so two referrals shown the same chance never differ in
        score or band."""
        upper = np.searchsorted(self.ventile_edges, probability, side="right")
        if self.tied_edges == TIED_EDGES_UPPER:
            return upper + 1
        lower = np.searchsorted(self.ventile_edges, probability, side="left")
        # One edge or none between lower and upper: `upper`, as before.
        return (lower + upper + 1) // 2 + 1

    def rate(self, features: np.ndarray, *, raw_score: np.ndarray | None = None) -> Ratings:
        """Rate full manifest feature rows (n x all manifest features).

        Args:
            features: The rows, every manifest feature.
            raw_score: The classifier's log-odds of these rows when already computed
                (an explanation computes them), so they are not predicted twice.
        """
        if raw_score is None:  # read from the manifest rows where they are: no copy
            raw = self.predictor.raw_scores(features, model_columns(self.feature_names))
        else:
            raw = raw_score
        probability = self.calibrator.transform(raw)
        score = self.score_of(probability)
        model_band = self.governance.band_index(score)
        band, fired = self.governance.escalate(model_band, features, FEATURE_NAMES)
        return Ratings(raw, probability, score, model_band, band, fired)

    def save(self, directory: Path, *, write_classifier: bool = True) -> list[Path]:
        """Write the model's files into `directory` (the classifier's only when asked)."""
        directory.mkdir(parents=True, exist_ok=True)
        classifier_path, model_path = directory / CLASSIFIER_FILE, directory / MODEL_FILE
        if write_classifier:
            import skops.io as sio

            sio.dump(self.classifier, classifier_path)
        self.trees.save(directory / FOREST_FILE)
        document = {
            "feature_names": list(self.feature_names),
            "calibrator": {"method": self.calibrator.method, "params": self.calibrator.params},
            "ventile_edges": self.ventile_edges.tolist(),
            **({} if self.tied_edges == TIED_EDGES_UPPER else {"tied_edges": self.tied_edges}),
            "governance_toml": self.governance_text,
            "metadata": self.metadata,
        }
        # ASCII JSON (json.dumps escapes the rest), laid out for a reader.
        text = json.dumps(document, indent=1, sort_keys=True)  # pragma: no mutate (layout)
        model_path.write_text(text)
        return [classifier_path, directory / FOREST_FILE, model_path]

    @classmethod
    def load(cls, directory: Path) -> RiskModel:
        """Read a model written by `save`. The classifier's file is read, and loaded when
        first asked for, refusing any untrusted type; a version saved before the trees
        had their file loads its classifier now, for its trees."""
        document = json.loads((directory / MODEL_FILE).read_bytes())
        calibrator = document["calibrator"]
        forest_path = directory / FOREST_FILE
        model = cls(
            fitted=None,
            classifier_file=(directory / CLASSIFIER_FILE).read_bytes(),
            feature_names=tuple(document["feature_names"]),
            calibrator=Calibrator(calibrator["method"], calibrator["params"]),
            ventile_edges=np.asarray(document["ventile_edges"]),
            tied_edges=_tied_edges(document.get("tied_edges", TIED_EDGES_UPPER), directory),
            governance=parse_governance(document["governance_toml"], source=str(directory)),
            governance_text=document["governance_toml"],
            metadata=document["metadata"],
        )
        from model.explain_kernel import Forest

        model.forest = (Forest.load(forest_path) if forest_path.exists()
                        else Forest.of(model.classifier))
        return model


@lru_cache(maxsize=1)
def _threadpools() -> ThreadpoolController:
    # Built once: scanning the loaded libraries costs milliseconds, a limit microseconds.
    return ThreadpoolController()


def one_openmp_thread() -> Any:
    """A context in which scikit-learn's OpenMP code runs on one thread."""
    return _threadpools().limit(limits=1, user_api="openmp")  # pragma: no mutate (speed only)


def _tied_edges(rule: object, directory: Path) -> str:
    if rule not in (TIED_EDGES_UPPER, TIED_EDGES_MIDDLE):
        raise ValueError(f"{directory / MODEL_FILE}: unknown tied_edges rule {rule!r}")
    return str(rule)


def ventile_edges(training_probability: np.ndarray) -> np.ndarray:
    """The 19 cut points between scores 1..20 among the training referrals."""
    return np.quantile(training_probability, np.arange(1, N_SCORES) / N_SCORES)
