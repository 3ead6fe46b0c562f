"""`safeguard monitor`'s work below the API: a newer extract against a model version.

The monitored window ends on the newer extract's date and starts the day after the
training extract's date, as many days back as the model's reference period at most
(`monitoring_reference.monitored_period`; or from a given date); the reference period
ends on the training extract's date by the same rule (`monitoring_reference.latest_period`),
so an unchanged extract is compared with exactly the population the reference describes,
whether or not its date is later than its last referral.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd

from data_contracts.closing_notes import household_note, no_feed_note, quarantine_note
from data_contracts.vocab import AGENCIES, HOUSEHOLD_MEMBERS, LABEL_WINDOW_DAYS, OUTCOMES
from model.calibration_check import matured_calibration
from model.data import PreparedExtract
from model.families import ExtractFamilies, families_of
from model.governance import MonitoringSettings
from model.monitor_group_outcomes import group_calibration
from model.monitor_groups import REFERENCE_KEY, recent_by_group, recent_group_coverage
from model.monitor_record_delays import KIND as RECORD_DELAY
from model.monitor_record_delays import SECTION as DELAYS_SECTION
from model.monitor_record_delays import record_delay_checks
from model.monitor_record_falls import KIND as RECORD_FALL
from model.monitor_record_falls import SECTION as RECORDS_SECTION
from model.monitor_record_falls import record_fall_checks
from model.monitor_referral_mix import SECTION as MIX_SECTION
from model.monitor_referral_mix import referral_mix
from model.monitoring import Check, coverage_change, drift, enough_to_judge, too_few_to_judge
from model.monitoring_outcomes import matured_outcomes, outcome_figures
from model.monitoring_quarters import coverage_by_quarter
from model.monitoring_reference import (
    METADATA_KEY,
    Population,
    build_reference,
    effective_referrals,
    latest_period,
    monitored_period,
    window,
)
from model.outcome_gaps import OUTCOME_GAPS, outcome_gaps
from model.practice import practice
from model.risk_model import RiskModel
from pipelines.manifest import FEATURE_NAMES
from pipelines.timeliness import record_delays

# monitor.json's key for what the extract lacked (`extract_notes`), as the command says it.
EXTRACT_NOTES = "extract_notes"


class NoMonitoringReference(ValueError):
    """The model version was trained before monitoring references were stored with it."""


class NothingToMonitor(ValueError):
    """The monitored window holds no referral of the extract."""


def _rate(model: RiskModel, features: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Probability, score and band name of each feature row."""
    if features.empty:
        return np.empty(0), np.empty(0, dtype=np.int64), []
    ratings = model.rate(features[list(FEATURE_NAMES)].to_numpy(dtype=np.float32))
    names = [model.governance.bands[i].name for i in ratings.band]
    return ratings.probability, ratings.score, names


def population(model: RiskModel, features: pd.DataFrame, *, start: dt.date,
               end: dt.date, families: ExtractFamilies | None = None) -> Population:
    """The referrals dated `start` to `end`, scored by `model`, with their `families`
    (formed over the whole extract and its household members; by default over all of
    `features` alone)."""
    rows = window(features, start=start, end=end)
    _, score, _ = _rate(model, rows)
    if families is None:
        families = ExtractFamilies.form(features, None)
    return Population(rows, score, start, end, families_of(families.attach(rows)))


# Which referrals the outcome figures at training describe (stored with them): the
# same kind as the matured referrals monitored, so the two columns compare like with like.
REFERENCE_OUTCOMES_POPULATION = (
    f"every referral of the test period whose {LABEL_WINDOW_DAYS}-day follow-up was complete "
    "at the training extract's date (later referrals of a family included, as in monitoring)")


def reference_outcomes(model: RiskModel, features: pd.DataFrame, labels: pd.DataFrame, *,
                       start: dt.date) -> dict[str, Any]:
    """The outcome figures at training: all test-period referrals with a complete follow-up.

    Not only the test referrals the model was evaluated on, which leave out a family's
    later referrals: matured referrals are monitored without that rule, and a probe's 573
    evaluated referrals had an outcome rate of 13.4% where all 3,088 had 29.2%.
    """
    rows = window(features, start=start).merge(labels, on="referral_id")
    rows = rows.loc[rows["follow_up_complete"].to_numpy(dtype=bool)]
    probability, _, bands = _rate(model, rows)
    figures = outcome_figures(rows["label"].to_numpy(dtype=np.int64), probability, bands,
                              [band.name for band in model.governance.bands])
    return {**figures, "population": REFERENCE_OUTCOMES_POPULATION}


