"""What checking stored rows against their audit entries finds: each problem, in one
sentence, and the result of checking every stored score and decision.

`api.audit_records_check` checks the scores and decisions, `api.audit_governance_check`
the users and model decisions; both name what differs as a `RecordProblem`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from api.audit_records import DECISION_REQUEST_FIELDS, DECISIONS, RECORDED, RecordedTable

_SHOWN = 3  # record problems named in the one-line reason (the command lists them all)


@dataclass(frozen=True)
class RecordProblem:
    """A stored row that differs from its audit entry, has none, or is missing."""

    table: str
    kind: str  # "differs", "no entry", "missing", "named twice"
    row_id: int | None  # None: a missing row an entry without a record vouches for
    entry_seq: int | None  # None: the row has no audit entry
    fields: tuple[str, ...] = ()  # the fields that differ
    maybe: tuple[str, ...] = ()  # one or more of these differ (the entry holds their hash)
    referral_id: str | None = None
    named: str = ""  # what a missing row was, when not a referral's (a user, a decision)

    def sentence(self) -> str:
        """The problem in one sentence."""
        row = f"{self.table} row {self.row_id}"
        if self.kind == "no entry":
            return f"{row} has no audit entry"
        if self.kind == "named twice":
            return f"audit entry {self.entry_seq} vouches for {row}, as an earlier entry does"
        if self.kind == "missing":
            if self.row_id is None:
                row = f"a {self.table} row" + (
                    f" ({self.named})" if self.named else f" of referral {self.referral_id}")
            return f"{row} is missing: audit entry {self.entry_seq} vouches for it"
        differs = ", ".join(self.fields)
        if self.maybe:
            differs += (" and " if differs else "") + (
                f"one or more of {', '.join(self.maybe)} (the entry holds only their hash)")
        return f"{row} differs from audit entry {self.entry_seq}: {differs}"


@dataclass(frozen=True)
class RecordsResult:
    """Every stored score and decision checked: the problems, and how much was checked."""

    problems: tuple[RecordProblem, ...]
    matched: Mapping[str, int] = field(default_factory=dict)  # table: rows that match
    partly: Mapping[str, int] = field(default_factory=dict)  # of those, against older entries

    @property
    def ok(self) -> bool:
        """Whether every row matches its entry."""
        return not self.problems

    def summary(self) -> str:
        """One line: what matched and what could not be checked, or the first problems."""
        if self.problems:
            shown = "; ".join(problem.sentence() for problem in self.problems[:_SHOWN])
            more = len(self.problems) - _SHOWN
            count = (f"{len(self.problems)} stored records differ" if len(self.problems) > 1
                     else "1 stored record differs")
            return (f"{count} from the audit trail: {shown}"
                    + (f"; and {more} more" if more > 0 else ""))
        return "; ".join(self._matched(name) for name in self.matched if self.matched[name])

    def _matched(self, name: str) -> str:
        count = self.matched[name]
        line = (f"1 {name.removesuffix('s')} matches its audit entry" if count == 1
                else f"{count} {name} match their audit entries")
        if self.partly.get(name):
            unchecked = ", ".join(_unchecked(RECORDED[name]))
            line += (f" ({self.partly[name]} against entries older than row records: "
                     f"their {unchecked} not checked)")
        return line


def _unchecked(spec: RecordedTable) -> list[str]:
    """The fields an entry without a record cannot vouch for."""
    covered = DECISION_REQUEST_FIELDS if spec is DECISIONS else ()
    return [name for name in spec.recorded if name not in covered]
