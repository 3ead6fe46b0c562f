"""What the triage pages show, worked out from stored scores: plain data for templates.

Bands' colours are GOV.UK tag classes with the band's name as text (never colour
alone); waiting times are compared with the band's response timescale; factors
and agencies become bars whose width is a class (`sg-bar--w0` to `sg-bar--w100`, in
steps of 5): the Content-Security-Policy allows no inline style.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final

from api.routes.errors import error_message
from api.routes.records import as_utc
from api.schemas import Factor, ScoreResult
from api.store.models import Decision, Score
from api.store.repository import Waiting
from data_contracts.vocab import LABEL_WINDOW_DAYS, OUTCOME_TYPES
from model.explanation import GROUP_LABELS
from model.timescales import response_hours

# What the probability shown is the chance of: the training label (`data_contracts`), in
# words, and that it is what services recorded, not harm (the model card's limitation).
PROBABILITY_KEY: Final = "Chance of a recorded safeguarding outcome"
PROBABILITY_MEANS: Final = (
    f"within {LABEL_WINDOW_DAYS} days of the referral: "
    f"{', '.join(t.replace('_', ' ') for t in OUTCOME_TYPES[:-1])} or "
    f"{OUTCOME_TYPES[-1].replace('_', ' ')}, as estimated from past referrals. It measures "
    "what services went on to record, not the harm a child or adult suffered.")

RAG_TAGS = {"red": "govuk-tag--red", "amber": "govuk-tag--orange", "green": "govuk-tag--green"}
RAG_NAMES = {"red": "Red", "amber": "Amber", "green": "Green"}


def _counted(number: int, unit: str) -> str:
    return f"{number} {unit}{'s' if number != 1 else ''}"


def duration_text(minutes: int) -> str:
    """Whole minutes in words: minutes under an hour, hours and minutes under two days,
    days and hours beyond (never rounded up past what the minutes say)."""
    if minutes < 1:
        return "less than a minute"
    if minutes < 60:
        return _counted(minutes, "minute")
    if minutes < 48 * 60:
        hours, rest = divmod(minutes, 60)
        return _counted(hours, "hour") + (f" {_counted(rest, 'minute')}" if rest else "")
    days, rest = divmod(minutes // 60, 24)
    return _counted(days, "day") + (f" {_counted(rest, 'hour')}" if rest else "")


@dataclass(frozen=True)
class BandTag:
    """A band as shown: its name as text, the tag class giving its colour."""

    name: str
    rag: str

    @property
    def tag_class(self) -> str:
        """The GOV.UK tag colour class of the band's RAG."""
        return RAG_TAGS.get(self.rag, "govuk-tag--grey")

    @property
    def label(self) -> str:
        """The text of the tag: the band and its RAG in words."""
        return f"{self.name.capitalize()} ({RAG_NAMES.get(self.rag, self.rag)})"


@dataclass(frozen=True)
class BandRaise:
    """A band an escalation rule raised above the score's own: the band the score alone
    gives, and the rules that set the band (their descriptions, as the case page lists)."""

    own_band: str
    rules: tuple[str, ...]

    @property
    def text(self) -> str:
        """The raise in words, the same on the queue and the case page."""
        rules = "an escalation rule" if len(self.rules) < 2 else "escalation rules"
        return f"Raised from {self.own_band.capitalize()} by {rules}"


def band_raise(result: Mapping[str, Any], *, band: str) -> BandRaise | None:
    """How escalation rules raised `band` above the score's own, from a stored result;
    None when the band is the score's own, or the result predates keeping the score's own
    band (a rule that fired on a band already as high raised nothing)."""
    own = result.get("model_band")
    if not own or own == band:
        return None
    rules = tuple(str(rule.get("description", "")) for rule in result.get("escalations", ())
                  if isinstance(rule, Mapping) and rule.get("minimum_band") == band)
    return BandRaise(str(own), rules)