def reference_for(model: RiskModel, features: pd.DataFrame, *, start: dt.date,
                  end: dt.date, labels: pd.DataFrame,
                  members: pd.DataFrame | None = None) -> dict[str, Any]:
    """The monitoring reference of a model just trained (stored in its metadata).

    Args:
        start: The first day of the test period.
        end: The training extract's date: the reference period ends there, as the
            monitored period of a newer extract ends on that extract's date.
        labels: The training extract's labels (`pipelines.labels.build_labels`).
        members: Household membership, linking families as monitoring links them.
    """
    start, end = latest_period(end, start=start)
    current = population(model, features, start=start, end=end,
                         families=ExtractFamilies.form(features, members))
    return {**build_reference(current, model_features=model.feature_names,
                              outcomes=reference_outcomes(model, features, labels, start=start)),
            REFERENCE_KEY: recent_by_group(current.features, current.families)}


def _outcomes_missing(prepared: PreparedExtract) -> str | None:
    """Why the extract's outcomes cannot be judged (None when they can)."""
    feed = prepared.feeds.get(OUTCOMES)
    if feed is None or prepared.labels is None:
        return "the extract has no outcomes feed"
    if len(feed) == 0:
        return ("the extract's outcomes feed holds no accepted row, read as not supplied "
                "rather than as no referral having had an outcome")
    return None


def _matured(model: RiskModel, prepared: PreparedExtract) -> pd.DataFrame:
    """Labelled referrals whose follow-up completed after the model's training extract."""
    if prepared.labels is None:
        return prepared.features.iloc[:0].assign(label=pd.Series(dtype="Int64"))
    trained = dt.date.fromisoformat(model.metadata["extract_date"])
    frame = prepared.features.merge(prepared.labels, on="referral_id")
    dates = pd.to_datetime(frame["referral_date"])
    after = dates + pd.Timedelta(days=LABEL_WINDOW_DAYS) > pd.Timestamp(trained)
    return frame.loc[(frame["follow_up_complete"] & after).to_numpy()]


def _gaps_since_training(prepared: PreparedExtract, matured: pd.DataFrame
                         ) -> list[dict[str, Any]]:
    """Stretches of the extract's labelled referrals whose outcomes look unrecorded (judged
    against the whole extract's), those reaching the referrals matured since training."""
    if prepared.labels is None or matured.empty:
        return []
    frame = prepared.features[["referral_id", "referral_date"]].merge(prepared.labels,
                                                                      on="referral_id")
    frame = frame.loc[frame["follow_up_complete"].to_numpy(dtype=bool)]
    first = pd.to_datetime(matured["referral_date"]).min().date().isoformat()
    return [gap.to_json() for gap in outcome_gaps(frame["referral_date"],
                                                   frame["label"].to_numpy(dtype=np.int64))
            if gap.last_referral >= first]


def extract_notes(model: RiskModel, prepared: PreparedExtract) -> dict[str, str]:
    """What the command says as it closes of the extract it monitored, for the report too
    (a board reads the report, not the terminal): its quarantined rows (`quarantined`),
    the agencies that shared no records in it (`agencies_without_records`) and a missing
    household_members feed (`household_members`); only those that apply, in that order."""
    trained_with_them = model.metadata.get(HOUSEHOLD_MEMBERS) is True
    notes = {
        "quarantined": quarantine_note(prepared.quarantined_rows, prepared.input_dir,
                                       prepared.extract_date, unused="not monitored"),
        "agencies_without_records": no_feed_note(prepared.shared_nothing,
                                                 prepared.quarantined_rows, again="monitor"),
        "household_members": household_note(prepared.without_household,
                                            prepared.quarantined_rows,
                                            trained_with_them=trained_with_them),
    }
    return {name: note for name, note in notes.items() if note}


