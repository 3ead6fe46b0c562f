"""The service's store: users, scores, decisions and the audit trail (SQLAlchemy + Alembic)."""

from api.store.db import Store, init_db, make_engine
from api.store.models import AuditEntry, Base, Decision, Score, User

__all__ = ["AuditEntry", "Base", "Decision", "Score", "Store", "User", "init_db", "make_engine"]
