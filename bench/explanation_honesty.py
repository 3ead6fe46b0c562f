"""Direction honesty and ranking quality of a scored extract (issue 22's measure).

Reads the ratings `safeguard score` wrote for an extract (explanations included) and
the extract itself, and prints: the share of referrals with at least one factor that
reports a record of a concern the manifest marks as raising risk (a count above zero,
or a days-since value present, of a feature with a monotonic direction) yet is listed
as lowering risk; the features most often behind such factors; and the ROC AUC of the
scores on the referrals whose follow-up is complete. Works on outputs written before
factors were grouped (one ``feature`` per factor) and after (``features``).

Then the score itself (``--cases N``, 0 to skip): N referrals of the extract are scored
as live cases by the model version that scored the file (the registry the ``SAFEGUARD_``
settings name), each again with one record more of every event type of concern
(`pipelines.manifest.CONCERN_EVENTS`) about the subject or a member of the household,
known before the referral, an old one and a recent one; it prints how many of those
records lowered the raw score (none should: "more domestic-abuse incidents never lowers
the score") and the largest fall.

Run: .venv/bin/python bench/explanation_honesty.py --scores FILE --extract DIR [--cases N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from api.settings import Settings, settings_registry
from model.data import PreparedExtract, prepare_extract
from model.risk_model import RiskModel
from pipelines.case import build_cases_features, case_payload_from_frames
from pipelines.manifest import CONCERN_EVENTS, SPECS_BY_NAME

DAYS_BEFORE = (900, 20)  # an old record and a recent one


def dishonest(factors: list[dict[str, object]], row: pd.Series) -> list[str]:
    """The features of lowering factors that report a record of a raising concern."""
    found = []
    for factor in factors:
        if factor["direction"] != "lowers":
            continue
        names = factor.get("features") or [factor["feature"]]
        for name in names:  # type: ignore[union-attr]
            spec = SPECS_BY_NAME[str(name)]
            if spec.is_concern and spec.records_present(float(row[str(name)])):
                found.append(str(name))
    return found


def with_record(case: dict[str, Any], agency: str, event_type: str, days_before: int,
                position: int) -> dict[str, Any]:
    """The case with one record more, known on its event date: about the subject for even
    `position`, else about another member of the household (the subject when none)."""
    subject = case["referral"]["person_id"]
    others = [m["person_id"] for m in case["household_members"] if m["person_id"] != subject]
    person = others[position % len(others)] if others and position % 2 else subject
    day = dt.date.fromisoformat(case["referral"]["referral_date"]) - dt.timedelta(days_before)
    record = {"agency": agency, "person_id": person, "event_date": day.isoformat(),
              "recorded_date": day.isoformat(), "event_type": event_type, "value": None}
    return {**case, "events": [*case["events"], record]}


def score_falls(model: RiskModel, prepared: PreparedExtract, n: int
                ) -> tuple[int, np.ndarray, Counter[str]]:
    """How many referrals were tried, each added record's fall in raw score (added records
    of `CONCERN_EVENTS` x `DAYS_BEFORE` x referrals), and the event types of the falls."""
    refs = prepared.feeds["referrals"]["referral_id"].astype(str)
    ids = refs.iloc[::max(1, len(refs) // n)].iloc[:n]
    cases = [json.loads(json.dumps(case_payload_from_frames(prepared.feeds, rid), default=str))
             for rid in ids]

    def raw(payloads: list[dict[str, Any]]) -> np.ndarray:
        return model.raw_score(model.model_matrix(build_cases_features(payloads)))

    before = raw(cases)
    falls, types = [], Counter[str]()
    for agency, event_type in CONCERN_EVENTS:
        for days in DAYS_BEFORE:
            fall = before - raw([with_record(case, agency, event_type, days, i)
                                 for i, case in enumerate(cases)])
            falls.append(fall)
            types[event_type] += int((fall > 1e-9).sum())
    return len(cases), np.concatenate(falls), types


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scores", type=Path, required=True)
    parser.add_argument("--extract", type=Path, required=True)
    parser.add_argument("--cases", type=int, default=300)
    args = parser.parse_args()
    scores = pd.read_parquet(args.scores)
    prepared = prepare_extract(args.extract)
    features = prepared.features.set_index("referral_id")
    behind: Counter[str] = Counter()
    flagged = 0
    for referral_id, text in zip(scores["referral_id"], scores["top_factors"], strict=True):
        names = dishonest(json.loads(text), features.loc[referral_id])
        flagged += bool(names)
        behind.update(names)
    print(f"referrals scored                  {len(scores):,}")
    print(f"with a concerning record listed as lowering risk: {flagged:,} "
          f"({flagged / len(scores):.1%})")
    for name, count in behind.most_common(8):
        print(f"  {count:7,}  {name}")
    assert prepared.labels is not None
    table = scores.merge(prepared.labels, on="referral_id")
    table = table[table["follow_up_complete"]]
    if table["label"].nunique() == 2:
        auc = roc_auc_score(table["label"].astype(int), table["probability"])
        print(f"ROC AUC, {len(table):,} referrals with complete follow-up: {auc:.4f}")
    else:
        print(f"ROC AUC: none ({len(table):,} referrals with complete follow-up, "
              "not both outcomes)")
    if args.cases <= 0:
        return
    version = str(scores["model_version"].iloc[0])
    model = settings_registry(Settings()).load(version).model
    tried, falls, types = score_falls(model, prepared, args.cases)
    lowered = int((falls > 1e-9).sum())
    print(f"records of a concern added to {tried:,} referrals (model version {version}): "
          f"{falls.size:,}; lowered the raw score: {lowered:,} ({lowered / falls.size:.1%}), "
          f"largest fall {max(float(falls.max()), 0.0):.3f}")
    for event_type, count in types.most_common(5):
        if count:
            print(f"  {count:7,}  {event_type}")


if __name__ == "__main__":
    main()