@dataclass(frozen=True)
class QueueRow:
    """One referral in the triage queue."""

    referral_id: str
    score: int
    band: BandTag
    presenting_need: str | None
    arrived: datetime
    waited_hours: float
    due_hours: float | None
    timescale: str
    raised: BandRaise | None = None
    rejected: bool = False  # scored by a model version governance has since rejected
    referral_date: date | None = None  # as the case sent it (None: stored before it was kept)

    @property
    def dated_before(self) -> str:
        """The referral's date, when it is 2 days or more before it reached the queue: the
        waiting time counts from the score, not from the referral."""
        if self.referral_date is None:
            return ""
        gap = (self.arrived.date() - self.referral_date).days
        return (f"referral dated {self.referral_date:%-d %B %Y}, {gap} days before"
                if gap >= 2 else "")

    @property
    def _waited_minutes(self) -> int:
        """Whole minutes waited (a minute counts once it has passed)."""
        return math.floor(self.waited_hours * 60)

    @property
    def waited(self) -> str:
        """How long the referral has waited, in words."""
        return duration_text(self._waited_minutes)

    @property
    def overdue(self) -> bool:
        """Whether it has waited longer than its band's response timescale allows."""
        return self.due_hours is not None and self.waited_hours > self.due_hours

    @property
    def time_left(self) -> str:
        """Time left, or how long overdue, against the band's timescale: in whole minutes,
        so the time waited and the time left add up to the timescale (2 hours left of a
        2-hour timescale at 0 minutes waited)."""
        if self.due_hours is None:
            return "No deadline in the timescale"
        remaining = round(self.due_hours * 60) - self._waited_minutes
        if self.overdue:
            return f"Overdue by {duration_text(-remaining)}"
        return f"{duration_text(remaining)} left"


def queue_row(waiting: Waiting, now: datetime,
              rejected: Collection[tuple[str, str]] = ()) -> QueueRow:
    """A waiting referral as a queue row, its waiting time measured up to `now`
    (`rejected`: the (model name, version) pairs governance has rejected)."""
    score = waiting.score
    timescale = str(score.result.get("response_timescale", ""))
    arrived = as_utc(waiting.arrived)
    facts = score.result.get("referral") or {}
    dated = facts.get("referral_date")
    return QueueRow(
        referral_id=score.referral_id, score=score.score, band=BandTag(score.band, score.rag),
        presenting_need=score.presenting_need, arrived=arrived,
        waited_hours=(now - arrived).total_seconds() / 3600,
        due_hours=response_hours(timescale), timescale=timescale,
        raised=band_raise(score.result, band=score.band),
        rejected=(score.model_name, score.model_version) in rejected,
        referral_date=date.fromisoformat(dated) if isinstance(dated, str) else None)


@dataclass(frozen=True)
class Bar:
    """A bar: its label, value, width class and direction (raises or lowers the score)."""

    label: str
    value: float
    width_class: str
    direction: str
    sentence: str = ""
    # An agency's: some of its factors listed moved the score, their net under 0.005.
    cancels: bool = False

    @property
    def effect(self) -> str:
        """What a bar says of its contribution, in the words of its sentence: one under
        0.005 either way is not "No effect on the score" beneath "(lowers the score)", as
        the page read, but "Lowers the score by less than 0.01"; an agency's whose listed
        factors moved it both ways, netting under 0.005, says they cancel out (a probe's
        page listed education factors of +0.14, -0.15 and -0.06 over "Education: No effect
        on the score")."""
        if self.direction != "none":
            verb = "Raises" if self.direction == "raises" else "Lowers"
            return f"{verb} the score ({self.value:+.2f})"
        if self.cancels:
            return ("Its factors raise and lower the score about equally "
                    f"(net {self.value:+.3f})")
        if self.value == 0:
            return "No effect on the score"
        return f"{'Raises' if self.value > 0 else 'Lowers'} the score by less than 0.01"


def _width_class(size: float, largest: float) -> str:
    share = abs(size) / largest if largest > 0 else 0.0
    return f"sg-bar--w{min(100, round(share * 20) * 5)}"


NO_EFFECT: Final = 0.005  # a contribution shown as +0.00 or -0.00 moves nothing


def _direction(value: float) -> str:
    return "none" if abs(value) < NO_EFFECT else "raises" if value > 0 else "lowers"


