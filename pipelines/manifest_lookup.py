"""Looking features up in the manifest: by name, by position, and by block.

Every look-up fails loudly: a renamed or misspelt feature is an error, never a value
silently skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final

from pipelines.feature_spec import FeatureSpec
from pipelines.manifest import MANIFEST, SPECS_BY_NAME


class UnknownFeatureError(KeyError, ValueError):
    """A name that is not a feature of the manifest (a renamed or misspelt feature)."""

    def __str__(self) -> str:
        return str(self.args[0])


def spec_of(name: str) -> FeatureSpec:
    """The manifest entry of a feature; a clear error when `name` is not one.

    Raises:
        UnknownFeatureError: If the manifest has no feature of that name.
    """
    try:
        return SPECS_BY_NAME[name]
    except KeyError:
        raise UnknownFeatureError(f"{name!r} is not a feature of the manifest") from None


def check_names(names: Sequence[str]) -> None:
    """Refuse names that are not manifest features, all of them named at once.

    Raises:
        UnknownFeatureError: Naming (up to five of) the unknown names.
    """
    unknown = [name for name in names if name not in SPECS_BY_NAME]
    if unknown:
        raise UnknownFeatureError(f"not manifest features: {unknown[:5]}")


def columns_of(names: Sequence[str], wanted: Sequence[str]) -> list[int]:
    """Positions of manifest features `wanted` among the columns `names`; fails loudly.

    Raises:
        UnknownFeatureError: If a wanted name is not a manifest feature.
        ValueError: If a wanted feature is not among `names`.
    """
    position = {name: i for i, name in enumerate(names)}
    absent = [spec_of(name).name for name in wanted if name not in position]
    if absent:
        raise ValueError(f"the columns lack manifest features {absent[:5]}")
    return [position[name] for name in wanted]


def count_features(agency: str, *, window: str, relation: str | None = None) -> list[str]:
    """The count features of an agency's records in a window (``"90d"``, ``"ever"``),
    about one relation (``"subject"``) or, by default, the subject and every household
    member, in manifest order."""
    return [s.name for s in MANIFEST if s.kind == "count" and s.agency == agency
            and s.window == window and (relation is None or s.relation == relation)]


# The blocks the feature build writes, in manifest order, each a test on a spec.
BLOCKS: Final[tuple[tuple[str, Callable[[FeatureSpec], bool]], ...]] = (
    ("counts", lambda s: s.kind == "count"),
    ("recency_by_type", lambda s: s.kind == "recency" and s.event_type is not None),
    ("recency_by_agency", lambda s: s.kind == "recency" and s.event_type is None),
    ("coverage", lambda s: s.kind == "coverage"),
    ("attendance", lambda s: s.kind == "attendance"),
    ("history", lambda s: s.kind == "previous_referrals"),
    ("context", lambda s: s.kind in ("household", "context", "protected")),
)


def feature_blocks() -> dict[str, slice]:
    """Where each block of `BLOCKS` sits among `FEATURE_NAMES`.

    Raises:
        RuntimeError: If a block's features are not contiguous or some feature is in no block.
    """
    blocks = {}
    for block, member in BLOCKS:
        where = [i for i, spec in enumerate(MANIFEST) if member(spec)]
        if not where or where != list(range(where[0], where[-1] + 1)):
            raise RuntimeError(f"the manifest's {block} features are not one contiguous block")
        blocks[block] = slice(where[0], where[-1] + 1)
    if sum(b.stop - b.start for b in blocks.values()) != len(MANIFEST):
        raise RuntimeError("some manifest features belong to no block of the feature build")
    return blocks
