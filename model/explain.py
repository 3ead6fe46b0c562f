"""Case explanations: SHAP contributions turned into plain typed records.

`CaseExplainer` runs SHAP's tree explainer (path-dependent, on the classifier's
log-odds), checks that every row's contributions add up to the classifier's own
``decision_function`` and turns them into `Explanation` records: the strongest
factors as sentences, contributions summed by agency, the agencies that held no
record, and warnings when an agency that usually matters for the presenting need
held nothing. No SHAP object leaves this module (nor `model.importance`, which
summarises contributions over a sample for governance, with plots written as PNG).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np
import shap
from joblib import Parallel, delayed
from sklearn.ensemble import HistGradientBoostingClassifier

from data_contracts.vocab import AGENCIES, AGENCY_LABELS, PRESENTING_NEEDS
from model.risk_model import one_openmp_thread
from model.sentences import (
    NEED_PHRASES,
    SUBJECT_PHRASES,
    DisplayValue,
    Subject,
    display_value,
    sentence_for,
)
from pipelines.manifest import SPECS_BY_NAME

Direction = Literal["raises", "lowers"]
REFERRAL_GROUP: Final = "referral"
AGENCY_GROUPS: Final[tuple[str, ...]] = (*AGENCIES, REFERRAL_GROUP)
ADDITIVITY_TOLERANCE: Final = 1e-6
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
_CHUNK_ROWS: Final = 10_000
_PREDICT_ROWS: Final = 2_048
# Below this many rows, starting worker processes costs more than it saves.
_PARALLEL_MIN_ROWS: Final = 4_000


@dataclass(frozen=True)
class FactorRecord:
    """One feature's part in a case's score."""

    feature: str
    value: float | int | bool | None
    contribution: float
    direction: Direction
    agency: str
    sentence: str

    def to_dict(self) -> dict[str, Any]:
        """The record as a JSON-ready dict."""
        return {"feature": self.feature, "value": self.value, "contribution": self.contribution,
                "direction": self.direction, "agency": self.agency, "sentence": self.sentence}


@dataclass(frozen=True)
class Explanation:
    """Why one case got its score (log-odds; see `model.sentences.CONTRIBUTIONS_NOTE`)."""

    raw_score: float
    base_value: float
    top_factors: list[FactorRecord]
    contributions_by_agency: dict[str, float]
    agencies_not_seen: list[str]
    warnings: list[str]


class AdditivityError(RuntimeError):
    """SHAP contributions do not add up to the classifier's log-odds for some rows."""

    def __init__(self, rows: Sequence[int], max_gap: float) -> None:
        self.rows = [int(r) for r in rows]
        self.max_gap = float(max_gap)
        shown = ", ".join(map(str, self.rows[:10])) + (", ..." if len(self.rows) > 10 else "")
        super().__init__(
            f"SHAP contributions do not add up to the model's log-odds for {len(self.rows)} "
            f"row(s): {shown} (largest gap {self.max_gap:.3g}, "
            f"tolerance {ADDITIVITY_TOLERANCE:g})")

    def __reduce__(self) -> tuple[Any, ...]:
        return (AdditivityError, (self.rows, self.max_gap))


