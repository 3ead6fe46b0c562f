"""Whether the version a running service serves still has a valid approval: `ServedApproval`.

The service checks at start-up (`api.model_scorer.load_scorer`) that the version it serves
has a valid approval (`api.approvals.gate_problem`). While it runs, each worker asks again
every refresh interval (`api.live_model`), and withdraws the version once the answer is
no, for any reason start-up would refuse it: a rejection, an approval voided by a later
fairness audit of an extract or by any other file it hashed changing, a threshold the
board tightened that the approval does not waive, an approval the audit trail does not hold.

The full check reads every file the card is built from and hashes the model folder, too
much every few seconds; so a refresh reads only what can change the answer, cheaply: the
latest decision about the version, the registry's record of it (its checksum tag, the run's
metrics), the size and modification time of each file of its run and model folder (in a
remote store: the bytes of each file the approval names, `RECORDED_FILES`, small
documents, hashed without parsing; not the model folder) and the board's thresholds; and
runs the full check only when any of those differs from the last full check's, or
`FULL_CHECK_SECONDS` have passed since it (for what the fingerprint cannot see: an audit
entry altered, a remote model folder changed).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from api.approvals import gate_state_in
from api.settings import Settings, board_thresholds
from model.card_sources import RECORDED_FILES, sha256
from model.registry import ModelRegistry
from model.registry_files import local_path

FULL_CHECK_SECONDS: Final = 300.0


@dataclass(frozen=True)
class GateAnswer:
    """The full check's answer: the id of the latest decision (None: none) and why the
    version may not be served (None: it may)."""

    decision: int | None
    problem: str | None


def _stamp(folder: Path | None) -> tuple[tuple[str, int, int], ...]:
    """Each file of a local folder with its size and modification time in nanoseconds
    (empty for no folder)."""
    if folder is None or not folder.is_dir():
        return ()
    stamps = []
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            stat = path.stat()
            stamps.append((path.relative_to(folder).as_posix(), stat.st_size, stat.st_mtime_ns))
    return tuple(stamps)


class ServedApproval:
    """A worker's check of its served version's approval, in full only when needed."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._last: tuple[str, str, float, GateAnswer] | None = None  # version, print, when

    def fingerprint(self, registry: ModelRegistry, version: str, decision: int | None
                    ) -> str:
        """A digest of what the full check reads that can change while a version is served."""
        info = registry.resolve(version)
        run_folder = registry.run_folder(info)
        files = (_stamp(run_folder) if run_folder is not None else  # else a remote store's:
                 [sha256(registry.read_artifact(info.version, path)) for path in RECORDED_FILES])
        digest = hashlib.sha256(repr((
            decision, sorted(info.tags.items()), sorted(info.metrics.items()), info.source,
            files, _stamp(local_path(info.source)), board_thresholds(self.settings))).encode())
        return digest.hexdigest()

    def check(self, registry: ModelRegistry, version: str, decision: int | None
              ) -> GateAnswer:
        """Whether `version` may still be served, `decision` being the id of its latest
        decision as just read: the last full check's answer while nothing it reads has
        changed (and it is under `FULL_CHECK_SECONDS` old), else a full check's."""
        now = time.monotonic()
        printed = self.fingerprint(registry, version, decision)
        if self._last is not None:
            last_version, last_print, when, answer = self._last
            if (last_version, last_print) == (version, printed) \
                    and now - when < FULL_CHECK_SECONDS:
                return answer
        answer = GateAnswer(*gate_state_in(self.settings, registry, version))
        self._last = (version, printed, now, answer)
        return answer
