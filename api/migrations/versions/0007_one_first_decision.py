"""One first decision per referral: a partial unique index on decisions(referral_id) where
previous_decision_id is NULL (a unique column does not stop two NULLs, so two
simultaneous first decisions could both be stored and fork the history).

Revision ID: 0007_one_first_decision
Revises: 0006_auth_failures
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_one_first_decision"
down_revision = "0006_auth_failures"
branch_labels = None
depends_on = None

INDEX = "uq_decisions_one_first_per_referral"
_FIRST = sa.text("previous_decision_id IS NULL")
_FORKED = sa.text(
    "SELECT referral_id FROM decisions WHERE previous_decision_id IS NULL "
    "GROUP BY referral_id HAVING COUNT(*) > 1 ORDER BY referral_id LIMIT 5"
)


def upgrade() -> None:
    forked = [row[0] for row in op.get_bind().execute(_FORKED)]
    if forked:
        # Decisions are a record: which of the forked ones stands is a person's call.
        raise RuntimeError(
            "referrals with more than one first decision (a forked history), e.g. "
            f"{', '.join(forked)}: decide which stands, record it, then upgrade again"
        )
    op.create_index(
        INDEX,
        "decisions",
        ["referral_id"],
        unique=True,
        sqlite_where=_FIRST,
        postgresql_where=_FIRST,
    )


def downgrade() -> None:
    op.drop_index(INDEX, table_name="decisions")
