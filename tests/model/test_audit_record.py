"""Which fairness audit of an extract the approval gate judges: a whole one with the
model's default resamples, auditing at least as many labelled referrals as the audit
recorded; a narrower one is written but not recorded (`model.audit_record`)."""

from __future__ import annotations

from typing import Any

from model.audit_record import not_recorded_reason


def _audit(n: int, *, since: str | None = None, resamples: int = 200, in_extract: int = 0,
           extract: str = "2026-06-30") -> dict[str, Any]:
    return {"n_labelled": n, "generated_at": "2026-12-07T09:00:00Z",
            "tolerance": {"bootstrap_resamples": resamples},
            "audited": {"extract_date": extract, "since": since,
                        "labelled_in_extract": in_extract or n, "default_resamples": 200}}


def test_a_since_audit_is_not_recorded_and_says_which_stays() -> None:
    whole = _audit(12_301)
    reason = not_recorded_reason(_audit(984, since="2025-05-01", in_extract=12_301), whole)
    assert reason == ("not recorded for approval: a --since audit covers part of the extract "
                      "(984 of 12,301 labelled referrals); the recorded audit of the extract "
                      "dated 2026-06-30 (12,301 labelled referrals; 2026-12-07T09:00:00Z) "
                      "stays")
    # Even the first audit of a version: a narrow one is never what the gate judges.
    assert not_recorded_reason(_audit(984, since="2025-05-01"), None) is not None


def test_fewer_resamples_than_the_default_are_not_recorded() -> None:
    reason = not_recorded_reason(_audit(12_301, resamples=100), None)
    assert reason is not None and "100 bootstrap resamples, fewer than the model's default " \
        "of 200" in reason and "no audit of an extract recorded" in reason
    assert not_recorded_reason(_audit(12_301, resamples=500), None) is None


def test_a_whole_audit_replaces_one_of_as_many_or_fewer_referrals_only() -> None:
    recorded = _audit(12_301)
    assert not_recorded_reason(_audit(15_020, extract="2026-09-30"), recorded) is None
    assert not_recorded_reason(_audit(12_301), recorded) is None
    reason = not_recorded_reason(_audit(9_000, extract="2025-12-31"), recorded)
    assert reason is not None and "9,000 labelled referrals, fewer than the 12,301" in reason
