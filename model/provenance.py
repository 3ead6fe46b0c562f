"""What a version's test metrics were measured on: its training extract (date and
fingerprint, from its run's tags) and its test period (from its training report).

Two versions' test metrics are comparable only when both come from the same extract and
period; `safeguard model list` shows these beside the metrics, and `safeguard model
compare` scores versions on one extract instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

from model.card_sources import TRAINING_REPORT

if TYPE_CHECKING:
    from model.registry import ModelRegistry

FINGERPRINT_SHOWN = 12  # hex digits: enough to tell extracts apart on a screen


@dataclass(frozen=True)
class Provenance:
    """A version's training extract and test period (None where its run does not say)."""

    extract_date: str | None
    fingerprint: str | None
    test_from: str | None
    test_referrals: int | None  # held out: families not seen earlier
    test_period_referrals: int | None = None  # every referral of the period
    missing: str | None = None  # why the run's files could not be read (moved, deleted)

    def extract(self) -> str:
        """The training extract as a table cell: its date and short fingerprint."""
        if self.extract_date is None and self.fingerprint is None:
            return "not recorded"
        short = (self.fingerprint or "")[:FINGERPRINT_SHOWN]
        return f"{self.extract_date or '?'} ({short or 'no fingerprint'})"

    def test_period(self) -> str:
        """The test referrals as a table cell: from when, how many were held out, and of how
        many in the period (the `test_*` and `test_period_*` metrics' referrals: the version
        page said "2,659 referrals" above "test period n 3,267")."""
        if self.missing is not None:
            return "files missing"
        if self.test_from is None:
            return "not recorded"
        if self.test_referrals is None:
            return f"from {self.test_from}"
        of = ("" if self.test_period_referrals is None
              else f"; {self.test_period_referrals:,} in the period")
        return (f"from {self.test_from}, {self.test_referrals:,} referrals held out "
                f"(families not seen earlier{of})")


def provenance(registry: ModelRegistry, version: str) -> Provenance:
    """A version's training extract and test period, read from its run."""
    from model.registry import RegistryError

    tags = registry.run_tags(version)
    try:
        report = registry.read_artifact(version, TRAINING_REPORT)
    except RegistryError as exc:  # the list goes on: one version's files are not the list's
        return Provenance(extract_date=tags.get("extract_date"),
                          fingerprint=tags.get("extract_fingerprint"), test_from=None,
                          test_referrals=None, missing=str(exc))
    split = (json.loads(report) if report else {}).get("split", {})
    count = split.get("test_referrals")
    return Provenance(extract_date=tags.get("extract_date"),
                      fingerprint=tags.get("extract_fingerprint"),
                      test_from=split.get("test_from"),
                      test_referrals=int(count) if count is not None else None,
                      test_period_referrals=(int(split["test_period_referrals"])
                                             if "test_period_referrals" in split else None))
