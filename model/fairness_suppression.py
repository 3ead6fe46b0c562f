"""Which counts of a fairness audit its publication withholds: the small ones, and enough
others that no withheld count can be worked out from the ones published.

Primary suppression withholds every count under the threshold (a group under it loses
every count); the counts read off published ones (`DERIVED`: false negatives, true
negatives, the unselected) are protected as if published. That alone can be undone by
subtraction: the groups of an attribute add up to all referrals, an intersection's groups
(ethnicity x sex) add up to their marginal group (ethnicity), and within a group outcomes
plus non-outcomes make `n`, true plus false positives make `selected`, and so on
(`_WITHIN`). So, as statistical offices do, counts are then withheld in turn (secondary
suppression) until no such sum has exactly one withheld member: each time a published
count of that sum is withheld too (a derived count by a part it is read from; an `n`
last of all, as it takes the whole group with it). Which one is chosen for what the audit
is for: a residual group's ("unknown", "other", "not recorded") first, then a finer
group's (an intersection) before the margin it adds up to, then the smallest. Choosing
the smallest alone withheld the outcomes of the smallest named ethnic group to protect
"other": an independent probe's planted under-prediction of Asian subjects (139 test
referrals, 47 outcomes) lost its observed rate and gap from the card, where
"unknown" ethnicity (202, 45) could have gone instead. This stops recovery from any
one sum; it does not guarantee against every combination of sums (`tau-argus` solves
that as an optimisation), which docs/fairness.md states.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Final, Protocol

from model.fairness_metrics import COUNTS

Cell = tuple[int, str]  # (group index, count name)
# Counts never published but read off published ones: each is its first part less its
# second, so it needs the same protection when small.
DERIVED: Final[dict[str, tuple[str, str]]] = {
    "false_negatives": ("positives", "true_positives"),
    "true_negatives": ("negatives", "false_positives"),
    "unselected": ("n", "selected"),
}
_ALL: Final = (*COUNTS, *DERIVED)
# Within a group: n = outcomes + non-outcomes = selected + unselected; selected = true +
# false positives; outcomes = true positives + false negatives; non-outcomes = false
# positives + true negatives.
_WITHIN: Final = (("n", "positives", "negatives"), ("n", "selected", "unselected"),
                  ("selected", "true_positives", "false_positives"),
                  ("positives", "true_positives", "false_negatives"),
                  ("negatives", "false_positives", "true_negatives"))


def is_small(count: int, threshold: int) -> bool:
    """The one small-number rule: a count of people under the threshold (0 included) is
    withheld from publication, and so is a count whose complement in a published whole
    is (`gives_away_small`)."""
    return count < threshold


def gives_away_small(part: int, whole: int, threshold: int) -> bool:
    """Whether publishing `part` beside `whole` discloses a small count: the part itself,
    or the rest of the whole (23 referrals, 21 with a record: 2 without one)."""
    return is_small(part, threshold) or is_small(whole - part, threshold)


class Counted(Protocol):
    """A group of the audit: its attributes, its size and its counts."""

    @property
    def attributes(self) -> dict[str, str]: ...
    @property
    def n(self) -> int | None: ...
    @property
    def counts(self) -> dict[str, int | None]: ...


def _sums(groups: Sequence[Counted]) -> Iterator[tuple[Cell, ...]]:
    """Every set of published cells that adds up to a known total (or to each other)."""
    for index in range(len(groups)):
        for names in _WITHIN:
            yield tuple((index, name) for name in names)
    where = {tuple(sorted(g.attributes.items())): i for i, g in enumerate(groups)}
    lines: dict[tuple[tuple[str, ...], tuple[tuple[str, str], ...]], list[int]] = {}
    for index, group in enumerate(groups):
        for varying in group.attributes:  # the groups differing only in this attribute
            fixed = tuple(sorted((k, v) for k, v in group.attributes.items() if k != varying))
            lines.setdefault((tuple(sorted(group.attributes)), fixed), []).append(index)
    for (_, fixed), members in lines.items():
        total = where.get(fixed) if fixed else None  # no fixed attribute: all referrals
        if fixed and total is None:
            continue  # the margin is not audited: its sum is not published
        cells = [*members, *([total] if total is not None else [])]
        for name in _ALL:
            yield tuple((index, name) for index in cells)


# Attribute values that name no group of people: their figures go first when one more
# count must be withheld (`withheld_counts`).
RESIDUAL: Final = frozenset({"unknown", "other", "not_recorded"})


def _to_withhold(cell: Cell, values: list[dict[str, int]]) -> Cell:
    """The published count to withhold so that `cell` can no longer be worked out: itself,
    or, for a derived count, the smaller published part it is read from (an `n` last)."""
    index, name = cell
    if name not in DERIVED:
        return cell
    return min(((index, part) for part in DERIVED[name]),
               key=lambda c: (c[1] == "n", values[c[0]][c[1]]))


def withheld_counts(groups: Sequence[Counted], threshold: int) -> list[frozenset[str]]:
    """Per group, the counts (`COUNTS`, "n" among them) publication withholds."""
    values = []
    for group in groups:
        value = {"n": group.n or 0, **{c: group.counts.get(c) or 0 for c in COUNTS if c != "n"}}
        values.append({**value, **{d: value[a] - value[b] for d, (a, b) in DERIVED.items()}})
    # A derived count is never published: "withheld" when small (it must not be read
    # off), else as good as published.
    withheld = [set(_ALL) if is_small(v["n"], threshold)
                else {c for c in _ALL if is_small(v[c], threshold)} for v in values]
    sums = list(_sums(groups))
    residual = [bool(RESIDUAL & set(g.attributes.values())) for g in groups]
    changed = True
    while changed:
        changed = False
        for cells in sums:
            published = [cell for cell in cells if cell[1] not in withheld[cell[0]]]
            if len(published) != len(cells) - 1 or not published:
                continue
            choice = min(published, key=lambda c: (
                c[1] == "n", c[1] in DERIVED, not residual[c[0]], -len(groups[c[0]].attributes),
                values[c[0]][c[1]]))
            index, name = _to_withhold(choice, values)
            withheld[index] |= set(_ALL) if name == "n" else {
                name, *(d for d, parts in DERIVED.items() if name in parts)}  # not read off
            changed = True
    return [frozenset(names & set(COUNTS)) for names in withheld]