@dataclass(frozen=True)
class _Layout:
    """Where the explainer finds each piece of a case among the classifier's columns."""

    agency: tuple[str, ...]  # group of each column
    groups: np.ndarray  # columns x AGENCY_GROUPS one-hot, to sum contributions
    coverage: tuple[tuple[str, int], ...]  # (agency, column of {agency}_records_held)
    needs: tuple[tuple[str, int], ...]  # (need, column of presenting_need_{need})
    adult: int | None  # column of subject_is_adult_at_risk

    @classmethod
    def of(cls, names: Sequence[str]) -> _Layout:
        unknown = [n for n in names if n not in SPECS_BY_NAME]
        if unknown:
            raise ValueError(f"not manifest features: {unknown[:5]}")
        column = {name: i for i, name in enumerate(names)}
        agency = tuple(SPECS_BY_NAME[n].agency for n in names)
        groups = np.zeros((len(names), len(AGENCY_GROUPS)))
        groups[np.arange(len(names)), [AGENCY_GROUPS.index(a) for a in agency]] = 1.0
        return cls(
            agency, groups,
            tuple((a, column[f"{a}_records_held"]) for a in AGENCIES
                  if f"{a}_records_held" in column),
            tuple((need, column[f"presenting_need_{need}"]) for need in PRESENTING_NEEDS
                  if f"presenting_need_{need}" in column),
            column.get("subject_is_adult_at_risk"),
        )

    def not_seen(self, X: np.ndarray) -> list[tuple[str, ...]]:
        """Per row, the agencies whose records-held flag is 0."""
        agencies = [a for a, _col in self.coverage]
        mask = X[:, [col for _a, col in self.coverage]] == 0
        code = mask.astype(np.int64) @ (1 << np.arange(len(agencies), dtype=np.int64))
        table = _subsets(tuple(agencies))
        return [table[c] for c in code.tolist()]

    def need(self, X: np.ndarray) -> list[str | None]:
        """Per row, the presenting need (None when no one-hot column is set)."""
        if not self.needs:
            return [None] * len(X)
        hot = X[:, [col for _n, col in self.needs]] == 1
        first = np.where(hot.any(axis=1), hot.argmax(axis=1), -1)
        return [None if j < 0 else self.needs[j][0] for j in first.tolist()]

    def subject(self, X: np.ndarray) -> list[Subject]:
        """Per row, whether the person referred is a child, an adult at risk, or unknown."""
        if self.adult is None:
            return ["person"] * len(X)
        flags = X[:, self.adult]
        return ["person" if f != f else "adult" if f else "child" for f in flags.tolist()]


@functools.lru_cache(maxsize=8)
def _subsets(agencies: tuple[str, ...]) -> list[tuple[str, ...]]:
    """Every subset of `agencies`, indexed by its bit mask."""
    return [tuple(a for j, a in enumerate(agencies) if mask >> j & 1)
            for mask in range(1 << len(agencies))]


@functools.lru_cache(maxsize=4096)
def _warnings(not_seen: tuple[str, ...], usual: tuple[str, ...], need: str | None,
              subject: Subject) -> tuple[str, ...]:
    who = SUBJECT_PHRASES[subject]
    return tuple(
        f"No {AGENCY_LABELS[a].lower()} records were seen for {who} or household; "
        f"{AGENCY_LABELS[a].lower()} information usually matters for "
        f"{NEED_PHRASES[need or 'other']} referrals."
        for a in not_seen
        if a in usual and not (subject == "adult" and a == "education")
    )


def _top_columns(phi: np.ndarray, used: np.ndarray, n_raise: int, n_lower: int
                 ) -> np.ndarray:
    """Per row, the columns of the largest positive then the most negative contributions.

    Each group is ordered by absolute size; -1 marks a slot with no nonzero contribution.
    Only `used` columns (those the trees split on) can be nonzero, so only they are searched.
    """
    sub = phi[:, used]
    m = sub.shape[1]
    n_raise, n_lower = min(n_raise, m), min(n_lower, m)
    kth = sorted({k for k in (n_lower - 1, m - n_raise) if 0 <= k < m})
    part = np.argpartition(sub, kth, axis=1) if kth else np.zeros((len(sub), 0), dtype=np.intp)
    groups = []
    for cols, sign in ((part[:, m - n_raise:], 1.0), (part[:, :n_lower], -1.0)):
        signed = sign * np.take_along_axis(sub, cols, axis=1)
        order = np.argsort(-signed, axis=1, kind="stable")
        keep = np.take_along_axis(signed, order, axis=1) > 0
        groups.append(np.where(keep, used[np.take_along_axis(cols, order, axis=1)], -1))
    return np.concatenate(groups, axis=1)