def monitor_extract(model: RiskModel, *, version: str, prepared: PreparedExtract,
                    decisions: pd.DataFrame, settings: MonitoringSettings | None = None,
                    since: dt.date | None = None) -> dict[str, Any]:
    """The monitoring report (JSON-ready): sections, checks, and the reasons to act.

    Args:
        decisions: Current decisions, one per referral (``referral_id``, ``band``,
            ``rag``, ``practitioner_rag``, ``agrees_with_band``, ``reason``, and the
            ``model_version`` of the score each was made on): only those made on this
            version's scores are counted; the others are counted by version.
    """
    reference = model.metadata.get(METADATA_KEY)
    if reference is None:
        raise NoMonitoringReference(
            f"model version {version} was trained before monitoring references were "
            "stored with each version: retrain it to monitor it")
    settings = settings or model.governance.monitoring
    period = monitored_period(reference, extract_date=prepared.extract_date,
                              referral_dates=prepared.features["referral_date"],
                              min_referrals=settings.min_window_referrals, since=since)
    start, end = period.start, period.end
    # Formed once: the window's referrals, the matured ones and the decided ones overlap.
    families = ExtractFamilies.form(prepared.features, prepared.members)
    current = population(model, prepared.features, start=start, end=end, families=families)
    if len(current.features) == 0:
        dates = pd.to_datetime(prepared.features["referral_date"]).dt.date
        held = (f"its referrals run {min(dates)} to {max(dates)}" if len(dates)
                else "it holds no referral")
        raise NothingToMonitor(f"no referral of the extract is dated from {start} ({held}): "
                               "nothing to monitor")
    drift_section, checks = drift(reference, current, settings)
    coverage_section, coverage_checks = coverage_change(reference, current, settings)
    coverage_section["by_quarter"], quarter_checks = coverage_by_quarter(reference, current,
                                                                         settings)
    coverage_section["recent_by_group"], group_checks = recent_group_coverage(
        reference, current.features, current.families, settings)
    checks += coverage_checks + quarter_checks + group_checks
    effective = effective_referrals(current.features, current.families)
    if not enough_to_judge(effective, settings):
        checks = too_few_to_judge(checks, len(current.features), settings.min_window_referrals,
                                  effective)
    drift_section[MIX_SECTION], mix_checks = referral_mix(
        reference, current.features, settings, judged=enough_to_judge(effective, settings))
    checks += mix_checks
    missing = _outcomes_missing(prepared)
    labels = None if missing else prepared.labels
    matured = families.attach(_matured(model, prepared))  # counted even when outcomes unknown
    probability, _, bands = _rate(model, matured)
    band_names = [band.name for band in model.governance.bands]
    outcomes_section, outcome_checks = matured_outcomes(
        reference, y=matured["label"].to_numpy(dtype=np.int64), probability=probability,
        band=bands, band_names=band_names, settings=settings, not_assessed=missing)
    y, matured_families = matured["label"].to_numpy(dtype=np.int64), families_of(matured)
    outcome_checks += matured_calibration(
        outcomes_section, y=y, probability=probability, band=bands, band_names=band_names,
        settings=settings, families=matured_families)
    outcome_checks += group_calibration(outcomes_section, matured, y=y, probability=probability,
                                        families=matured_families, settings=settings)
    outcomes_section[OUTCOME_GAPS] = [] if missing else _gaps_since_training(prepared, matured)
    attributes = prepared.features.drop(columns=list(FEATURE_NAMES), errors="ignore")
    on_version = decisions["model_version"].astype(str) == version
    elsewhere = decisions.loc[~on_version, "model_version"].astype(str).value_counts()
    joined = families.attach(decisions.loc[on_version].merge(attributes, on="referral_id",
                                                             how="left"))
    if labels is not None:
        joined = joined.merge(labels[["referral_id", "label"]], on="referral_id", how="left")
    practice_section, practice_checks = practice(joined, band_names=band_names,
                                                 settings=settings)
    practice_section["other_versions"] = {str(v): int(n) for v, n in sorted(elsewhere.items())}
    trained = dt.date.fromisoformat(model.metadata["extract_date"])
    recorded = record_delays(prepared.feeds)
    delays_section, delay_checks = record_delay_checks(prepared, recorded, start=start,
                                                       end=end, trained=trained)
    records_section, record_checks = record_fall_checks(
        prepared, recorded, start=start, trained=trained,
        late={row["agency"]: "" for row in delays_section if row["late"]})
    every: list[Check] = (checks + record_checks + delay_checks + outcome_checks
                          + practice_checks)
    return {
        "model_version": version,
        "generated_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "reference_period": reference["period"],
        "window": {"from": start.isoformat(), "to": end.isoformat(),
                   "referrals": len(current.features), "rule": period.rule,
                   "effective_referrals": round(effective, 1),
                   "judged": enough_to_judge(effective, settings)},
        EXTRACT_NOTES: extract_notes(model, prepared),
        "thresholds": settings.model_dump(),
        "drift": drift_section, "coverage": coverage_section, RECORDS_SECTION: records_section,
        DELAYS_SECTION: delays_section,
        "matured_outcomes": outcomes_section, "practice": practice_section,
        "checks": [check.to_json() for check in every],
        "crossed": [check.message for check in sorted(every, key=_drift_after_its_cause)
                    if check.crossed],
    }


def _drift_after_its_cause(check: Check) -> bool:
    """The order of the crossed thresholds: an agency's records falling or arriving late
    first, the drift they cause after (a probe's report listed a feature's drift first,
    the terminal its cause: `api.monitor_command.crossed_lines`); stable otherwise."""
    return not (check.kind in ("coverage", RECORD_FALL, RECORD_DELAY)
                and check.subject.removesuffix(" (90d)") in AGENCIES)
