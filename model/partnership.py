"""Partnership evidence: does each agency's information reach the hub, in time, and matter?

Per agency and per quarter (of the referral date, or of the recorded date for records
and delays):

- reach: the share of referrals for which the agency held any record about the subject
  or household by the referral date (the features' records-held flag), and the share
  with a record dated in the 90 days before the referral (monitoring's recent coverage):
  the first cannot fall when a feed stops, the second falls within weeks;
- records: how many the agency recorded in the quarter, and the quarters in which they
  fell far below its usual level (`model.record_falls`);
- timeliness: recorded minus event date (median and 90th percentile; an empty recorded
  date is the event date, as the feed specification says, and the share of records
  without one is reported beside them), for every quarter records were recorded in,
  referrals or not; and the share of records that would have informed a referral but
  were recorded only after it; over the whole report, the same of the records that would
  have informed a referral, and the agencies whose low recent reach comes from records
  that arrive late told apart from those whose feed stopped (`late_records.late_or_stopped`);
- contribution: the agency's mean absolute contribution to the explanation (SHAP, in
  log-odds, on a sample of referrals), and the share of referrals whose band would have
  been different without the agency's records: the referrals are scored again with that
  agency's feed removed, through the same feature build as every score.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any, Final

import numpy as np
import pandas as pd

from data_contracts.report import agencies_without_records
from data_contracts.vocab import AGENCIES, event_feed
from model.explain import CaseExplainer
from model.group_sums import group_sums
from model.late_records import (
    LATEST_DAYS,
    RECENT_DAYS,
    late_or_stopped,
    latest_delays,
    note_late_falls,
)
from model.monitoring_reference import RECENT_WINDOW, recent_coverage
from model.record_falls import (
    latest_recorded,
    record_falls,
    records_per_day,
    same_days_records,
)
from model.risk_model import RiskModel
from pipelines.feature_spec import coverage_feature_name
from pipelines.features import build_features
from pipelines.manifest import FEATURE_NAMES
from pipelines.manifest_lookup import count_features
from pipelines.timeliness import (
    LateInformation,
    agency_timeliness,
    late_information,
    record_delays,
)

EXPLANATION_SAMPLE: Final = 5_000
# The fewest referrals a sample may hold (all of them when the extract has fewer): a mean
# contribution over fewer moves with the sample drawn.
MIN_EXPLANATION_SAMPLE: Final = 100
Progress = Callable[[str], None]


def quarter_of(dates: pd.Series) -> np.ndarray:
    """Calendar quarter labels such as ``2025Q3``."""
    return pd.to_datetime(dates).dt.to_period("Q").astype(str).to_numpy()


def _matrix(features: pd.DataFrame) -> np.ndarray:
    return features[list(FEATURE_NAMES)].to_numpy(dtype=np.float32)


def bands_without(model: RiskModel, frames: Mapping[str, pd.DataFrame], *,
                  features: pd.DataFrame, progress: Progress) -> dict[str, np.ndarray]:
    """Per agency, each referral's band index had that agency shared nothing.

    An agency with no accepted record (no feed, an empty one, or every row quarantined)
    shared nothing already: its bands are the bands of the full extract (no rebuild).
    `features` are the full extract's, in the referrals feed's order (as `build_features`
    gives them).
    """
    full = model.rate(_matrix(features)).band
    shared_nothing = agencies_without_records(frames)
    out = {}
    for agency in AGENCIES:
        feed = event_feed(agency)
        if agency in shared_nothing:
            out[agency] = full
            continue
        progress(f"scoring again without {agency.replace('_', ' ')}")
        rest = {name: frame for name, frame in frames.items() if name != feed}
        out[agency] = model.rate(_matrix(build_features(rest))).band
    return {"with_all": full, **out}


def agency_contributions(explainer: CaseExplainer, features: pd.DataFrame, *,
                         sample: int, seed: int = 0) -> pd.DataFrame:
    """|SHAP| summed by agency for a random sample of referrals (rows: referral, agency)."""
    rows = features if len(features) <= sample else features.sample(sample, random_state=seed)
    if rows.empty:
        return pd.DataFrame({"referral_id": [], "agency": [], "abs_contribution": []})
    _, phi = explainer.contributions(_matrix(rows))
    by_agency = np.abs(group_sums(phi, explainer.agency_groups))[:, :len(AGENCIES)]
    return pd.DataFrame({
        "referral_id": np.repeat(rows["referral_id"].to_numpy(), len(AGENCIES)),
        "agency": np.tile(np.asarray(AGENCIES, dtype=object), len(rows)),
        "abs_contribution": by_agency.ravel(),
    })


def _reach(features: pd.DataFrame, quarters: np.ndarray) -> pd.DataFrame:
    held = {a: features[coverage_feature_name(a)].to_numpy() > 0 for a in AGENCIES}
    frame = pd.DataFrame({"quarter": np.tile(quarters, len(AGENCIES)),
                          "agency": np.repeat(AGENCIES, len(quarters)),
                          "held": np.concatenate([held[a] for a in AGENCIES])})
    reach = frame.groupby(["agency", "quarter"]).agg(reach=("held", "mean")).reset_index()
    return reach.merge(_recent_reach(features, quarters), on=["agency", "quarter"])


def _recent_reach(features: pd.DataFrame, quarters: np.ndarray) -> pd.DataFrame:
    """Per agency and quarter, monitoring's recent coverage of the quarter's referrals."""
    names = [n for a in AGENCIES for n in count_features(a, window=RECENT_WINDOW)
             if n in features]
    counts = features[names].reset_index(drop=True)
    rows = [{"agency": agency, "quarter": quarter, "recent_reach": share}
            for quarter, index in pd.Series(quarters).groupby(quarters).groups.items()
            for agency, share in recent_coverage(counts.loc[index]).items()]
    return pd.DataFrame(rows, columns=["agency", "quarter", "recent_reach"])


def _delays(delays: pd.DataFrame) -> pd.DataFrame:
    delays = delays.assign(
        quarter=lambda f: quarter_of(f["recorded_date"]))
    return delays.groupby(["agency", "quarter"]).agg(
        records=("delay_days", "size"), median_delay_days=("delay_days", "median"),
        p90_delay_days=("delay_days", lambda d: float(np.quantile(d, 0.9))),
        undated_share=("dated", lambda d: 1.0 - float(d.mean()))).reset_index()


def _late(information: LateInformation) -> pd.DataFrame:
    late = information.by_referral.assign(quarter=lambda f: quarter_of(f["referral_date"]))
    table = late.groupby(["agency", "quarter"]).agg(
        informing_records=("informing", "sum"), late_records=("late", "sum")).reset_index()
    table["late_share"] = table["late_records"] / table["informing_records"]
    return table


def _changes(bands: dict[str, np.ndarray], quarters: np.ndarray, needs: np.ndarray
             ) -> pd.DataFrame:
    full = bands["with_all"]
    return pd.DataFrame({
        "agency": np.repeat(AGENCIES, len(full)),
        "quarter": np.tile(quarters, len(AGENCIES)),
        "presenting_need": np.tile(needs, len(AGENCIES)),
        "changed": np.concatenate([bands[a] != full for a in AGENCIES]),
        "lower_without": np.concatenate([bands[a] < full for a in AGENCIES]),
    })


def partnership_tables(model: RiskModel, frames: Mapping[str, pd.DataFrame],
                       features: pd.DataFrame, *, explainer: CaseExplainer,
                       extract_date: dt.date, sample: int = EXPLANATION_SAMPLE,
                       progress: Progress = lambda _s: None) -> dict[str, pd.DataFrame]:
    """The report's tables: per agency x quarter, and per agency x presenting need."""
    quarters = quarter_of(features["referral_date"])
    needs = frames["referrals"]["presenting_need"].astype(str).to_numpy()
    progress("reach and timeliness")
    late, recorded = late_information(frames), record_delays(frames)
    # Outer: records and delays of a quarter without referrals are kept (by the quarter
    # they were recorded in); a referral quarter without any record has none.
    by_quarter = (_reach(features, quarters)
                  .merge(_late(late), on=["agency", "quarter"], how="left")
                  .merge(_delays(recorded), on=["agency", "quarter"], how="outer"))
    by_quarter["records"] = by_quarter["records"].fillna(0).astype(np.int64)
    progress("explaining a sample of referrals")
    shares = agency_contributions(explainer, features, sample=sample).merge(
        pd.DataFrame({"referral_id": features["referral_id"].to_numpy(), "quarter": quarters}),
        on="referral_id")
    mean_abs = shares.groupby(["agency", "quarter"]).agg(
        mean_abs_contribution=("abs_contribution", "mean")).reset_index()
    changes = _changes(bands_without(model, frames, features=features, progress=progress),
                       quarters, needs)
    changed = changes.groupby(["agency", "quarter"]).agg(
        band_changed_share=("changed", "mean"),
        band_lower_without_share=("lower_without", "mean")).reset_index()
    by_quarter = (by_quarter.merge(mean_abs, on=["agency", "quarter"], how="left")
                  .merge(changed, on=["agency", "quarter"], how="left")
                  .sort_values(["agency", "quarter"], ignore_index=True))
    by_need = changes.groupby(["presenting_need", "agency"]).agg(
        referrals=("changed", "size"), band_changed_share=("changed", "mean")).reset_index()
    overall = changes.groupby("agency").agg(
        band_changed_share=("changed", "mean"),
        band_lower_without_share=("lower_without", "mean")).join(
        shares.groupby("agency").agg(mean_abs_contribution=("abs_contribution", "mean")))
    overall = overall.join(_reach(features, np.full(len(features), "all"))
                           .set_index("agency")[["reach", "recent_reach"]])
    overall = overall.join(agency_timeliness(late, window_days=RECENT_DAYS))
    overall = overall.join(latest_delays(recorded, extract_date=extract_date))
    # An agency with no accepted record (no feed, none in it, or every row quarantined)
    # shared nothing: its reach is nil by absence, which the report names rather than
    # showing as a finding about the referrals.
    shared_nothing = agencies_without_records(frames)
    overall["shared"] = [agency not in shared_nothing for agency in overall.index]
    dates = pd.to_datetime(features["referral_date"])
    return {"by_quarter": by_quarter, "by_need": by_need, "overall": overall.reset_index(),
            "explained": pd.DataFrame({"referrals": [shares["referral_id"].nunique()]}),
            "records_per_day": records_per_day(recorded),
            "first_referral": pd.DataFrame({"date": [dates.min().date() if len(dates)
                                                     else None]})}


