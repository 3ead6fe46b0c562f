"""Two partial indexes on the audit trail, so that what relies on a few of its entries
finds them without reading the whole chain:

- the entries that vouch for users and model decisions (``user_add``, ``user_revoke``,
  ``model_approve``, ``model_reject``, ``model_waiver``), by version: the approval gate
  reads a version's signed decision entry (`api.approval_trail`), and `verify` every
  user's and decision's;
- the entries that name a person in their details (``person_id``: a subject access
  request, a refused try at one), by person: a subject access report lists them
  (`api.subject_access`).

The expressions are written as the queries write them (`api.approval_trail`,
`api.subject_access`), literals and all: SQLite uses a partial or expression index only
for a query that spells it the same way.

Revision ID: 0012_audit_lookups
Revises: 0011_approval_sources
Create Date: 2026-12-08
"""

from __future__ import annotations

from alembic import op

revision = "0012_audit_lookups"
down_revision = "0011_approval_sources"
branch_labels = None
depends_on = None

_GOVERNANCE = ("audit_entries.action IN ('model_approve', 'model_reject', 'model_waiver', "
               "'user_add', 'user_revoke')")
_PERSON = {"sqlite": "json_extract(details, '$.person_id')",
           "postgresql": "(details ->> 'person_id')"}


def upgrade() -> None:
    person = _PERSON[op.get_bind().dialect.name]
    op.execute("CREATE INDEX ix_audit_entries_governance ON audit_entries "
               f"(model_version, seq) WHERE {_GOVERNANCE}")
    op.execute(f"CREATE INDEX ix_audit_entries_person ON audit_entries ({person}, seq) "
               f"WHERE {person} IS NOT NULL")


def downgrade() -> None:
    op.execute("DROP INDEX ix_audit_entries_person")
    op.execute("DROP INDEX ix_audit_entries_governance")
