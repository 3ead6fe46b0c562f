"""The triage queue's query on SQLite and PostgreSQL: order, filters, paging."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from api.store import Decision, Score, Store, repository
from api.web.views import duration_text, queue_row

URGENCY = ["very high", "high", "medium", "low"]
START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def queue_store(fresh_database_url: str) -> Iterator[Store]:
    store = Store(fresh_database_url)
    yield store
    store.dispose()


def _score(referral_id: str, band: str, *, minutes: int, need: str = "domestic_abuse") -> Score:
    return Score(referral_id=referral_id, model_name="m", model_version="1", probability=0.5,
                 score=10, band=band, rag="amber", result={}, user_name="t",
                 presenting_need=need, created_at=START + timedelta(minutes=minutes))


def _fill(store: Store) -> None:
    with store.session() as session:
        session.add_all([
            _score("low-old", "low", minutes=5),
            _score("high-new", "high", minutes=30),
            _score("high-old", "high", minutes=10, need="mental_health"),
            _score("very-high", "very high", minutes=40),
            _score("decided", "very high", minutes=1),
            _score("rescored", "very high", minutes=2),
        ])
        session.flush()
        decided = session.query(Score).filter_by(referral_id="decided").one()
        session.add(Decision(referral_id="decided", score_id=decided.id, practitioner="p",
                             practitioner_rag="red", next_step="s", agrees_with_band=True))
        session.add(_score("rescored", "low", minutes=50))
        session.commit()


def _ids(page: repository.QueuePage) -> list[str]:
    return [waiting.score.referral_id for waiting in page.waiting]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def test_most_urgent_band_first_then_oldest_and_decided_referrals_leave(
    queue_store: Store,
) -> None:
    _fill(queue_store)
    with queue_store.session() as session:
        page = repository.triage_queue(session, urgency=URGENCY)

    assert _ids(page) == ["very-high", "high-old", "high-new", "rescored", "low-old"]
    assert page.total == 5
    rescored = page.waiting[-2]
    assert rescored.score.band == "low"  # a referral's newest score counts, once,
    assert _aware(rescored.arrived) == START + timedelta(minutes=2)  # from its first arrival


def test_filters_by_band_and_presenting_need_and_pages(queue_store: Store) -> None:
    _fill(queue_store)
    with queue_store.session() as session:
        high = repository.triage_queue(session, urgency=URGENCY, bands=["high"])
        need = repository.triage_queue(session, urgency=URGENCY, need="mental_health")
        second = repository.triage_queue(session, urgency=URGENCY, offset=2, limit=2)

    assert _ids(high) == ["high-old", "high-new"]
    assert _ids(need) == ["high-old"] and need.total == 1
    assert _ids(second) == ["high-new", "rescored"]
    assert second.total == 5


def _decide(session: Session, referral_id: str) -> None:
    """A decision on the referral's newest score, as `save_decision` stores one."""
    score = repository.latest_score(session, referral_id)
    assert score is not None
    session.add(Decision(referral_id=referral_id, score_id=score.id, practitioner="p",
                         practitioner_rag="green", next_step="NFA", agrees_with_band=True))
    session.commit()


def test_a_referral_scored_again_after_its_decision_waits_again(queue_store: Store) -> None:
    """The decision was made on the older score: the newer one has none, so the referral
    is back, in every view of the queue, its clock started by the new score."""
    _fill(queue_store)
    with queue_store.session() as session:
        session.add(_score("redecided", "low", minutes=3))
        session.commit()
        _decide(session, "redecided")
        session.add(_score("redecided", "high", minutes=45))
        session.commit()
        page = repository.triage_queue(session, urgency=URGENCY)
        high = repository.triage_queue(session, urgency=URGENCY, bands=["high"])

    assert _ids(page) == ["very-high", "high-old", "high-new", "redecided", "rescored",
                          "low-old"]
    assert page.total == 6 and high.total == 3 and _ids(high)[-1] == "redecided"
    back = page.waiting[3]
    assert back.score.band == "high"
    assert _aware(back.arrived) == START + timedelta(minutes=45)


def test_decision_outcomes_pair_each_current_decision_with_its_score(queue_store: Store
                                                                      ) -> None:
    _fill(queue_store)
    with queue_store.session() as session:
        assert repository.decision_outcomes(session) == [("1", "amber", "red")]
        first = session.query(Decision).filter_by(referral_id="decided").one()
        session.add(Decision(referral_id="decided", score_id=first.score_id, practitioner="p",
                             practitioner_rag="amber", next_step="s", agrees_with_band=True,
                             previous_decision_id=first.id))
        session.commit()
        # The replaced decision no longer counts (as in `safeguard monitor`).
        assert repository.decision_outcomes(session) == [("1", "amber", "amber")]


@pytest.mark.parametrize(("timescale", "waited", "left"), [
    ("within 2 hours", timedelta(seconds=20), "2 hours left"),
    ("within 2 hours", timedelta(minutes=1, seconds=30), "1 hour 59 minutes left"),
    ("within 2 hours", timedelta(hours=1, minutes=30), "30 minutes left"),
    ("within 2 hours", timedelta(hours=2, seconds=30), "Overdue by less than a minute"),
    ("within 2 hours", timedelta(hours=3, minutes=5), "Overdue by 1 hour 5 minutes"),
    ("within 24 hours", timedelta(0), "24 hours left"),
    ("within 24 hours", timedelta(minutes=5), "23 hours 55 minutes left"),
    ("within 5 working days", timedelta(0), "5 days left"),
    ("within 5 working days", timedelta(hours=2, minutes=10), "4 days 21 hours left"),
])
def test_time_left_and_time_waited_add_up_to_the_timescale(
        timescale: str, waited: timedelta, left: str) -> None:
    score = _score("r", "high", minutes=0)
    score.result = {"response_timescale": timescale}
    row = queue_row(repository.Waiting(score, START), START + waited)
    assert row.time_left == left


def test_time_waited_is_told_in_whole_minutes_hours_and_days() -> None:
    assert [duration_text(m) for m in (0, 1, 59, 60, 61, 47 * 60, 48 * 60 + 59, 73 * 60)] == [
        "less than a minute", "1 minute", "59 minutes", "1 hour", "1 hour 1 minute",
        "47 hours", "2 days", "3 days 1 hour"]


DASH = {"rule": "recent_dash_high_risk", "description": "A police DASH high-risk assessment",
        "minimum_band": "high"}
MAPPA = {"rule": "mappa_nominal_in_household", "description": "A MAPPA nominal in the home",
         "minimum_band": "medium"}


@pytest.mark.parametrize(("model_band", "escalations", "raised"), [
    ("medium", [DASH, MAPPA], ("Medium", ["A police DASH high-risk assessment"])),
    ("high", [DASH], None),  # the rule fired on a band already as high: it raised nothing
    (None, [DASH], None),  # stored before the score's own band was kept: not claimed
    ("high", [], None),
])
def test_a_row_says_when_an_escalation_rule_raised_its_band(
        model_band: str | None, escalations: list[dict[str, str]],
        raised: tuple[str, list[str]] | None) -> None:
    score = _score("r", "high", minutes=0)
    score.result = {"response_timescale": "within 2 hours", "model_band": model_band,
                    "escalations": escalations}
    row = queue_row(repository.Waiting(score, START), START)
    if raised is None:
        assert row.raised is None
        return
    assert row.raised is not None
    assert row.raised.text == f"Raised from {raised[0]} by an escalation rule"
    assert list(row.raised.rules) == raised[1]