def _delay_began(row: dict[str, Any], extract_date: dt.date) -> str:
    """The first quarter a late agency's delay can have emptied: that of the latest days'
    start (or of the whole period, when lateness was judged on it), less the delay."""
    delay = row.get("latest_median_delay_days")
    if delay is None:
        return ""
    start = extract_date - dt.timedelta(days=LATEST_DAYS - 1 + round(delay))
    return str(pd.Period(start, freq="Q"))


def _records(table: pd.DataFrame) -> list[dict[str, Any]]:
    clean = table.astype(object).where(pd.notna(table), None)
    return [{str(k): v for k, v in row.items()} for row in clean.to_dict(orient="records")]


def band_changes_mostly(overall: list[dict[str, Any]]) -> dict[str, list[str]]:
    """The agencies most of whose differing bands would be lower without them, and those
    most of whose would be higher (`overall`'s rows: band changed and lower shares); an
    agency with as many each way, none differing, or not measured is in neither."""
    mostly: dict[str, list[str]] = {"lower": [], "higher": []}
    for row in overall:
        changed, lower = row.get("band_changed_share"), row.get("band_lower_without_share")
        if changed is None or lower is None or not changed > 0:
            continue
        higher = changed - lower  # shares of the same referrals: the rest rose
        if not np.isclose(lower, higher, rtol=1e-9, atol=0.0):
            mostly["lower" if lower > higher else "higher"].append(str(row["agency"]))
    return mostly


