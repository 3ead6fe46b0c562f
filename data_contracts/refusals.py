"""What refusing one feed does: refuse the whole extract, or set the feed aside.

A feed is refused as a whole, never loaded: a direct identifier, a required column
missing, an empty, oversized or unreadable file. The required feed's refusal refuses
the extract. So does an optional feed's, for every command that builds on the extract
(features, training, scoring, monitoring): nothing is built without a feed an agency
sent, which would read as that agency sharing nothing, and the message says that the
extract is refused with the feed. `safeguard validate` instead sets the feed aside,
checks every other one and lists it in its report (``refused_feeds``), then fails.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from data_contracts.errors import FeedRejected
from data_contracts.vocab import FEEDS, REQUIRED_FEEDS

EXTRACT_REFUSED: Final = ("the whole extract is refused with it (correct the file, or take it "
                          "out to go on without it)")


@dataclass
class FeedRefusals:
    """The feeds refused in one validation, by feed, and what a refusal does (`refuse`)."""

    set_aside: bool = False  # an optional feed refused is set aside, the extract kept
    feeds: dict[str, FeedRejected] = field(default_factory=dict)

    def refuse(self, feed: str, refusal: FeedRejected) -> None:
        """Set an optional feed aside when :attr:`set_aside`; else refuse the extract
        (safe from several threads: a refusal set aside is one dictionary entry).

        Raises:
            FeedRejected: The extract refused: the feed's own refusal for the required
                feed; for an optional one, it and :data:`EXTRACT_REFUSED`.
        """
        if feed in REQUIRED_FEEDS:
            raise refusal
        if not self.set_aside:
            raise FeedRejected(refusal.source, f"{refusal.problem}; {EXTRACT_REFUSED}")
        self.feeds[feed] = refusal

    def in_feed_order(self) -> dict[str, FeedRejected]:
        return {feed: self.feeds[feed] for feed in FEEDS if feed in self.feeds}
