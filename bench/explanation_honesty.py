"""Direction honesty and ranking quality of a scored extract (issue 22's measure).

Reads the ratings `safeguard score` wrote for an extract (explanations included) and
the extract itself, and prints: the share of referrals with at least one factor that
reports a record of a concern the manifest marks as raising risk (a count above zero,
or a days-since value present, of a feature with a monotonic direction) yet is listed
as lowering risk; the features most often behind such factors; and the ROC AUC of the
scores on the referrals whose follow-up is complete. Works on outputs written before
factors were grouped (one ``feature`` per factor) and after (``features``).

Run: .venv/bin/python bench/explanation_honesty.py --scores FILE --extract DIR
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

import pandas as pd
from sklearn.metrics import roc_auc_score

from model.data import prepare_extract
from pipelines.manifest import SPECS_BY_NAME


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scores", type=Path, required=True)
    parser.add_argument("--extract", type=Path, required=True)
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
    auc = roc_auc_score(table["label"].astype(int), table["probability"])
    print(f"ROC AUC, {len(table):,} referrals with complete follow-up: {auc:.4f}")


if __name__ == "__main__":
    main()
