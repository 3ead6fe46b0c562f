"""Deliberately broken rows, so that the validator's quarantine has something to catch.

Every broken row is a modified *copy* of a valid row inserted into the feed; the rows
the truth was computed from are never altered, so the truth never depends on them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from data_contracts.vocab import EVENT_FEEDS, OUTCOMES, REFERRALS, event_feed
from pipelines.synth.arrow import arrow, strings, text, true_positions

UNKNOWN_EVENT_TYPE: Final = "welfare_visit"
UNKNOWN_REFERRAL_PREFIX: Final = "R9"  # clean ids have seven digits after the R, these eight
OUT_OF_RANGE_ATTENDANCE: Final = 130.0
REFERRAL_RULE_EVERY: Final = 25_000  # one more broken referral per rule for this many referrals

Rule = Callable[[pa.Table, np.random.Generator], pa.Table]


@dataclass(frozen=True)
class Corruption:
    """One injected broken row: the feed, its 0-based data row in the written file, the rule."""

    feed: str
    row_number: int
    rule: str


def _set(table: pa.Table, column: str, values: pa.Array) -> pa.Table:
    return table.set_column(table.schema.get_field_index(column), column, values)


def _unknown_event_type(rows: pa.Table, rng: np.random.Generator) -> pa.Table:
    return _set(rows, "event_type", strings([UNKNOWN_EVENT_TYPE] * rows.num_rows))


def _recorded_before_event(rows: pa.Table, rng: np.random.Generator) -> pa.Table:
    event_day = np.array(rows["event_date"].to_pylist(), dtype="datetime64[D]")
    recorded = event_day - rng.integers(1, 30, rows.num_rows).astype("timedelta64[D]")
    return _set(rows, "recorded_date", strings(list(recorded.astype(str))))


def _malformed_date(rows: pa.Table, rng: np.random.Generator) -> pa.Table:
    column = "referral_date" if "referral_date" in rows.column_names else "event_date"
    day_first = pc.replace_substring_regex(
        rows[column], pattern=r"^(\d{4})-(\d{2})-(\d{2})$", replacement=r"\3/\2/\1"
    )
    return _set(rows, column, day_first)


def _illegal_person_id(rows: pa.Table, rng: np.random.Generator) -> pa.Table:
    illegal = pc.binary_join_element_wise(rows["person_id"], text("#1"), text(""))
    return _set(rows, "person_id", illegal)


def _attendance_out_of_range(rows: pa.Table, rng: np.random.Generator) -> pa.Table:
    return _set(rows, "value", arrow(np.full(rows.num_rows, OUT_OF_RANGE_ATTENDANCE)))


def _duplicate_referral_id(rows: pa.Table, rng: np.random.Generator) -> pa.Table:
    return rows


def _new_referral_ids(rows: pa.Table, prefix: str, rng: np.random.Generator) -> pa.Table:
    """The rows with distinct referral ids that no clean referral has."""
    numbers = rng.choice(np.arange(1_000_000, 10_000_000), size=rows.num_rows, replace=False)
    numbers_text = pc.cast(arrow(numbers), pa.string())
    ids = pc.binary_join_element_wise(text(prefix), numbers_text, text(""))
    return _set(rows, "referral_id", ids)


def _unknown_referral(rows: pa.Table, rng: np.random.Generator) -> pa.Table:
    return _new_referral_ids(rows, UNKNOWN_REFERRAL_PREFIX, rng)


def _referral_malformed_date(rows: pa.Table, rng: np.random.Generator) -> pa.Table:
    # A new id, so that the row breaks one rule only (a copy would also be a duplicate).
    return _malformed_date(_new_referral_ids(rows, "R7", rng), rng)


def _referral_illegal_person_id(rows: pa.Table, rng: np.random.Generator) -> pa.Table:
    return _illegal_person_id(_new_referral_ids(rows, "R8", rng), rng)


EVENT_RULES: Final[dict[str, Rule]] = {
    "unknown_event_type": _unknown_event_type,
    "recorded_date_before_event_date": _recorded_before_event,
    "malformed_date": _malformed_date,
    "illegal_person_id": _illegal_person_id,
}
REFERRAL_RULES: Final[dict[str, Rule]] = {
    "duplicate_referral_id": _duplicate_referral_id,
    "malformed_date": _referral_malformed_date,
    "illegal_person_id": _referral_illegal_person_id,
}
OUTCOME_RULES: Final[dict[str, Rule]] = {"outcome_for_unknown_referral": _unknown_referral}
ATTENDANCE_RULE: Final = "attendance_value_out_of_range"
ATTENDANCE_FEED: Final = event_feed("education")
EVENT_TYPE_ATTENDANCE: Final = "attendance_rate"


@dataclass(frozen=True)
class _Plan:
    """``count`` broken copies of rows drawn from ``pool`` (sorted row numbers)."""

    rule: str
    apply: Rule
    pool: np.ndarray
    count: int


def _interleave(table: pa.Table, copies: pa.Table, positions: np.ndarray) -> pa.Table:
    """``table`` with copy ``i`` inserted so that it is row ``positions[i]`` (sorted).

    Slices, not a take of every row: the feed's rows are not copied.
    """
    pieces, start = [], 0
    for i, position in enumerate(positions.tolist()):
        end = position - i  # rows of the table before copy i
        pieces += [table.slice(start, end - start), copies.slice(i, 1)]
        start = end
    pieces.append(table.slice(start))
    return pa.concat_tables(pieces)


def _corrupt_feed(
    feed: str, table: pa.Table, plans: list[_Plan], rng: np.random.Generator
) -> tuple[pa.Table, list[Corruption]]:
    plans = [plan for plan in plans if plan.pool.size and plan.count]
    n_copies = sum(plan.count for plan in plans)
    if n_copies == 0 or n_copies > table.num_rows:
        return table, []
    # Copy i goes after original row chosen[i], so a duplicate can follow its original.
    chosen = np.sort(rng.choice(table.num_rows, size=n_copies, replace=False))
    positions = chosen + np.arange(n_copies) + 1
    originals_before = chosen + 1
    plan_of_copy = rng.permutation(np.repeat(np.arange(len(plans)), [p.count for p in plans]))
    pieces, slots = [], []
    for number, plan in enumerate(plans):
        slot = np.flatnonzero(plan_of_copy == number)
        available = np.maximum(np.searchsorted(plan.pool, originals_before[slot]), 1)
        pick = np.minimum((rng.random(slot.size) * available).astype(np.int64), plan.pool.size - 1)
        pieces.append(plan.apply(table.take(arrow(plan.pool[pick])), rng).cast(table.schema))
        slots.append(slot)
    copies = pa.concat_tables(pieces).take(arrow(np.argsort(np.concatenate(slots))))
    corrupted = _interleave(table, copies, positions)
    records = [
        Corruption(feed, int(positions[i]), plans[plan_of_copy[i]].rule) for i in range(n_copies)
    ]
    return corrupted, records


def _event_plans(feed: str, table: pa.Table, share: float) -> list[_Plan]:
    everything = np.arange(table.num_rows)
    per_rule = max(1, round(share * table.num_rows / len(EVENT_RULES)))
    plans = [_Plan(rule, apply, everything, per_rule) for rule, apply in EVENT_RULES.items()]
    if feed == ATTENDANCE_FEED:
        is_attendance = pc.equal(table["event_type"], text(EVENT_TYPE_ATTENDANCE))
        rows = true_positions(is_attendance)
        plans.append(_Plan(ATTENDANCE_RULE, _attendance_out_of_range, rows, per_rule))
    return plans


def corrupt_tables(
    tables: dict[str, pa.Table], *, event_share: float, rng: np.random.Generator
) -> tuple[dict[str, pa.Table], list[Corruption]]:
    """Insert broken copies of rows into the feeds; return the feeds and what was injected."""
    n_referrals = tables[REFERRALS].num_rows
    per_rule = 1 + n_referrals // REFERRAL_RULE_EVERY
    plans = {
        REFERRALS: [
            _Plan(rule, apply, np.arange(n_referrals), per_rule)
            for rule, apply in REFERRAL_RULES.items()
        ],
        OUTCOMES: [
            _Plan(rule, apply, np.arange(tables[OUTCOMES].num_rows), per_rule)
            for rule, apply in OUTCOME_RULES.items()
        ],
        **{feed: _event_plans(feed, tables[feed], event_share) for feed in EVENT_FEEDS},
    }
    result, corruptions = dict(tables), []
    for feed, feed_plans in plans.items():
        result[feed], injected = _corrupt_feed(feed, tables[feed], feed_plans, rng)
        corruptions.extend(injected)
    return result, corruptions
