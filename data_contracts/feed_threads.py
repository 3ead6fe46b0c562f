"""Work on each feed of an extract, two feeds at a time, in the feeds' order, with a
spinner when asked: reading, parsing and checking (`data_contracts.validate`). `in_order`
also serves the feature build's work in two (`pipelines.encode`, `pipelines.features`)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from data_contracts.errors import FeedRejected
from data_contracts.refusals import FeedRefusals

__all__ = ["FEED_THREADS", "each_feed", "in_order", "status"]

# Feeds read, and then parsed, two at a time: both spend most of their time in pyarrow
# and NumPy, which release the GIL (100,000 referrals: 1.9-2.4 s one at a time, 1.2-1.4 s
# two at a time). Two, not one per core: each feed in flight holds its raw and parsed
# copies at once. When the extract date is to be inferred, each feed's thread also checks
# it with today's (`check_provisionally`; not outcomes, whose rules read the referrals'):
# the features command took 0.6-0.9 s less than with those checks one feed at a time.
# The checks against the extract date then run two feeds at a time too (outcomes last).
FEED_THREADS = 2

_Item = TypeVar("_Item")
_Result = TypeVar("_Result")


def in_order(function: Callable[[_Item], _Result], items: Sequence[_Item], *,
             progress: bool = False, message: str = "",
             thread_name: str = "feeds") -> list[_Result]:
    """``function`` of each item, `FEED_THREADS` at a time, in the items' order. The first
    failure in that order is raised, as one at a time would; work not started is dropped
    (`Executor.map` cancels it when a result raises). One item (a live case's one chunk
    of records, an extract of one feed) runs on the calling thread: no pool is started."""
    with status(progress, message):
        if len(items) <= 1:
            return [function(item) for item in items]
        with ThreadPoolExecutor(max_workers=FEED_THREADS, thread_name_prefix=thread_name) as pool:
            return list(pool.map(function, items))


def each_feed(function: Callable[[str], _Result], feeds: Sequence[str], *,
              refusals: FeedRefusals, progress: bool, message: str) -> dict[str, _Result]:
    """``function`` of each feed, as `in_order`, less the feeds refused and set aside
    (`FeedRefusals.refuse`: else a refusal raises)."""
    def attempt(feed: str) -> _Result | None:
        try:
            return function(feed)
        except FeedRejected as refusal:
            refusals.refuse(feed, refusal)
            return None

    results = in_order(attempt, feeds, progress=progress, message=message)
    return {feed: result for feed, result in zip(feeds, results, strict=True)
            if result is not None}


@contextlib.contextmanager
def status(progress: bool, message: str) -> Iterator[None]:
    if not progress:
        yield
        return
    from rich.console import Console  # only when asked for: keeps imports light

    with Console(stderr=True).status(message):
        yield
