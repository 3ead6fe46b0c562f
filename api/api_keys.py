"""API keys themselves: issuing one (``<key_id>.<secret>``), splitting it, and hashing
and verifying its secret (`KeyHasher`); no HTTP and no lookup of who holds a key, which
is `api.auth`'s job.

The secret is checked against a PBKDF2-HMAC-SHA256 hash with a per-key salt and the
service-wide pepper. Keys are shown once, at creation, and never stored. Because secrets
are 256 random bits, a verified key is remembered in memory (as a SHA-256 digest, keyed
by the stored hash) so that each request costs one hash, not a PBKDF2 run. A key id that
names no user is refused after the same work (`KeyHasher.refuse`).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
from dataclasses import dataclass
from typing import Final

from sqlalchemy.orm import Session

from api.roles import ROLES
from api.store.models import User
from api.user_names import MAX_USER_NAME, user_name_problem

PBKDF2_ITERATIONS: Final = 120_000
_VERIFIED_CACHE_MAX = 10_000
# What a refusal of a key that names no user checks the secret against: the same work.
_NO_SALT: Final = "00" * 16
_NO_HASH: Final = "00" * 32
# Key ids are issued as hex (`issue_key`); the shape taken as a key id is wider (up to 32
# letters, digits, `_` or `-`), and anything else is no key id at all.
_KEY_ID = re.compile(r"[0-9A-Za-z_-]{1,32}")


@dataclass(frozen=True)
class IssuedKey:
    """A freshly created key: ``key`` is shown to the user once and then forgotten."""

    user: User
    key: str


class KeyHasher:
    """Hashes and verifies API key secrets under one pepper."""

    def __init__(self, pepper: str) -> None:
        self._pepper = pepper.encode("utf-8")
        self._verified: dict[str, str] = {}
        self._lock = threading.Lock()

    def hash(self, secret: str, salt: str) -> str:
        """PBKDF2-HMAC-SHA256 of the peppered secret under ``salt``."""
        material = hmac.new(self._pepper, secret.encode("utf-8"), hashlib.sha256).digest()
        return hashlib.pbkdf2_hmac("sha256", material, bytes.fromhex(salt), PBKDF2_ITERATIONS).hex()

    def verify_cached(self, secret: str, *, stored_hash: str) -> bool | None:
        """Whether ``secret`` matches a key verified before; None when it needs `verify`."""
        cached = self._verified.get(stored_hash)
        if cached is None:
            return None
        return hmac.compare_digest(cached, hashlib.sha256(secret.encode("utf-8")).hexdigest())

    def verify(self, secret: str, *, salt: str, stored_hash: str) -> bool:
        """Whether ``secret`` matches the stored hash (constant-time comparison).

        Only a match with a key verified before skips the PBKDF2 run: a mismatch costs
        the run, as for a key never seen.
        """
        if self.verify_cached(secret, stored_hash=stored_hash):
            return True
        digest = hashlib.sha256(secret.encode("utf-8")).hexdigest()
        if not hmac.compare_digest(self.hash(secret, salt), stored_hash):
            return False
        with self._lock:
            if len(self._verified) >= _VERIFIED_CACHE_MAX:
                self._verified.clear()
            self._verified[stored_hash] = digest
        return True

    def refuse(self, secret: str) -> bool:
        """False, after the work of checking ``secret`` against a key (for a key id that
        names no active user, so that its refusal takes as long as a wrong secret's)."""
        hmac.compare_digest(self.hash(secret, _NO_SALT), _NO_HASH)
        return False


def issue_key(session: Session, hasher: KeyHasher, *, name: str, role: str) -> IssuedKey:
    """Create a user with a new key (the caller commits).

    Raises:
        ValueError: A role not known, or a name that cannot be a user's (`user_name_problem`).
    """
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}: expected one of {', '.join(ROLES)}")
    if problem := user_name_problem(name):
        raise ValueError(f"{problem} (got {name[:MAX_USER_NAME]!r})")
    key_id, secret, salt = secrets.token_hex(8), secrets.token_urlsafe(32), secrets.token_hex(16)
    user = User(
        name=name, role=role, key_id=key_id, key_salt=salt, key_hash=hasher.hash(secret, salt)
    )
    session.add(user)
    return IssuedKey(user=user, key=f"{key_id}.{secret}")


def split_key(key: str) -> tuple[str, str] | None:
    """(key id, secret) of a well-formed key, else None."""
    key_id, _, secret = key.strip().partition(".")
    if not _KEY_ID.fullmatch(key_id) or not secret or len(secret) > 128:
        return None
    return key_id, secret
