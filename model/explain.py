"""Case explanations: a classifier's log-odds explained as plain typed records.

`CaseExplainer` computes SHAP contributions against a reference referral about whom no
agency holds any record (`model.reference`, `model.contributions`: additivity from the
reference's score checked for every row), sums them into factors a practitioner
recognises and by agency, picks each case's strongest factors and lists the agencies
that held no record (`model.factors`), returning `model.explanation` records. Batches go
through `model.explain_batch`, which serialises the same records.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any, Final

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier

from data_contracts.vocab import AGENCIES
from model.contributions import ADDITIVITY_TOLERANCE, AdditivityError, TreeContributions
from model.explanation import AGENCY_GROUPS, REFERRAL_GROUP, Explanation, FactorRecord
from model.factor_layout import Layout
from model.factors import FactorBuilder
from model.governance import ReferenceName
from model.late_warning import FeedNotice
from model.reference import REFERENCE_SENTENCES, reference_input
from model.unused_records import UnusedRecords

__all__ = [
    "ADDITIVITY_TOLERANCE", "AGENCY_GROUPS", "REFERRAL_GROUP", "AdditivityError",
    "CaseExplainer", "Explanation", "FactorRecord",
]

# Agencies whose information usually matters for each presenting need.
DEFAULT_USUAL_AGENCIES: Final[dict[str, tuple[str, ...]]] = {
    "abuse_neglect": ("police", "health", "education", "social_care"),
    "domestic_abuse": ("police", "health", "social_care", "probation"),
    "mental_health": ("health", "social_care"),
    "substance_misuse": ("health", "police", "probation"),
    "exploitation": ("police", "education", "social_care"),
    "radicalisation": ("police", "education"),
    "online_harm": ("police", "education"),
    "other": (),
}


class CaseExplainer:
    """Explains a fitted classifier's log-odds for cases, as plain records.

    Args:
        classifier: The fitted classifier whose ``decision_function`` is explained.
        feature_names: The manifest names of the columns of the matrices to explain; they
            include the classifier's columns and the records-held, presenting-need and
            adult-at-risk flags.
        reference: The reference referral's value of each classifier column (None: empty),
            as `model.reference.reference_values` makes it; contributions are measured from
            it.
        model_features: The classifier's columns, in order (default: `feature_names`).
        top_raising: How many factors that raise the score to report per case.
        top_lowering: How many factors that lower the score to report per case.
        usual_agencies: Presenting need -> agencies whose information usually matters
            for it (drives the "not seen" warnings); defaults to `DEFAULT_USUAL_AGENCIES`.
        reference_name: Which reference `reference` is (`model.reference.REFERENCE_SENTENCES`
            says it in a sentence); the governance settings choose it.
    """

    def __init__(self, classifier: HistGradientBoostingClassifier, feature_names: Sequence[str],
                 *, reference: Mapping[str, float | None],
                 model_features: Sequence[str] | None = None, top_raising: int = 5,
                 top_lowering: int = 3,
                 usual_agencies: Mapping[str, Sequence[str]] | None = None,
                 reference_name: ReferenceName = "no_records") -> None:
        self.classifier = classifier
        self.feature_names = tuple(feature_names)
        self.model_features = tuple(feature_names if model_features is None else model_features)
        self.top_raising = top_raising
        self.top_lowering = top_lowering
        usual = DEFAULT_USUAL_AGENCIES if usual_agencies is None else usual_agencies
        self.usual_agencies = {need: tuple(agencies) for need, agencies in usual.items()}
        self.layout = Layout.of(self.feature_names, self.model_features)
        self.compared_with = REFERENCE_SENTENCES[reference_name]
        self.shap = TreeContributions(classifier,
                                      reference_input(reference, self.model_features))
        # What no split reads: records of it cannot change a score (`model.unused_records`).
        self.unused = UnusedRecords.of(
            [self.layout.names[column] for column in self.shap.split_columns],
            self.feature_names)
        # The agencies that shared no records in the extract explained, and the notices of
        # those late or silent in it, which the rows explained get (`for_extract`).
        self.shared_nothing: tuple[str, ...] = ()
        self.notices: tuple[FeedNotice, ...] = ()

    def for_extract(self, shared_nothing: Sequence[str], notices: Sequence[FeedNotice] = ()
                    ) -> CaseExplainer:
        """This explainer for the referrals of an extract in which `shared_nothing`
        agencies shared no records at all: each explanation warns of them first, in place
        of "no records were seen", which read as if the agency had looked and held none
        (an extract without its police feed gave lower scores with the same warnings);
        then of the agencies whose records arrive late in it or that stopped recording
        (`notices`, `model.feed_notices`), whose recent records mostly went unseen: every
        row explained gets them (`model.score.rate_table` explains each referral with those
        that apply to its date)."""
        explainer = copy.copy(self)
        explainer.shared_nothing = tuple(a for a in AGENCIES if a in set(shared_nothing))
        explainer.notices = tuple(notices)
        return explainer

    def with_notices(self, notices: Sequence[FeedNotice]) -> CaseExplainer:
        """This explainer with other notices (the same agencies that shared nothing)."""
        explainer = copy.copy(self)
        explainer.notices = tuple(notices)
        return explainer

    @property
    def unused_agencies(self) -> tuple[str, ...]:
        """The agencies (`AGENCIES` order) none of whose columns any split reads (or that
        have no column at all: training drops a column that never varies)."""
        return self.unused.agencies

    @property
    def agency_groups(self) -> np.ndarray:
        """Classifier columns x `AGENCY_GROUPS` one-hot: `group_sums` of contributions over
        it are the agency sums."""
        return self.layout.agencies

    @property
    def base_value(self) -> float:
        """The log-odds every explanation starts from: the reference referral's score."""
        return self.shap.base_value

    def matrix(self, X: np.ndarray, *, single: bool = False) -> np.ndarray:
        """`X` as a float64 matrix of the explainer's columns (a clear error otherwise);
        with `single`, a float32 matrix stays float32 (every float32 value is a float64
        value: the same explanations from half the bytes)."""
        dtype = np.float32 if single and np.asarray(X).dtype == np.float32 else np.float64
        matrix = np.ascontiguousarray(X, dtype=dtype)
        if matrix.ndim != 2 or matrix.shape[1] != len(self.feature_names):
            raise ValueError(f"expected a 2-D matrix with {len(self.feature_names)} columns, "
                             f"got {matrix.shape}")
        return matrix

    def contributions(self, X: np.ndarray) -> tuple[float, np.ndarray]:
        """Base value and contributions (rows x classifier columns), in log-odds.

        Raises:
            AdditivityError: If base + a row's contributions differs from the classifier's
                ``decision_function`` by more than `ADDITIVITY_TOLERANCE`.
        """
        found = self.shap.of(self.layout.model_input(self.matrix(X))).checked()
        return found.base, found.phi

    def explain(self, X: np.ndarray) -> list[Explanation]:
        """One `Explanation` per row of `X` (the explainer's columns).

        Raises:
            AdditivityError: As `contributions`, naming rows by position in `X`.
        """
        matrix = self.matrix(X)
        found = self.shap.of(self.layout.model_input(matrix)).checked()
        return self.builder().explanations(matrix, found)

    def builder(self) -> FactorBuilder:
        """A factor builder (the texts it renders are kept per process, for later cases)."""
        return FactorBuilder(self.layout, top_raising=self.top_raising,
                             top_lowering=self.top_lowering, usual_agencies=self.usual_agencies,
                             compared_with=self.compared_with,
                             unused=self.unused, shared_nothing=self.shared_nothing,
                             notices=self.notices)

    def explain_columns(self, X: np.ndarray, *, n_jobs: int) -> dict[str, Any]:
        """Explanations of many rows as JSON-encoded columns (see `model.explain_batch`)."""
        from model.explain_batch import explain_columns

        matrix = self.matrix(X, single=True)  # no float64 copy of the whole batch
        # n_jobs changes only how many threads share the work, never a row's columns.
        return explain_columns(self, matrix, n_jobs=n_jobs)  # pragma: no mutate (speed only)
