"""What an approval covers, hashed when it is recorded and again whenever it is relied on.

An approval names the SHA-256 of the version's model folder, which must match the
registry's checksum tag (`CHECKSUM_TAG`, what every load verifies), and of each file
its model card and acceptance checks are built from, with the cards logged at training
and the run's metrics and parameters (`model.card_sources.RECORDED_FILES`; the digests
are those of the very bytes the card's figures are read from, `CardSources.digests`).
It is void once any of them differs, or the checksum tag does, and the reason names
what changed. An approval recorded before it named every such file (migration 0011,
its `sources_sha256` empty) covers too little to hold: it must be given again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from api.store.models import ModelApproval
from model.card_sources import (
    CARD_HTML_ARTIFACT,
    FAIRNESS_ARTIFACT,
    RECORDED_FILES,
    RECORDED_WORDS,
    CardSources,
)
from model.registry import CHECKSUM_TAG, ModelRegistry
from model.registry_records import VersionInfo

MODEL_FOLDER: Final = "model folder"
CHECKSUM: Final = f"registry checksum (the {CHECKSUM_TAG!r} tag)"


@dataclass(frozen=True)
class ContentHashes:
    """SHA-256 of what an approval covers, as stored now (None: the version has no such
    file)."""

    model: str  # of the model folder as stored
    checksum_tag: str | None  # the registry's checksum of it
    files: Mapping[str, str | None]  # `CardSources.digests`

    @property
    def fairness(self) -> str | None:
        """The fairness report's (a column of its own since migration 0004)."""
        return self.files.get(FAIRNESS_ARTIFACT)

    @property
    def card(self) -> str | None:
        """The HTML card logged at training (a column of its own since migration 0004)."""
        return self.files.get(CARD_HTML_ARTIFACT)

    def changed_since(self, approval: ModelApproval) -> list[str]:
        """What differs from the content the approval names, by name: the model folder,
        the registry's checksum, each file by its path in the run."""
        changed = [MODEL_FOLDER] if approval.model_sha256 != self.model else []
        if approval.model_sha256 != self.checksum_tag:
            changed.append(CHECKSUM)
        named = approval.sources_sha256 or {}
        changed += [name for name in sorted(set(named) | set(self.files))
                    if named.get(name) != self.files.get(name)]
        return changed


def approval_covers() -> str:
    """What an approval covers, in words (the model card and `safeguard model approve
    --help` say it): the model folder, each recorded file, the run's metrics and parameters."""
    files = ", ".join(RECORDED_WORDS[path] for path in RECORDED_FILES)
    return (f"the SHA-256 of the model folder (which must match the registry's checksum) "
            f"and of {files}, and the run's metrics and parameters")


def content_hashes(registry: ModelRegistry, info: VersionInfo, sources: CardSources, *,
                   model_sha256: str | None = None) -> ContentHashes:
    """The hashes of a version's model folder and of the sources its card was built from;
    the folder's is `model_sha256` when given (its hash as a command read and used it:
    `model.score.Scored.model_sha256`), else the folder is read and hashed now."""
    return ContentHashes(model=model_sha256 or registry.model_checksum(info.version),
                         checksum_tag=info.tags.get(CHECKSUM_TAG), files=dict(sources.digests))


def covers_too_little(approval: ModelApproval) -> str | None:
    """Why an approval recorded before it named every file of the card cannot hold
    (None: it names them)."""
    if approval.sources_sha256 is not None:
        return None
    return (f"the approval of version {approval.model_version} recorded on "
            f"{approval.created_at:%Y-%m-%d %H:%M} names only its model folder, fairness "
            "report and HTML card, not every file its card and acceptance checks read: a "
            f"governance user must approve it again (`safeguard model approve "
            f"{approval.model_version}`)")
