"""A model version's card: what a governance board and the public read about it.

`build_card` is a pure function of the version's recorded sources (`model.card_sources`)
and the approval history the caller hands in; it returns a `ModelCard`, laid out along
the UK Algorithmic Transparency Recording Standard (ATRS). `api.model_card` renders it
(HTML and Markdown, one template each).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Final

from data_contracts.vocab import AGENCY_LABELS
from model.acceptance import check_acceptance
from model.agreed_thresholds import agreed_thresholds, board_notes
from model.audit_acceptance import audit_checks
from model.band_precision import band_rate
from model.card_evaluation import EvaluatedOn, evaluated_on, withhold_small_rows
from model.card_fairness import FairnessRow, fairness_rows, fairness_summary, published_audit
from model.card_sources import CardSources
from model.card_text import (
    ATRS_HEADINGS,
    DEVELOPER,
    INTENDED_USE,
    KNOWN_LIMITATIONS,
    MISUSE,
    OUTCOME_DEFINITION,
)
from model.explanation import GROUP_LABELS
from model.finite_json import finite, finite_number
from model.governance import AcceptanceThresholds, GovernanceSettings, parse_governance
from model.late_warning import LATE_KEY, trained_late
from model.outcome_gaps import OUTCOME_GAPS, OutcomeGap
from model.run_artifacts import EXTRACT_DATE_WARNINGS
from model.threshold_checks import ThresholdCheck
from model.trained_manifest import manifest_problem
from pipelines.manifest import MANIFEST_VERSION, SPECS_BY_NAME

_PERFORMANCE: Final = (("roc_auc", "ROC AUC"), ("average_precision", "Average precision"),
                       ("brier", "Brier score"), ("ece", "Expected calibration error"))


@dataclass(frozen=True)
class ApprovalEntry:
    """One recorded approval or rejection of the version (from the store)."""

    decision: str
    user: str
    at: str
    reason: str
    waivers: dict[str, str]
    valid: bool  # the latest decision, an approval the gate still accepts
    validity: str
    in_force: str = ""  # what the card says: "yes", "no (why)", a rejection "yes: ..."
    # What each waiver covered when it was given, as its audit entry recorded it (e.g.
    # "covering Asian subjects (selection rate ratio 0.7)"; "": no group to name), not
    # what the version's reports say now (a later audit replaces them).
    covered: dict[str, str] = field(default_factory=dict)


NO_REFERRALS: Final = "no referrals"  # a rate of a score or band no test referral reached


@dataclass(frozen=True)
class ModelCard:
    """Everything the card says, as plain values (the JSON form is `as_dict`)."""

    name: str
    version: str
    generated_at: str
    registered_at: str
    run_id: str
    trained_at: str | None
    extract_date: str | None
    intended_use: str
    misuse: tuple[str, ...]
    outcome_definition: str
    data: dict[str, Any]
    agencies: tuple[str, ...]  # that shared records in the training extract (all when unrecorded)
    # Agencies with no accepted record in the training extract; None: not recorded.
    agencies_without_records: tuple[str, ...] | None
    # Agencies whose records arrived late in it, with their delays; None: not recorded.
    late_at_training: tuple[str, ...] | None
    features_by_agency: tuple[tuple[str, int], ...]
    uses_protected_characteristics: bool
    model_details: dict[str, Any]
    # The feature manifest it was trained on (`trained_on`, None: not recorded), this
    # release's (`this_release`) and, when they differ, why this release will neither
    # serve nor approve it (`problem`, `model.trained_manifest.manifest_problem`).
    feature_manifest: dict[str, Any]
    performance: tuple[tuple[str, float | None, float | None], ...]
    calibration_png: bytes | None
    rates_by_band: tuple[dict[str, Any], ...]
    rates_by_score: tuple[dict[str, Any], ...]
    fairness_summary: dict[str, Any] | None
    fairness_rows: tuple[FairnessRow, ...]
    importance_by_agency: tuple[dict[str, Any], ...]
    importance_by_factor: tuple[dict[str, Any], ...]
    limitations: tuple[str, ...]
    bands: tuple[dict[str, Any], ...]
    escalation_rules: tuple[dict[str, Any], ...]
    acceptance: tuple[ThresholdCheck, ...]
    approvals: tuple[ApprovalEntry, ...] = field(default_factory=tuple)
    headings: tuple[str, ...] = ATRS_HEADINGS
    developer: str = DEVELOPER
    # The fairness report as logged (its charts are drawn from it); None: no audit.
    fairness_document: dict[str, Any] | None = None
    # Which referrals the figures come from, the whole test period's beside (None: not built).
    evaluated_on: EvaluatedOn | None = None
    # The latest audit of a whole extract recorded with the version (`safeguard audit
    # fairness`), which the acceptance thresholds are judged on: its heading figures, its
    # groups as published, and the report itself (None, (): none recorded).
    extract_fairness_summary: dict[str, Any] | None = None
    extract_fairness_rows: tuple[FairnessRow, ...] = ()
    extract_audit_document: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        """The card as JSON-ready values (the calibration plot left out)."""
        values = asdict(self)
        values.pop("calibration_png")
        values.pop("fairness_document")  # the report itself is `fairness/fairness.json`
        values.pop("extract_audit_document")  # the whole extract's, recorded with the version
        values["has_calibration_plot"] = self.calibration_png is not None
        return finite(values)



def _rows(sources: CardSources, name: str, limit: int | None = None) -> tuple[dict[str, Any], ...]:
    table = sources.tables.get(name)
    if table is None:
        return ()
    records = table.head(limit).to_dict("records") if limit else table.to_dict("records")
    # An agency's key ("social_care") is shown as the explanations name it ("Social care");
    # a score or band no test referral reached has no rate (NaN), and said "None".
    return tuple({key: NO_REFERRALS if value is None and record.get("referrals") == 0 else value
                  for key, value in finite(record).items()}
                 | ({"agency_label": GROUP_LABELS.get(record["agency"], record["agency"])}
                    if "agency" in record else {}) for record in records)


def governance_of(sources: CardSources) -> GovernanceSettings:
    """The governance settings the version was trained with (thresholds included)."""
    text = sources.model_document.get("governance_toml")
    if not text:
        from model.governance import load_governance

        return load_governance()[0]
    return parse_governance(text, source=f"model version {sources.info.version}")


def acceptance_checks(sources: CardSources, *, board: AcceptanceThresholds | None = None,
                      published: bool = False) -> list[ThresholdCheck]:
    """The version against the acceptance thresholds it was trained under and its latest
    audit of an extract's (`model.audit_acceptance`), each at the board's figure where
    that is stricter (`board`: the thresholds of the board's settings in force; None: as
    trained, `model.agreed_thresholds`); `published`: as the card publishes them, a figure
    the published fairness report withholds withheld (met or not is judged on the full
    report either way)."""
    shown, audited = (published_audit(s) if published else None
                      for s in (sources.fairness, sources.extract_audit))
    governance = governance_of(sources)
    thresholds, looser = agreed_thresholds(governance.acceptance, board)
    band = band_rate(_rows(sources, "rates_by_band"), minimum=governance.fairness.min_group_size)
    checks = [*check_acceptance(thresholds, metrics=sources.info.metrics,
              very_high_band_precision=band, fairness=sources.fairness,
              published=shown.document() if shown else None),
              *audit_checks(thresholds, sources.extract_audit,
                            published=audited.document() if audited else None)]
    return board_notes(checks, looser)


def _features_by_agency(names: Sequence[str]) -> tuple[tuple[str, int], ...]:
    counts = Counter(SPECS_BY_NAME[n].agency for n in names if n in SPECS_BY_NAME)
    return tuple((GROUP_LABELS.get(agency, agency), count)
                 for agency, count in sorted(counts.items()))


def _data(sources: CardSources) -> dict[str, Any]:
    report = sources.training_report or {}
    return {"split": report.get("split", {}), "counts": report.get("counts", {}),
            "quarantined_rows": report.get("quarantined_rows"), "since": report.get("since"),
            # The warnings about the extract's date when it was trained on (e.g. a date
            # taken from the data standing alone, `data_contracts.extract_date`); empty:
            # none; None: not recorded when this version was trained.
            EXTRACT_DATE_WARNINGS: report.get(EXTRACT_DATE_WARNINGS),
            # Stretches whose outcomes looked unrecorded (`model.outcome_gaps`), as
            # sentences; None: not checked when this version was trained.
            "outcome_gaps": None if OUTCOME_GAPS not in report else [
                OutcomeGap.from_json(gap).describe() for gap in report[OUTCOME_GAPS]]}


def _agencies(sources: CardSources) -> dict[str, Any]:
    """The agencies that shared records in the training extract, and those that shared
    none (the model learned nothing from their records); unknown for a version whose
    training did not record it."""
    recorded = (sources.training_report or {}).get("agencies_without_records")
    if recorded is None:
        return {"agencies": tuple(AGENCY_LABELS.values()), "agencies_without_records": None}
    return {"agencies": tuple(label for a, label in AGENCY_LABELS.items() if a not in recorded),
            "agencies_without_records": tuple(AGENCY_LABELS[a] for a in recorded)}


def _late_at_training(metadata: Mapping[str, Any]) -> tuple[str, ...] | None:
    """The agencies whose records arrived late in the training extract, each with its
    delays in words (`model.late_warning`); None for a version that did not record them."""
    if LATE_KEY not in metadata:
        return None
    return tuple(f"{AGENCY_LABELS[late.agency]} (those recorded in its latest "
                 f"{late.latest_days} days: {late.delays}; most of a referral's records of "
                 f"the {late.window_days} days before it not yet recorded by its date)"
                 for late in trained_late(metadata))


def build_card(sources: CardSources, *, board: AcceptanceThresholds | None = None,
               approvals: Sequence[ApprovalEntry] = (),
               generated_at: dt.datetime | None = None) -> ModelCard:
    """The card of a version from its recorded sources and its approval history, its
    acceptance checks judged as `acceptance_checks` judges them against `board`."""
    governance = governance_of(sources)
    metadata = sources.model_document.get("metadata", {})
    names = sources.model_document.get("feature_names", [])
    metrics = sources.info.metrics
    moment = generated_at or dt.datetime.now(dt.UTC)
    suppress = governance.fairness.suppression_threshold  # as the fairness rows: counts shown
    return ModelCard(
        name=sources.info.name, version=sources.info.version,
        generated_at=moment.replace(microsecond=0).isoformat(),
        registered_at=dt.datetime.fromtimestamp(sources.info.created_at / 1000, dt.UTC)
        .replace(microsecond=0).isoformat(),
        run_id=sources.info.run_id, trained_at=metadata.get("trained_at"),
        extract_date=metadata.get("extract_date"),
        intended_use=INTENDED_USE, misuse=MISUSE, outcome_definition=OUTCOME_DEFINITION,
        data=_data(sources), **_agencies(sources), late_at_training=_late_at_training(metadata),
        features_by_agency=_features_by_agency(names),
        uses_protected_characteristics=governance.use_protected_characteristics,
        model_details={"features": len(names), "calibration": metadata.get("calibration"),
                       "params": dict(sorted(sources.params.items()))},
        feature_manifest={"trained_on": sources.trained_manifest, "this_release": MANIFEST_VERSION,
                          "problem": manifest_problem(sources.info.version,
                                                      sources.trained_manifest)},
        performance=tuple((label, finite_number(metrics.get(f"test_{key}")),
                           finite_number(metrics.get(f"baseline_{key}")))
                          for key, label in _PERFORMANCE),
        calibration_png=sources.calibration_png,
        evaluated_on=evaluated_on(metrics, (sources.training_report or {}).get("split")),
        rates_by_band=withhold_small_rows(_rows(sources, "rates_by_band"), suppress),
        rates_by_score=withhold_small_rows(_rows(sources, "rates_by_score"), suppress),
        fairness_summary=fairness_summary(sources.fairness),
        fairness_rows=fairness_rows(sources.fairness),
        importance_by_agency=_rows(sources, "importance_by_agency"),
        importance_by_factor=_rows(sources, "importance_by_factor", limit=15),
        limitations=KNOWN_LIMITATIONS,
        bands=tuple(band.model_dump() for band in governance.bands),
        escalation_rules=tuple(rule.model_dump() for rule in governance.escalation_rules),
        acceptance=tuple(acceptance_checks(sources, board=board, published=True)),
        approvals=tuple(approvals),
        fairness_document=sources.fairness,
        extract_fairness_summary=fairness_summary(sources.extract_audit, whole_extract=True),
        extract_fairness_rows=fairness_rows(sources.extract_audit),
        extract_audit_document=sources.extract_audit,
    )
