"""The rules of a case beyond its fields' types, each error naming its field: its records
against the feed contract's rules (`data_contracts.rules`, checked column by column: a
case holds hundreds of records), its household and its earlier referrals.

`CasePayload` checks them once every field of a case is valid, all at once. A case
refused for its fields is checked here too, on its fields that are valid
(`rules_beside`), so that one 422 lists every problem of the case: a rule is left out
only where a field it reads is itself invalid.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, Final, NamedTuple

import numpy as np
from pydantic_core import ErrorDetails, InitErrorDetails, PydanticCustomError

from data_contracts import rules, vocab
from data_contracts.parsing import date_text
from pipelines.case_records import EventColumns, event_columns

# The context key marking an error as a rule's, not a field's (the rules were checked).
RULE: Final = "case_rule"

_today_cache: tuple[float, date] = (0.0, date.min)


def utc_today() -> date:
    """Today's UTC date, read from the clock once per UTC day (a case holds hundreds of dates)."""
    global _today_cache
    now = time.time()
    expires, day = _today_cache
    if now >= expires:
        day = datetime.now(UTC).date()
        _today_cache = ((now // 86_400 + 1) * 86_400, day)
    return day


def _error(kind: str, template: str, loc: tuple[str | int, ...], value: Any,
           **context: Any) -> InitErrorDetails:
    return InitErrorDetails(type=PydanticCustomError(kind, template, {**context, RULE: True}),
                            loc=loc, input=value)


def household_errors(*, members_listed: bool, household_id: str | None
                     ) -> list[InitErrorDetails]:
    """Members belong to the referral's household: without its id they would not be
    linked (as in the feeds), and their records would go uncounted without a word."""
    if not members_listed or household_id is not None:
        return []
    return [_error("household_missing", "household_members are listed but "
                   "referral.household_id is empty: give the household's token, or leave the "
                   "members out", ("referral", "household_id"), None)]


def _repeats(referral_id: str | None, earlier: Iterable[tuple[int, str]]
             ) -> list[tuple[int, str]]:
    """The earlier referrals (index and id) whose id was named already."""
    seen = set() if referral_id is None else {referral_id}
    repeats = []
    for index, earlier_id in earlier:
        if earlier_id in seen:
            repeats.append((index, earlier_id))
        seen.add(earlier_id)
    return repeats


def _repeat_error(index: int, earlier_id: str) -> InitErrorDetails:
    return _error("repeated_referral", "referral_id {referral_id} is this referral's, or an "
                  "earlier one's already listed: each referral once",
                  ("previous_referrals", index, "referral_id"), earlier_id,
                  referral_id=repr(earlier_id))


def repeated_referral_errors(referral_id: str | None, earlier: Iterable[tuple[int, str]]
                             ) -> list[InitErrorDetails]:
    """A referral id names one referral, as in the feed (a repeat is quarantined there):
    an earlier referral (`earlier`: its index and id) sent twice was counted twice, and
    this referral is not its own earlier one."""
    return [_repeat_error(*repeat) for repeat in _repeats(referral_id, earlier)]


def repeated_case_errors(cases: Iterable[tuple[int, str]]) -> list[InitErrorDetails]:
    """A batch names each referral once (`cases`: each case's index and referral id): two
    cases of one referral were scored and stored twice, the later standing as its score."""
    return [_error("repeated_case", "referral_id {referral_id} is an earlier case's in this "
                   "batch: a batch names each referral once", ("cases", index, "referral",
                                                               "referral_id"), case_id,
                   referral_id=repr(case_id)) for index, case_id in _repeats(None, cases)]


_AGENCY_CODES = {agency: code for code, agency in enumerate(vocab.AGENCIES)}


def _rows_to_screen(columns: EventColumns) -> rules.EventRows:
    """The rows from the columns the scorer reads anyway, when every record is in the
    vocabulary: enough to tell whether any record breaks a rule (a fraction of reading
    the records again). The known day stands in for the recorded date: it is the event
    date when none is recorded, which breaks a rule only where the event date does."""
    return rules.EventRows(agency=None, pair=columns.pair,
                           event_day=columns.event_day, recorded_day=columns.known_day,
                           value=columns.value)


def _rows_to_name(events: Sequence[Mapping[str, Any]], columns: EventColumns
                  ) -> rules.EventRows:
    """The exact rows, to name each record's broken rules."""
    agency = [_AGENCY_CODES.get(event["agency"], rules.OUTSIDE_VOCABULARY) for event in events]
    recorded = [event.get("recorded_date") for event in events]
    return rules.EventRows(
        agency=np.array(agency, np.int64), pair=columns.pair, event_day=columns.event_day,
        recorded_day=np.array([rules.MISSING_DAY if day is None else rules.day_of(day)
                               for day in recorded], np.int64),
        value=columns.value)


def _reads(rule: rules.Rule) -> tuple[str, ...]:
    """The fields of a record a rule reads: its own, and those it is judged against."""
    if rule is rules.RECORDED_BEFORE_EVENT:
        return ("recorded_date", "event_date")
    return (rule.field, *_ALSO_READS.get(rule.field, ()))


# An event type is judged against its agency's vocabulary, a value against its event type.
_ALSO_READS: Final = {"event_type": ("agency",), "value": ("agency", "event_type")}


class BrokenRecords:
    """The rules a case's records break: how many (`count`), and the errors of the first
    of them, built only as far as asked (`errors`), as a 422 lists 50: building an error
    costs far more than counting it. A rule reading a field `invalid` names for its
    record (those fields stand in as None) is left out."""

    def __init__(self, events: Sequence[Mapping[str, Any]], columns: EventColumns, *,
                 invalid: Mapping[int, frozenset[str]] | None = None) -> None:
        self.events = events
        self.rules: list[rules.Rule] = []
        self.broken = np.zeros((0, len(events)), bool)  # rule by record
        today = rules.day_of(utc_today())
        if not events or (not columns.unknown
                          and not rules.broken_event_rules(_rows_to_screen(columns), today)):
            return
        found = rules.broken_event_rules(_rows_to_name(events, columns), today)
        self.rules = [rule for rule, _ in found]
        self.broken = np.vstack([mask for _, mask in found])
        for order, rule in enumerate(self.rules):
            reads = _reads(rule)
            self.broken[order, [index for index, fields in (invalid or {}).items()
                                if index < len(events) and not fields.isdisjoint(reads)]] = False

    @property
    def count(self) -> int:
        return int(np.count_nonzero(self.broken))

    def errors(self, limit: int | None = None) -> list[InitErrorDetails]:
        """One error per rule a record breaks, by record and then in field order: the
        first `limit` of them (all when None)."""
        record, order = np.nonzero(self.broken.T)
        return [_error("value_error", "{message}", ("events", index, rule.field),
                       self.events[index].get(rule.field),
                       message=rule.explain(self.events[index]), reason=rule.reason)
                for index, rule in zip(record[:limit].tolist(),
                                       [self.rules[at] for at in order[:limit].tolist()],
                                       strict=True)]


def record_errors(events: Sequence[Mapping[str, Any]], columns: EventColumns
                  ) -> list[InitErrorDetails]:
    """One error per rule a record breaks, by record and then in field order."""
    return BrokenRecords(events, columns).errors()


_EVENT_FIELDS: Final = ("agency", "person_id", "event_date", "recorded_date", "event_type",
                        "value")


class _Refused:
    """Where a refused case's errors lie: a field is invalid when an error lies in it or
    in what holds it (a record that is not an object, a list too long)."""

    def __init__(self, errors: Sequence[Mapping[str, Any]]) -> None:
        self.at = {tuple(error["loc"]) for error in errors}
        self.within = {loc[:n] for loc in self.at for n in range(len(loc) + 1)}

    def invalid(self, *loc: str | int) -> bool:
        return loc in self.within or any(loc[:n] in self.at for n in range(len(loc)))


_INVALID: Final = object()


def _valid(refused: _Refused, holder: Any, *loc: str | int) -> Any:
    """The value at `loc` (None when absent) if it is valid, else `_INVALID`."""
    return _INVALID if refused.invalid(*loc) or not isinstance(holder, dict) \
        else holder.get(loc[-1])


def _date(text: str) -> date | None:
    """A valid date as `api.case_payload` reads it (None should that differ)."""
    try:
        return date.fromisoformat(date_text(text))
    except ValueError:
        return None


def _records(events: list[Any], refused: _Refused
             ) -> tuple[list[dict[str, Any]], dict[int, frozenset[str]]]:
    """The records with their valid fields as validation reads them, the others None,
    and each record's invalid fields (a record that is no object: all of them)."""
    invalid: dict[int, frozenset[str]] = {}
    for loc in refused.at:  # a field the record should not hold spoils none of the others
        if len(loc) > 2 and loc[0] == "events" and loc[2] in _EVENT_FIELDS \
                and isinstance(index := loc[1], int):
            invalid[index] = invalid.get(index, frozenset()) | {loc[2]}
    records: list[dict[str, Any]] = []
    for index, event in enumerate(events):
        if not isinstance(event, dict) or ("events", index) in refused.at:
            invalid[index] = frozenset(_EVENT_FIELDS)
            event = {}
        bad = invalid.get(index, frozenset())
        record = {name: None if name in bad else event.get(name) for name in _EVENT_FIELDS}
        for name in ("event_date", "recorded_date"):
            if isinstance(written := record[name], str):
                record[name] = _date(written)
        records.append(record)
    return records, invalid


def _as_raised(found: Sequence[InitErrorDetails]) -> list[ErrorDetails]:
    """Errors as pydantic's `ValidationError.errors()` gives them."""
    return [ErrorDetails(type=kind.type, loc=error["loc"], msg=kind.message(),
                         input=error["input"], ctx=kind.context or {})
            for error in found if isinstance(kind := error["type"], PydanticCustomError)]


class Found(NamedTuple):
    """Errors as listed, and how many more there are: counted, not built."""

    errors: list[ErrorDetails]
    more: int = 0


class _Listing:
    """Rule errors built in turn while within a budget (None: no end), the rest counted."""

    def __init__(self, budget: int | None) -> None:
        self.budget = budget
        self.built: list[InitErrorDetails] = []
        self.more = 0

    def add(self, count: int, first: Callable[[int | None], list[InitErrorDetails]]) -> None:
        """Add `count` errors, `first(n)` building the first n (None: all)."""
        room = None if self.budget is None else max(0, self.budget - len(self.built))
        shown = first(room) if count else []
        self.built += shown
        self.more += count - len(shown)


def _earlier_repeats(case: dict[str, Any], refused: _Refused) -> list[tuple[int, str]]:
    earlier = case.get("previous_referrals")
    if not isinstance(earlier, list) or ("previous_referrals",) in refused.at:
        return []
    referral_id = _valid(refused, case.get("referral"), "referral", "referral_id")
    return _repeats(None if referral_id is _INVALID else referral_id,
                    [(index, earlier_id) for index, one in enumerate(earlier)
                     if (earlier_id := _valid(refused, one, "previous_referrals", index,
                                              "referral_id")) is not _INVALID])


def rules_beside(case: Any, errors: Sequence[Mapping[str, Any]], *,
                 budget: int | None = None) -> Found:
    """The rule errors of a case refused for its fields (`errors`, located within `case`,
    its decoded JSON), checked on its valid fields; none where the rules were checked
    already (every error is a rule's), nor where a rule reads an invalid field. Past the
    first `budget` (None: no end) the errors are counted, not built."""
    if not isinstance(case, dict) or all(RULE in (e.get("ctx") or {}) for e in errors):
        return Found([])
    refused = _Refused(errors)
    listing = _Listing(budget)
    household_id = _valid(refused, case.get("referral"), "referral", "household_id")
    members = case.get("household_members")
    if household_id is not _INVALID and ("household_members",) not in refused.at:
        household = household_errors(members_listed=isinstance(members, list) and bool(members),
                                     household_id=household_id)
        listing.add(len(household), lambda n: household[:n])
    repeats = _earlier_repeats(case, refused)
    listing.add(len(repeats), lambda n: [_repeat_error(*one) for one in repeats[:n]])
    events = case.get("events")
    if isinstance(events, list) and events and ("events",) not in refused.at:
        records, invalid = _records(events, refused)
        broken = BrokenRecords(records, event_columns(records), invalid=invalid)
        listing.add(broken.count, broken.errors)
    return Found(_as_raised(listing.built), listing.more)
