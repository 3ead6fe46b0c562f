"""What anchors the audit chain outside the database: a key and a checkpoint file.

A hash chain cannot prove its own end: whoever can write to the database can delete
its last entries, or edit one and recompute every later hash, and the chain still
links. Two things the database does not hold close that gap:

- **The audit key** (``SAFEGUARD_AUDIT_KEY_FILE``, 32 random bytes in hex, mode 0600).
  Every entry carries ``entry_mac``, an HMAC-SHA256 of its ``entry_hash`` under the
  key, so an edited or forged entry cannot be given a valid signature without it.
- **Signed checkpoints** (``SAFEGUARD_AUDIT_CHECKPOINT_FILE``): JSON lines, each the
  sequence number and hash of an entry, its time and when it was anchored, signed
  with the key and appended (``O_APPEND``, under an exclusive ``flock``) after the
  entry's transaction commits, every ``SAFEGUARD_AUDIT_CHECKPOINT_EVERY`` entries and
  when the service stops. A checkpoint fixes the whole chain up to its entry: a
  deleted or rewritten entry at or before it no longer matches.

Checkpoints are independent statements ("entry 300 had hash H"), so the order in
which several server processes append them does not matter. The key never leaves
this module: it is not logged, and a checkpoint names it only by a fingerprint.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import logging
import os
import secrets
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

if TYPE_CHECKING:
    from api.settings import Settings

logger = logging.getLogger(__name__)

KEY_BYTES = 32
_ENTRY_DOMAIN = b"safeguard-audit-entry\x00"
_CHECKPOINT_DOMAIN = b"safeguard-audit-checkpoint\x00"
_ANCHORS: weakref.WeakKeyDictionary[Engine, AuditAnchor] = weakref.WeakKeyDictionary()


class AuditAnchorError(Exception):
    """The audit key or checkpoint file is missing, unreadable, wrong or tampered with."""


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:  # SQLite hands timestamps back naive (they are UTC)
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def create_key_file(path: Path) -> None:
    """Write a new random audit key to ``path`` (mode 0600); refuse to overwrite one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise AuditAnchorError(f"audit key file {path} already exists: not overwritten") from None
    with os.fdopen(descriptor, "w") as key_file:
        key_file.write(secrets.token_hex(KEY_BYTES) + "\n")