def factor_bars(factors: Sequence[Factor]) -> list[Bar]:
    """The top factors as bars scaled to the largest contribution; one that moves the
    score by less than 0.005 is said to have no effect, as an agency's is."""
    largest = max((abs(f.contribution) for f in factors), default=0.0)
    return [Bar(label=f.feature, value=f.contribution, direction=_direction(f.contribution),
                width_class=_width_class(f.contribution, largest), sentence=f.sentence)
            for f in factors]


def agency_bars(contributions: dict[str, float], not_seen: Sequence[str] = (),
                factors: Sequence[Factor] = ()) -> list[Bar]:
    """Contributions by agency as bars, largest first; an agency that shared no records
    with the referral (`not_seen`: the explanation's, `model.factor_text.worth_telling`), or
    whose records move the score by less than 0.005, is said to have no effect, unless
    some of its `factors` listed moved the score (then they cancel out)."""
    largest = max((abs(v) for v in contributions.values()), default=0.0)
    ordered = sorted(contributions.items(), key=lambda item: -abs(item[1]))
    moved = {f.agency for f in factors if abs(f.contribution) >= NO_EFFECT}
    return [Bar(label=GROUP_LABELS.get(agency, agency), value=value,
                width_class=_width_class(value, largest), direction=_direction(value),
                sentence="No records shared with this referral" if agency in not_seen else "",
                cancels=agency in moved)
            for agency, value in ordered]


def case_context(result: ScoreResult) -> dict[str, Any]:
    """What the case page shows about a score."""
    return {
        "result": result,
        "probability_key": PROBABILITY_KEY,
        "probability_means": PROBABILITY_MEANS,
        "band": BandTag(result.band, result.rag),
        "raised": band_raise(result.model_dump(include={"model_band", "escalations"}),
                             band=result.band),
        "factor_bars": factor_bars(result.top_factors),
        "agency_bars": agency_bars(result.contributions_by_agency, result.agencies_not_seen,
                                   result.top_factors),
        "agencies_not_seen": [GROUP_LABELS.get(a, a) for a in result.agencies_not_seen],
    }


@dataclass(frozen=True)
class HistoryEntry:
    """A decision as the case page's history shows it, with the score it was made on."""

    decision: Decision
    score: int
    band: BandTag
    scored_at: datetime
    on_latest: bool  # made on the referral's newest score (the one the page shows)


def decision_history(decisions: Sequence[Decision], scores: Sequence[Score]
                     ) -> list[HistoryEntry]:
    """The referral's decisions, newest first, each beside the score it was made on."""
    by_id = {score.id: score for score in scores}
    latest = scores[-1].id if scores else None
    return [HistoryEntry(decision, score=made_on.score,
                         band=BandTag(made_on.band, made_on.rag),
                         scored_at=made_on.created_at, on_latest=made_on.id == latest)
            for decision in reversed(decisions)
            for made_on in [by_id[decision.score_id]]]


def case_problems(errors: Sequence[Any]) -> list[dict[str, str]]:
    """A case's validation errors as the Score page lists them: record, field, problem
    (`error_message`: an identifier its pattern refuses in words, not the pattern)."""
    problems = []
    for error in errors:
        record, field = error_location(error["loc"])
        problems.append({"record": record, "field": field, "message": error_message(error)})
    return problems


def error_location(loc: Sequence[Any]) -> tuple[str, str]:
    """(record, field) of a validation error's location in a case payload."""
    names = {"referral": "Referral", "events": "Event", "household_members": "Household member",
             "previous_referrals": "Previous referral"}
    parts = list(loc)
    if not parts:
        return "Case", "(the whole case)"
    head = str(parts[0])
    if len(parts) >= 2 and isinstance(parts[1], int):
        record = f"{names.get(head, head)} {parts[1] + 1}"
        rest = parts[2:]
    elif head in names and len(parts) > 1:
        record, rest = names[head], parts[1:]
    else:
        record, rest = "Case", parts
    return record, ".".join(str(part) for part in rest) or "(the whole record)"
