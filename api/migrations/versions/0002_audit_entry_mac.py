"""Audit entries carry an HMAC of their hash under the audit key (NULL for entries
written without one).

Revision ID: 0002_audit_entry_mac
Revises: 0001
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_audit_entry_mac"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ADD COLUMN on both stores: the append-only triggers stay as they are.
    op.add_column("audit_entries", sa.Column("entry_mac", sa.String(64), nullable=True))


def downgrade() -> None:
    op.drop_column("audit_entries", "entry_mac")  # SQLite 3.35+ drops a column in place