def load_key(path: Path) -> bytes:
    """The key in ``path``, or `AuditAnchorError` saying in one line what is wrong."""
    try:
        text = path.read_text(encoding="ascii").strip()
        key = bytes.fromhex(text)
    except FileNotFoundError:
        raise AuditAnchorError(
            f"audit key file {path} does not exist "
            "(SAFEGUARD_AUDIT_KEY_FILE; create one with "
            "`safeguard audit init-key`)"
        ) from None
    except (OSError, UnicodeError, ValueError) as exc:
        raise AuditAnchorError(
            f"audit key file {path} is unreadable or not a hex key ({type(exc).__name__})"
        ) from None
    if len(key) < KEY_BYTES:
        raise AuditAnchorError(f"audit key file {path} holds fewer than {KEY_BYTES} bytes")
    return key


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement that entry ``seq`` had hash ``entry_hash``.

    ``unsigned_through`` is the last entry written before the key existed that an
    operator adopted as it stood (`safeguard audit checkpoint --adopt-unsigned`); 0
    when none.
    """

    seq: int
    entry_hash: str
    entry_time: str
    anchored_at: str
    unsigned_through: int = 0


@dataclass(frozen=True, repr=False)
class AuditAnchor:
    """The key and checkpoint file of one database's audit chain."""

    key: bytes
    checkpoint_file: Path
    every: int = 100

    @classmethod
    def from_settings(cls, settings: Settings) -> AuditAnchor | None:
        """The anchor the settings name; None when they name neither file."""
        key_file, checkpoint_file = settings.audit_key_file, settings.audit_checkpoint_file
        if key_file is None and checkpoint_file is None:
            return None
        if key_file is None or checkpoint_file is None:
            raise AuditAnchorError(
                "set both SAFEGUARD_AUDIT_KEY_FILE and SAFEGUARD_AUDIT_CHECKPOINT_FILE, or neither"
            )
        return cls(load_key(key_file), checkpoint_file, settings.audit_checkpoint_every)

    @property
    def key_id(self) -> str:
        """A fingerprint that names the key without revealing it."""
        return hashlib.sha256(b"key-id\x00" + self.key).hexdigest()[:16]

    def entry_mac(self, entry_hash: str) -> str:
        """The signature an entry with this hash carries."""
        return hmac.new(
            self.key, _ENTRY_DOMAIN + entry_hash.encode("ascii"), hashlib.sha256
        ).hexdigest()

    def entry_mac_ok(self, entry_hash: str, mac: str) -> bool:
        """Whether ``mac`` is this key's signature of ``entry_hash``."""
        return hmac.compare_digest(self.entry_mac(entry_hash), mac)

    def _checkpoint_mac(self, fields: Mapping[str, Any]) -> str:
        body = json.dumps(fields, sort_keys=True, separators=(",", ":")).encode("utf-8")
        return hmac.new(self.key, _CHECKPOINT_DOMAIN + body, hashlib.sha256).hexdigest()

    def write_checkpoint(
        self, *, seq: int, entry_hash: str, entry_time: datetime, unsigned_through: int = 0
    ) -> Checkpoint:
        """Append a signed checkpoint of entry ``seq`` (one write, under an exclusive lock)."""
        checkpoint = Checkpoint(
            seq, entry_hash, _iso(entry_time), _iso(datetime.now(UTC)), unsigned_through
        )
        fields = {**asdict(checkpoint), "key_id": self.key_id}
        line = json.dumps({**fields, "mac": self._checkpoint_mac(fields)}, sort_keys=True)
        self.checkpoint_file.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(self.checkpoint_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)  # one whole line per writer, never interleaved
            os.write(descriptor, (line + "\n").encode("utf-8"))
        finally:
            os.close(descriptor)  # closing releases the lock
        return checkpoint

    def read_checkpoints(self) -> list[Checkpoint]:
        """Every checkpoint in the file, each checked against the key.

        Raises:
            AuditAnchorError: A line is not a checkpoint, was signed with another key,
                or does not match its signature (edited).
        """
        if not self.checkpoint_file.exists():
            return []
        with open(self.checkpoint_file, encoding="utf-8") as lines:
            return [
                self._parse(number, line) for number, line in enumerate(lines, 1) if line.strip()
            ]

    def _parse(self, number: int, line: str) -> Checkpoint:
        where = f"checkpoint file {self.checkpoint_file} line {number}"
        try:
            fields = json.loads(line)
            mac, key_id = fields.pop("mac"), fields["key_id"]
            checkpoint = Checkpoint(**{k: v for k, v in fields.items() if k != "key_id"})
        except (ValueError, KeyError, TypeError):
            raise AuditAnchorError(f"{where} is not a checkpoint") from None
        if key_id != self.key_id:
            raise AuditAnchorError(
                f"{where} was signed with key {key_id}, not with the key "
                f"{self.key_id} in SAFEGUARD_AUDIT_KEY_FILE: wrong key file"
            )
        if not hmac.compare_digest(self._checkpoint_mac(fields), str(mac)):
            raise AuditAnchorError(f"{where} does not match its signature: edited")
        return checkpoint


def attach_anchor(engine: Engine, anchor: AuditAnchor | None) -> None:
    """Make the audit appends on ``engine`` sign entries and write checkpoints."""
    if anchor is None:
        _ANCHORS.pop(engine, None)
    else:
        _ANCHORS[engine] = anchor


def anchor_of(engine: Engine) -> AuditAnchor | None:
    """The anchor attached to ``engine``, if any."""
    return _ANCHORS.get(engine)


def checkpoint_if_due(engine: Engine, entries: Sequence[Mapping[str, Any]]) -> None:
    """After a commit: checkpoint its last entry if the commit passed a multiple of N."""
    anchor = anchor_of(engine)
    if anchor is None or not entries:
        return
    first, last = entries[0], entries[-1]
    if last["seq"] // anchor.every <= (first["seq"] - 1) // anchor.every:
        return
    try:
        anchor.write_checkpoint(
            seq=last["seq"], entry_hash=last["entry_hash"], entry_time=last["created_at"]
        )
    except OSError as exc:
        # The entries are committed: the next due checkpoint anchors them too.
        logger.error(
            "audit checkpoint of entry %d not written to %s (%s)",
            last["seq"],
            anchor.checkpoint_file,
            type(exc).__name__,
        )
