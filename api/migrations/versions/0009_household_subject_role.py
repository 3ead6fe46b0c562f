"""A household member the household feed names a subject is stored as such
(`household_subject`), not as the referral's subject: rows stored before are corrected,
each referral keeping as its subject the person of its first subject row (the case's own
subject is always written first).

Revision ID: 0009_household_subject_role
Revises: 0008_ended_web_sessions
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_household_subject_role"
down_revision = "0008_ended_web_sessions"
branch_labels = None
depends_on = None

_CORRECT = sa.text(
    "UPDATE referral_people SET role = 'household_subject' WHERE role = 'subject' AND "
    "person_id <> (SELECT first.person_id FROM referral_people AS first "
    "WHERE first.referral_id = referral_people.referral_id AND first.role = 'subject' "
    "ORDER BY first.id LIMIT 1)"
)


def upgrade() -> None:
    op.get_bind().execute(_CORRECT)


def downgrade() -> None:
    pass  # which rows were corrected is not kept; the old reading of them was wrong
