"""Verifying the audit chain against its anchor, and anchoring its head.

`verify_anchored` walks the chain (`api.audit.verify_chain`) and checks, besides the
links and hashes, what only the holder of the audit key could have written:

- every entry's signature (``entry_mac``): an edit, even with every later hash
  recomputed with the project's own hash function, leaves a signature that no
  longer matches, and a forged entry has none that does;
- every checkpoint: the entry it names must still be there with the same hash, so
  a deletion (first, middle or last entry up to the last checkpoint) or a rewrite
  at or before it is found.

Entries after the last checkpoint are reported as not yet anchored: deleting some
of them from the end of the chain is the one change that stays unseen.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.audit import VerifyResult, verify_chain
from api.audit_governance_check import verify_governance
from api.audit_key import AuditAnchor, AuditAnchorError, Checkpoint
from api.audit_people import PEOPLE_TABLE, unchecked_people
from api.audit_record_problems import RecordProblem, RecordsResult
from api.audit_records_check import verify_records
from api.store.db import Store
from api.store.models import AuditEntry

logger = logging.getLogger(__name__)

NOT_ANCHORED = ("no audit key and checkpoint file are set, so a deleted tail or a rewrite "
                "would verify")


@dataclass(frozen=True)
class AnchoredResult:
    """The chain's verification, plus how far the checkpoints vouch for it."""

    chain: VerifyResult
    last_anchored: Checkpoint | None
    unanchored: int
    ok: bool
    reason: str


def verify_anchored(
    session: Session, anchor: AuditAnchor, *, adopt_through: int = 0
) -> AnchoredResult:
    """Verify the chain, its signatures and its checkpoints.

    ``adopt_through``: accept entries up to it without a signature (entries written
    before the key was set, which an operator adopts as they stand).

    Raises:
        AuditAnchorError: The checkpoint file is unreadable, edited, or was signed
            with another key (the wrong key file).
    """
    all_checkpoints = anchor.read_checkpoints()
    checkpoints = _checkpoints_by_seq(all_checkpoints)
    last = max(checkpoints.values(), key=lambda c: c.seq, default=None)
    adopted = max([adopt_through, *(c.unsigned_through for c in all_checkpoints)])
    chain = verify_chain(session, entry_check=_EntryCheck(anchor, checkpoints, adopted))
    unanchored = chain.checked - last.seq if last else chain.checked
    if not chain.ok:
        return AnchoredResult(chain, last, max(unanchored, 0), False, chain.reason)
    if last is not None and last.seq > chain.checked:
        reason = (
            f"entries {chain.checked + 1} to {last.seq} are missing, though entry "
            f"{last.seq} was anchored at {last.anchored_at}: the chain was truncated"
        )
        return AnchoredResult(chain, last, 0, False, reason)
    return AnchoredResult(chain, last, unanchored, True, _intact(chain.checked, last, unanchored))


@dataclass(frozen=True)
class TrailStatus:
    """What `safeguard audit verify` and the governance audit page report."""

    ok: bool
    checked: int
    first_broken_seq: int | None  # None when intact, or when the tail was cut
    reason: str
    anchored: bool  # signatures and checkpoints checked too (an audit key is set)
    records: tuple[RecordProblem, ...] = ()  # stored rows that differ from their entries


def verify_trail(session: Session, anchor: AuditAnchor | None) -> TrailStatus:
    """The audit trail verified as far as the settings allow: with an audit key, its
    signatures and checkpoints too (`verify_anchored`), else its links and hashes; and
    every stored score and decision (`verify_records`), user and model decision
    (`verify_governance`) against its entries.

    Raises:
        AuditAnchorError: As `verify_anchored`.
    """
    if anchor is None:
        chain = verify_chain(session)
        ok, checked, broken, reason = chain.ok, chain.checked, chain.first_broken_seq, chain.reason
    else:
        result = verify_anchored(session, anchor)
        ok, checked, broken = result.ok, result.chain.checked, result.chain.first_broken_seq
        reason = result.reason
        if ok and result.last_anchored is None and checked:
            ok, reason = _no_checkpoint(anchor, checked)
    records, governance = verify_records(session), verify_governance(session)
    records = RecordsResult(records.problems + governance.problems,
                            {**records.matched, **governance.matched}, records.partly)
    summary = records.summary()
    if records.ok and (unnamed := unchecked_people(session.connection())):
        summary += (f"; {unnamed} {PEOPLE_TABLE} rows name no score (stored before migration "
                    "0010): not checked")
    return TrailStatus(ok and records.ok, checked, broken,
                       f"{reason}; {summary}" if summary else reason, anchor is not None,
                       records.problems)


