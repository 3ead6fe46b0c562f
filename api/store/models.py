"""Tables of the service's store: users, scores, decisions, model approvals and the audit
trail."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    TypeDecorator,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

JSONDict = dict[str, Any]


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """A moment stored in UTC and read back timezone-aware in UTC, on every database.

    PostgreSQL keeps the zone (``timestamptz``); SQLite keeps text without one and would
    hand back a naive time (and store an aware time's wall clock as it is, whatever
    its zone). Here a time is converted to UTC before it is stored, a naive one being
    taken as UTC already, and comes back with its UTC offset: the API emits RFC 3339
    times with an offset, as its OpenAPI document promises.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)

    def process_result_value(self, value: datetime | None, dialect: Dialect
                             ) -> datetime | None:
        return None if value is None else as_utc(value)


def as_utc(moment: datetime) -> datetime:
    """``moment`` in UTC, timezone-aware; a naive time is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base; Alembic migrations are the source of truth for the schema."""

    type_annotation_map = {JSONDict: JSON, datetime: UtcDateTime()}


class User(Base):
    """A person or system allowed to call the API, with one API key (stored hashed)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(32))
    key_id: Mapped[str] = mapped_column(String(32), unique=True)
    key_salt: Mapped[str] = mapped_column(String(64))
    key_hash: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)


class Score(Base):
    """One score the service returned for a referral (the result, never the raw payload)."""

    __tablename__ = "scores"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    referral_id: Mapped[str] = mapped_column(String(100), index=True)
    model_name: Mapped[str] = mapped_column(String(100))
    model_version: Mapped[str] = mapped_column(String(100))
    probability: Mapped[float] = mapped_column(Float)
    score: Mapped[int] = mapped_column(Integer)
    band: Mapped[str] = mapped_column(String(32))
    rag: Mapped[str] = mapped_column(String(8))
    result: Mapped[JSONDict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    user_name: Mapped[str] = mapped_column(String(100))
    # The referral's presenting need (null in scores stored before it was kept).
    presenting_need: Mapped[str | None] = mapped_column(String(64), default=None)


class Decision(Base):
    """A practitioner's decision on a referral; a change is a new row naming the previous one."""

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    referral_id: Mapped[str] = mapped_column(String(100), index=True)
    score_id: Mapped[int] = mapped_column(ForeignKey("scores.id"))
    practitioner: Mapped[str] = mapped_column(String(100))
    practitioner_rag: Mapped[str] = mapped_column(String(8))
    next_step: Mapped[str] = mapped_column(Text)
    agrees_with_band: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    # Unique: a decision is superseded at most once, so the history never forks.
    previous_decision_id: Mapped[int | None] = mapped_column(
        ForeignKey("decisions.id"), unique=True, default=None
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    # At most one first decision per referral (migration 0002): with the unique column
    # above, a referral's decisions form one line, however many arrive at once.
    __table_args__ = (
        Index("uq_decisions_one_first_per_referral", "referral_id", unique=True,
              sqlite_where=text("previous_decision_id IS NULL"),
              postgresql_where=text("previous_decision_id IS NULL")),
    )


class ReferralPerson(Base):
    """A person a scored referral was about: its subject or a member of its household.

    Written with each score, so a subject access request can find every referral in
    which a person appears (pseudonymous tokens only, as in the case payload).
    """

    __tablename__ = "referral_people"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    referral_id: Mapped[str] = mapped_column(String(100), index=True)
    person_id: Mapped[str] = mapped_column(String(100), index=True)
    household_id: Mapped[str | None] = mapped_column(String(100), default=None)
    role: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The score whose case named the person (None: stored before 6 December, when a
    # referral's people were not told apart by score).
    score_id: Mapped[int | None] = mapped_column(Integer, default=None)


class AuditEntry(Base):
    """One link of the append-only, hash-chained audit trail."""

    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    created_at: Mapped[datetime] = mapped_column(index=True)
    user_name: Mapped[str] = mapped_column(String(100), index=True)
    role: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64))
    referral_id: Mapped[str | None] = mapped_column(String(100), index=True, default=None)
    model_version: Mapped[str | None] = mapped_column(String(100), default=None)
    request_hash: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))
    # HMAC of entry_hash under the audit key (`api.audit_key`); NULL when none is set.
    entry_mac: Mapped[str | None] = mapped_column(String(64), default=None)
    details: Mapped[JSONDict] = mapped_column(JSON, default=dict)


class ModelApproval(Base):
    """A governance user's approval or rejection of one model version's exact content.

    It names the SHA-256 of the model folder, of the fairness report and of the model
    card file (None: the version had none), and, since migration 0011, of every file its
    card and acceptance checks read (`sources_sha256`, by path; None: recorded before,
    so it must be given again); it is void once any of them differs
    (`api.approval_content`).
    """

    __tablename__ = "model_approvals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_name: Mapped[str] = mapped_column(String(100))
    model_version: Mapped[str] = mapped_column(String(100), index=True)
    decision: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    waivers: Mapped[JSONDict] = mapped_column(JSON, default=dict)
    user_name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    model_sha256: Mapped[str] = mapped_column(String(64))
    fairness_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    card_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    sources_sha256: Mapped[dict[str, str | None] | None] = mapped_column(
        JSON(none_as_null=True), default=None)


class AuthFailures(Base):
    """Failed authentications of one key id or one client address in the current window,
    and until when it is locked out (`api.auth_limits`)."""

    __tablename__ = "auth_failures"

    scope: Mapped[str] = mapped_column(String(16), primary_key=True)
    subject: Mapped[str] = mapped_column(String(100), primary_key=True)
    window_start: Mapped[datetime]
    failures: Mapped[int] = mapped_column(Integer)
    locked_until: Mapped[datetime | None] = mapped_column(default=None)


class EndedWebSession(Base):
    """A web session its user signed out of: its cookie is refused from then on, though
    its signature stays valid until it expires (`api.web.session`). Rows go once every
    cookie they could refuse has expired."""

    __tablename__ = "ended_web_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_hash: Mapped[str] = mapped_column(String(64), index=True)
    ended_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


# The tables themselves, for plain (Core) inserts on the scoring path.
SCORE_TABLE = cast(Table, Score.__table__)
USER_TABLE = cast(Table, User.__table__)
AUDIT_TABLE = cast(Table, AuditEntry.__table__)
REFERRAL_PERSON_TABLE = cast(Table, ReferralPerson.__table__)
AUTH_FAILURES_TABLE = cast(Table, AuthFailures.__table__)
ENDED_SESSION_TABLE = cast(Table, EndedWebSession.__table__)