def partnership_report(tables: dict[str, pd.DataFrame], *, model_version: str,
                       extract_date: dt.date, referrals: int) -> dict[str, Any]:
    """The JSON-ready report, with the agencies that matter most for each need and the
    quarters in which an agency's records fell away (`record_falls`)."""
    by_need = tables["by_need"].sort_values(["presenting_need", "band_changed_share"],
                                            ascending=[True, False])
    most = {need: [row["agency"] for _, row in group.head(3).iterrows()
                   if row["band_changed_share"] > 0]
            for need, group in by_need.groupby("presenting_need")}
    by_quarter = tables["by_quarter"]
    shared = [str(a) for a, ok in zip(tables["overall"]["agency"], tables["overall"]["shared"],
                                      strict=True) if ok]
    first_referral = tables["first_referral"]["date"].iloc[0]
    falls = record_falls(by_quarter, extract_date=extract_date, shared=shared,
                         first_referral=first_referral, same_days=same_days_records(
                             tables["records_per_day"], extract_date=extract_date))
    overall = _records(tables["overall"])
    to_quarter = str(pd.Period(extract_date, freq="Q"))
    # Low recent reach explained: records that arrive late, or a feed that stopped.
    explained = late_or_stopped(overall, falls, latest_recorded(tables["records_per_day"]),
                                to_quarter=to_quarter, latest_days=LATEST_DAYS)
    rows = {str(row["agency"]): row for row in overall}
    note_late_falls(falls, {found["agency"]: _delay_began(rows[found["agency"]], extract_date)
                            for found in explained if found["late"]})
    return {
        "model_version": model_version, "extract_date": extract_date.isoformat(),
        "generated_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "referrals": referrals,
        # Whether records arrive late is judged on those recorded in these latest days.
        "latest_days": LATEST_DAYS,
        # From the first referral's quarter to the extract date's: the page's quarters (the
        # JSON's by_quarter also holds the records and delays of earlier quarters).
        "period": {"from_quarter": str(pd.Period(first_referral, freq="Q"))
                   if first_referral else None,
                   "to_quarter": to_quarter},
        # The referrals the mean contributions rest on (a random sample).
        "explained_referrals": int(tables["explained"]["referrals"].iloc[0]),
        "overall": overall,
        "band_changes_mostly": band_changes_mostly(overall),
        "not_shared": [str(a) for a, shared in
                       zip(tables["overall"]["agency"], tables["overall"]["shared"], strict=True)
                       if not shared],
        "by_quarter": _records(by_quarter),
        "record_falls": falls,
        "late_or_stopped": explained,
        "by_need": _records(by_need),
        "most_important_by_need": most,
    }
