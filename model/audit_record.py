"""Which fairness audit of an extract the approval gate judges (`model.audit_acceptance`).

`safeguard audit fairness` recorded every audit with the version's run, the latest
replacing the one before, so a narrow audit replaced the whole one: an independent probe
ran `--since` over 984 referrals (74 groups too small to judge, at 100 resamples), which
replaced the whole-extract audit holding a finding on Black subjects, and the version was
then approved without that finding named. An audit is now recorded for the gate only when
it covers the whole extract (no `--since`), takes at least the model's default number of
resamples (its governance's `bootstrap_resamples`), and audits at least as many labelled
referrals as the audit already recorded for the version; otherwise its report is written
but not recorded, and the recorded one stays.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from model.fairness import AUDITED


def _described(recorded: Mapping[str, Any] | None) -> str:
    if recorded is None:
        return "the version still has no audit of an extract recorded"
    extract = (recorded.get(AUDITED) or {}).get("extract_date")
    of = f" of the extract dated {extract}" if extract else ""
    return (f"the recorded audit{of} ({recorded.get('n_labelled', 0):,} labelled referrals; "
            f"{recorded.get('generated_at', 'undated')}) stays")


def not_recorded_reason(audit: Mapping[str, Any], recorded: Mapping[str, Any] | None
                        ) -> str | None:
    """Why `audit` (a `fairness.json` document of `model.workflow.audit_extract`) is not
    recorded for approval in place of `recorded` (the version's recorded audit; None:
    none), as one line; None when it is recorded."""
    covered = audit.get(AUDITED) or {}
    n = int(audit.get("n_labelled", 0))
    resamples = (audit.get("tolerance") or {}).get("bootstrap_resamples")
    default = covered.get("default_resamples")
    reason = None
    if covered.get("since"):
        whole = covered.get("labelled_in_extract")
        of = f" of {whole:,}" if isinstance(whole, int) else ""
        reason = (f"a --since audit covers part of the extract ({n:,}{of} labelled "
                  "referrals)")
    elif isinstance(default, int) and isinstance(resamples, int) and resamples < default:
        reason = (f"{resamples} bootstrap resamples, fewer than the model's default of "
                  f"{default} (leave --resamples out, or give at least {default})")
    elif recorded is not None and n < int(recorded.get("n_labelled", 0)):
        reason = (f"it audits {n:,} labelled referrals, fewer than the "
                  f"{int(recorded['n_labelled']):,} of the audit recorded")
    if reason is None:
        return None
    return f"not recorded for approval: {reason}; {_described(recorded)}"
