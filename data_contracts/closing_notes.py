"""What a command that builds on an extract says as it closes: the rows quarantined, the
agencies that shared no records, and a missing household_members feed (`safeguard
features`, `score` and `train`, either engine, and `safeguard monitor`)."""

from __future__ import annotations

import datetime as dt
import shlex
from collections.abc import Mapping, Sequence

from data_contracts.vocab import AGENCIES, AGENCY_LABELS, HOUSEHOLD_MEMBERS, REFERRALS, event_feed


def _listed(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def no_feed_note(agencies: Sequence[str], quarantined: Mapping[str, int] | None = None, *,
                 training: bool = False, again: str | None = None) -> str | None:
    """What a scoring command says of the agencies that shared no records in the extract
    (`data_contracts.report.agencies_without_records`; None when every agency shared some).
    An agency whose feed held rows that were all quarantined is named apart, with how many:
    it did send records (a date format, say, rejected them all), and "shared no records"
    alone sent the reader to ask it for data it had sent rather than to correct the file.
    `training`: said by `safeguard train`, of the model learning nothing from them;
    `again`: the command to run again once the feed is corrected (by default `score`, or
    `train` when training)."""
    names = [AGENCY_LABELS[a] for a in agencies]
    if not names:
        return None
    their = "its" if len(names) == 1 else "their"
    note = (f"{_listed(names)} shared no records in this extract (no feed, a feed without "
            "rows, or every row quarantined): " + (
                f"the model learns nothing from {their} records." if training else
                f"every referral was rated without {their} records (not seen, which is not "
                "the same as nothing concerning)."))
    if not training and set(agencies) >= set(AGENCIES):
        # An independent probe's extract of referrals alone: every referral rated low, green.
        note += (" No agency shared any record: each rating rests on the referral's own "
                 "details alone, and a low band is no sign that nothing is known.")
    rejected = [(AGENCY_LABELS[a], n) for a in agencies
                if (n := (quarantined or {}).get(event_feed(a), 0))]
    if rejected:
        note += (" Every row was quarantined: " + _listed(
            [f"{label} ({n:,} rows)" for label, n in rejected]) + "; correct the feed and "
            f"{again or ('train' if training else 'score')} again (`safeguard validate` lists each "
            "row with its reason).")
    return note


def household_note(missing: bool, quarantined: Mapping[str, int] | None = None, *,
                   training: bool = False, trained_with_them: bool = False) -> str | None:
    """What a command that builds features says when the extract linked no household member
    (`data_contracts.report.without_household_members`; None when it did): the feed is
    optional, and without it records about a subject's parents and carers silently
    counted for no referral. `training`: said by `safeguard train`; `trained_with_them`:
    by `safeguard monitor` of a model whose training extract linked them (every agency's
    household records then fall, which its checks would lay at the agencies' door)."""
    if not missing:
        return None
    rows = (quarantined or {}).get(HOUSEHOLD_MEMBERS, 0)
    why = (f"Every household_members row was quarantined ({rows:,})" if rows
           else "No household_members feed (or a feed without rows)")
    then = ("; the model learns nothing from them." if training else
            "; the model was trained on an extract that had them, so drift and falls in "
            "agencies' records may come from this, not from the agencies." if trained_with_them
            else ".")
    return (f"{why}: records about parents, carers and other household members could not "
            f"be counted for any referral{then}")


def quarantine_note(quarantined: Mapping[str, int], input_dir: object,
                    extract_date: dt.date | None = None, *,
                    unused: str = "not in this output") -> str | None:
    """What a command that builds on an extract says of its quarantined rows (None when
    there were none): they are in nothing it wrote, and where their reasons are (the
    `safeguard validate` it names carries the command's `--extract-date`, when given:
    without it validate takes the extract date from the data, and another date
    quarantines other rows; `unused`: what became of the quarantined referrals, for a
    command that writes no output of rows: "not trained on", "not monitored"). (An
    extract whose every referral was quarantined is refused before any work:
    `data_contracts.validate.no_referral_accepted`.)"""
    if not quarantined:
        return None
    referrals = quarantined.get(REFERRALS, 0)
    others = sum(n for feed, n in quarantined.items() if feed != REFERRALS)
    parts = ([f"{referrals:,} referral row{'s' if referrals != 1 else ''} ({unused})"]
             if referrals else []) + (
        [f"{others:,} row{'s' if others != 1 else ''} of other feeds"] if others else [])
    dated = f" --extract-date {extract_date.isoformat()}" if extract_date else ""
    return (f"Quarantined, so not used: {' and '.join(parts)}; `safeguard validate --input "
            f"{shlex.quote(str(input_dir))}{dated} --report DIR` lists each with its reason.")