def _no_checkpoint(anchor: AuditAnchor, checked: int) -> tuple[bool, str]:
    """Whether a chain no checkpoint anchors can pass, and why: only while none was due
    yet (one is written every `every` entries), and said so. Past that, the checkpoint
    file was deleted or emptied, or the settings name the wrong file."""
    file = anchor.checkpoint_file
    state = "is empty" if file.exists() else "does not exist"
    if checked < anchor.every:
        return True, (f"{checked} entries, chain intact; NOT ANCHORED yet: the checkpoint file "
                      f"{file} {state}, and no checkpoint was due (one every {anchor.every} "
                      "entries, and one when the service stops); anchor the chain now with "
                      "`safeguard audit checkpoint`, or, if one was written, "
                      "SAFEGUARD_AUDIT_CHECKPOINT_FILE names the wrong file")
    return False, (f"{checked} entries and no checkpoint: the checkpoint file {file} {state}, "
                   f"though one was due at entry {anchor.every}; nothing vouches for the "
                   "chain's end. SAFEGUARD_AUDIT_CHECKPOINT_FILE names the wrong file, or the "
                   "file was deleted or emptied (restore it); if the chain has truly never "
                   "been anchored, anchor it now with `safeguard audit checkpoint`")


def _intact(checked: int, last: Checkpoint | None, unanchored: int) -> str:
    anchored = (
        f"last anchored entry {last.seq} (written {last.entry_time}, anchored {last.anchored_at})"
        if last
        else "no entry anchored yet"
    )
    return f"{checked} entries, chain intact; {anchored}; {unanchored} not yet anchored"


def _checkpoints_by_seq(checkpoints: list[Checkpoint]) -> dict[int, Checkpoint]:
    by_seq: dict[int, Checkpoint] = {}
    for checkpoint in checkpoints:
        seen = by_seq.setdefault(checkpoint.seq, checkpoint)
        if seen.entry_hash != checkpoint.entry_hash:
            raise AuditAnchorError(
                f"two checkpoints of entry {checkpoint.seq} disagree: "
                "the chain was rewritten and anchored again"
            )
    return by_seq


class _EntryCheck:
    """The per-entry checks `verify_chain` runs: signature, and checkpoint when one names it."""

    def __init__(
        self, anchor: AuditAnchor, checkpoints: dict[int, Checkpoint], adopted: int
    ) -> None:
        self.anchor, self.checkpoints, self.adopted = anchor, checkpoints, adopted

    def __call__(self, entry: AuditEntry) -> str:
        checkpoint = self.checkpoints.get(entry.seq)
        if checkpoint is not None and checkpoint.entry_hash != entry.entry_hash:
            return (
                f"entry {entry.seq} is not the entry anchored at {checkpoint.anchored_at}: "
                "rewritten (or entries before it deleted or reordered)"
            )
        if entry.entry_mac is None:
            if entry.seq <= self.adopted:
                return ""
            return (
                f"entry {entry.seq} carries no signature: forged, or written before the "
                "audit key was set (adopt those once: `safeguard audit checkpoint "
                "--adopt-unsigned`)"
            )
        if not self.anchor.entry_mac_ok(entry.entry_hash, entry.entry_mac):
            return (
                f"entry {entry.seq} does not match its signature: edited and rehashed, "
                "forged, or signed with another key"
            )
        return ""


def checkpoint_head(
    session: Session, anchor: AuditAnchor, *, adopt_unsigned: int = 0
) -> Checkpoint | None:
    """Anchor the chain's last entry now (at shutdown, or after a verification passed)."""
    head = session.execute(
        select(AuditEntry.seq, AuditEntry.entry_hash, AuditEntry.created_at)
        .order_by(AuditEntry.seq.desc())
        .limit(1)
    ).first()
    if head is None:
        return None
    return anchor.write_checkpoint(
        seq=head.seq,
        entry_hash=head.entry_hash,
        entry_time=head.created_at,
        unsigned_through=adopt_unsigned,
    )


def unsigned_prefix(session: Session) -> int:
    """The last entry of the chain's leading run of unsigned entries (0 when none)."""
    first_signed = session.scalar(
        select(AuditEntry.seq)
        .where(AuditEntry.entry_mac.is_not(None))
        .order_by(AuditEntry.seq)
        .limit(1)
    )
    if first_signed is not None:
        return first_signed - 1
    return session.scalar(select(AuditEntry.seq).order_by(AuditEntry.seq.desc()).limit(1)) or 0


def checkpoint_at_shutdown(store: Store) -> None:
    """Anchor the head of the store's chain, if it has an anchor (when a worker stops)."""
    anchor = store.audit_anchor
    if anchor is None:
        return
    try:
        with store.session() as session:
            checkpoint_head(session, anchor)
    except OSError as exc:
        logger.error(
            "audit checkpoint at shutdown not written to %s (%s)",
            anchor.checkpoint_file,
            type(exc).__name__,
        )