def _split_columns(classifier: HistGradientBoostingClassifier, n_features: int) -> np.ndarray:
    """Columns any tree splits on (others always contribute exactly 0); all if unknown."""
    try:
        nodes = [tree.nodes for trees in classifier._predictors for tree in trees]
        used = {int(f) for n in nodes for f in n["feature_idx"][n["is_leaf"] == 0]}
    except (AttributeError, KeyError, TypeError):
        return np.arange(n_features)
    return np.array(sorted(used), dtype=np.intp)


def _as_matrix(X: np.ndarray, n_features: int) -> np.ndarray:
    matrix = np.ascontiguousarray(X, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[1] != n_features:
        raise ValueError(f"expected a 2-D matrix with {n_features} columns, got {matrix.shape}")
    return matrix


class CaseExplainer:
    """Explains a fitted classifier's log-odds for cases, as plain records.

    Args:
        classifier: The fitted classifier whose ``decision_function`` is explained.
        feature_names: The manifest names of the classifier's columns, in order.
        top_raising: How many factors that raise the score to report per case.
        top_lowering: How many factors that lower the score to report per case.
        usual_agencies: Presenting need -> agencies whose information usually matters
            for it (drives the "not seen" warnings); defaults to `DEFAULT_USUAL_AGENCIES`.
    """

    def __init__(self, classifier: HistGradientBoostingClassifier, feature_names: Sequence[str],
                 *, top_raising: int = 5, top_lowering: int = 3,
                 usual_agencies: Mapping[str, Sequence[str]] | None = None) -> None:
        self.classifier = classifier
        self.feature_names = tuple(feature_names)
        self.top_raising = top_raising
        self.top_lowering = top_lowering
        usual = DEFAULT_USUAL_AGENCIES if usual_agencies is None else usual_agencies
        self.usual_agencies = {need: tuple(agencies) for need, agencies in usual.items()}
        self._layout = _Layout.of(self.feature_names)
        self._tree = shap.TreeExplainer(classifier)
        self._used = _split_columns(classifier, len(self.feature_names))

    @property
    def agency_groups(self) -> np.ndarray:
        """Columns x `AGENCY_GROUPS` one-hot: contributions @ this = sums per agency."""
        return self._layout.groups

    @property
    def base_value(self) -> float:
        """The log-odds every explanation starts from (SHAP's expected value)."""
        return float(np.ravel(self._tree.expected_value)[0])

    def contributions(self, X: np.ndarray) -> tuple[float, np.ndarray]:
        """Base value and per-feature contributions (rows x features), in log-odds.

        Raises:
            AdditivityError: If base + a row's contributions differs from the classifier's
                ``decision_function`` by more than `ADDITIVITY_TOLERANCE`.
        """
        base, phi, _raw = self._checked(_as_matrix(X, len(self.feature_names)))
        return base, phi

    def explain(self, X: np.ndarray) -> list[Explanation]:
        """One `Explanation` per row of the classifier's feature matrix."""
        matrix = _as_matrix(X, len(self.feature_names))
        base, phi, raw = self._checked(matrix)
        return self._explanations(matrix, base, phi, raw)

    def explain_columns(self, X: np.ndarray, *, n_jobs: int = 2) -> dict[str, list[Any]]:
        """Explanations of many rows as columns, JSON-encoded, computed in worker processes.

        Rows go in chunks to `n_jobs` loky worker processes (SHAP's C extension holds the
        GIL, so threads would not run in parallel). The first parallel call in a process
        starts the workers, which import shap: a few seconds, once.

        Returns:
            ``raw_score`` and ``base_value`` (floats); ``top_factors`` (JSON list of factor
            objects), ``contributions_by_agency`` (JSON object), ``agencies_not_seen`` and
            ``warnings`` (JSON lists), one string per row.

        Raises:
            AdditivityError: As `contributions`, naming rows by position in `X`.
        """
        matrix = _as_matrix(X, len(self.feature_names))
        starts = range(0, len(matrix), _CHUNK_ROWS)
        if n_jobs == 1 or len(matrix) < _PARALLEL_MIN_ROWS:
            parts = [_explain_chunk(self, matrix[s:s + _CHUNK_ROWS]) for s in starts]
        else:
            parts = Parallel(n_jobs=n_jobs, backend="loky")(
                delayed(_explain_chunk)(self, matrix[s:s + _CHUNK_ROWS]) for s in starts)
        bad = [s + r for s, (_cols, rows, _gap) in zip(starts, parts, strict=True) for r in rows]
        if bad:
            raise AdditivityError(bad, max(gap for _c, _r, gap in parts))
        keys = ("raw_score", "base_value", "top_factors", "contributions_by_agency",
                "agencies_not_seen", "warnings")
        return {key: [v for cols, _r, _g in parts for v in cols[key]] for key in keys}

    def _raw_contributions(self, X: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        # Additivity is checked against the classifier itself, not SHAP's copy of the trees.
        phi = np.asarray(self._tree.shap_values(X, check_additivity=False), dtype=np.float64)
        return self.base_value, phi.reshape(len(X), -1), self._log_odds(X)

    def _log_odds(self, X: np.ndarray) -> np.ndarray:
        """The classifier's decision_function, in cache-sized slices on one OpenMP thread."""
        # One thread: parallel regions per tree cost more than they save on these slices,
        # and batch work is already spread over processes. Slices stay in cache.
        with one_openmp_thread():
            return np.concatenate([
                np.asarray(self.classifier.decision_function(X[s:s + _PREDICT_ROWS]),
                           dtype=np.float64)
                for s in range(0, len(X), _PREDICT_ROWS)
            ] or [np.empty(0)])

    def _checked(self, X: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        base, phi, raw = self._raw_contributions(X)
        rows, gap = _additivity_failures(base, phi, raw)
        if rows:
            raise AdditivityError(rows, gap)
        return base, phi, raw

    def _select(self, X: np.ndarray, phi: np.ndarray) -> _Selection:
        layout = self._layout
        top = _top_columns(phi, self._used, self.top_raising, self.top_lowering)
        safe = np.maximum(top, 0)
        chosen = np.take_along_axis(X, safe, axis=1)
        values = chosen.astype(object)
        values[np.isnan(chosen)] = None  # None marks a missing value
        needs = layout.need(X)
        return _Selection(
            top.tolist(), values.tolist(), np.take_along_axis(phi, safe, axis=1).tolist(),
            (phi @ layout.groups).tolist(), layout.not_seen(X), layout.subject(X), needs,
            [self.usual_agencies.get(need, ()) if need else () for need in needs])

    def _factor_fields(self, column: int, value: float | None, positive: bool, subject: Subject
                       ) -> tuple[str, DisplayValue, Direction, str, str]:
        """Everything of a factor but its contribution: feature, value, direction, agency,
        sentence."""
        name = self.feature_names[column]
        return (name, display_value(name, value), "raises" if positive else "lowers",
                self._layout.agency[column],
                sentence_for(name, value, 1.0 if positive else -1.0, subject=subject))

    def _explanations(self, X: np.ndarray, base: float, phi: np.ndarray, raw: np.ndarray
                      ) -> list[Explanation]:
        sel = self._select(X, phi)
        out = []
        for i, columns in enumerate(sel.columns):
            subject = sel.subjects[i]
            factors = []
            for j, value, c in zip(columns, sel.values[i], sel.contributions[i], strict=True):
                if j >= 0:
                    name, shown, direction, agency, sentence = self._factor_fields(
                        j, value, c > 0, subject)
                    factors.append(FactorRecord(name, shown, c, direction, agency, sentence))
            out.append(Explanation(
                float(raw[i]), base, factors, dict(zip(AGENCY_GROUPS, sel.by_agency[i],
                                                       strict=True)),
                list(sel.not_seen[i]),
                list(_warnings(sel.not_seen[i], sel.usual[i], sel.needs[i], subject))))
        return out


@dataclass(frozen=True)
class _Selection:
    """Per row (as Python lists): the chosen factors and the case's context."""

    columns: list[list[int]]  # chosen columns, raising first; -1 where fewer were nonzero
    values: list[list[float | None]]
    contributions: list[list[float]]
    by_agency: list[list[float]]
    not_seen: list[tuple[str, ...]]
    subjects: list[Subject]
    needs: list[str | None]
    usual: list[tuple[str, ...]]


def _additivity_failures(base: float, phi: np.ndarray, raw: np.ndarray) -> tuple[list[int], float]:
    """Rows whose base + contributions misses the classifier's log-odds, and the worst gap."""
    gap = np.abs(base + phi.sum(axis=1) - raw)
    gap = np.where(np.isnan(gap), np.inf, gap)
    bad = np.flatnonzero(gap > ADDITIVITY_TOLERANCE)
    return bad.tolist(), float(gap.max(initial=0.0))


def _explain_chunk(explainer: CaseExplainer, X: np.ndarray
                   ) -> tuple[dict[str, list[Any]], list[int], float]:
    """Columns for one chunk, plus the rows failing the additivity check and the worst gap."""
    base, phi, raw = explainer._raw_contributions(X)
    bad, gap = _additivity_failures(base, phi, raw)
    sel = explainer._select(X, phi)
    # repr of a finite float is its JSON text; a NaN contribution fails the check (gap inf).
    agency_template = "{" + ", ".join(f'"{g}": %r' for g in AGENCY_GROUPS) + "}"
    not_seen, warnings = _context_json(sel)
    return {
        "raw_score": raw.tolist(), "base_value": [base] * len(X),
        "top_factors": _top_factors_json(explainer, sel),
        "contributions_by_agency": [agency_template % tuple(row) for row in sel.by_agency],
        "agencies_not_seen": not_seen, "warnings": warnings,
    }, bad, gap


def _top_factors_json(explainer: CaseExplainer, sel: _Selection) -> list[str]:
    """Per row, the top factors as a JSON list of objects."""
    # The text around a contribution recurs across many rows: build it once per chunk.
    parts: dict[tuple[int, float | None, bool, Subject], tuple[str, str]] = {}
    out = []
    for columns, values, contributions, subject in zip(
            sel.columns, sel.values, sel.contributions, sel.subjects, strict=True):
        items = []
        for j, value, c in zip(columns, values, contributions, strict=True):
            if j < 0:
                continue
            key = (j, value, c > 0, subject)
            part = parts.get(key)
            if part is None:
                part = parts[key] = _factor_json_parts(*explainer._factor_fields(*key))
            items.append(f"{part[0]}{c!r}{part[1]}")
        out.append("[" + ", ".join(items) + "]")
    return out


def _factor_json_parts(name: str, shown: DisplayValue, direction: str, agency: str,
                       sentence: str) -> tuple[str, str]:
    """A factor's JSON text before and after its contribution."""
    return (f'{{"feature": {json.dumps(name)}, "value": {json.dumps(shown)}, "contribution": ',
            f', "direction": "{direction}", "agency": "{agency}", '
            f'"sentence": {json.dumps(sentence)}}}')


def _context_json(sel: _Selection) -> tuple[list[str], list[str]]:
    """Per row, the agencies not seen and the warnings, as JSON lists."""
    keys = list(zip(sel.not_seen, sel.usual, sel.needs, sel.subjects, strict=True))
    texts = {key: (json.dumps(list(key[0])), json.dumps(list(_warnings(*key))))
             for key in set(keys)}
    return [texts[key][0] for key in keys], [texts[key][1] for key in keys]
