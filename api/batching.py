"""Coalescing concurrent requests into one batch: `MicroBatcher`.

Several triage requests often arrive together. Scoring them one by one repeats
work that a batch shares: one model call predicts and explains several rows for
little more than the cost of one, and one audit transaction (one lock, one read
of the chain's head, one commit) appends several entries for little more than
the cost of one. `MicroBatcher` runs one batch at a time on the event loop; the
requests that arrive while a batch runs form the next one. A lone request never
waits for company: it is processed as soon as the loop is free.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Outcome = TypeVar("Outcome")

Process = Callable[[Sequence[Item]], Awaitable[Sequence[Outcome | BaseException]]]


class BatchStopped(RuntimeError):
    """The batcher stopped (the service is shutting down) before this item was processed."""


class _LoopQueue(Generic[Item, Outcome]):
    """The items waiting on one event loop, and the task working through them."""

    def __init__(self) -> None:
        self.waiting: list[tuple[Item, asyncio.Future[Outcome]]] = []
        self.runner: asyncio.Task[None] | None = None


class MicroBatcher(Generic[Item, Outcome]):
    """Processes the items submitted by concurrent coroutines in batches.

    Args:
        process: Takes a batch and returns one outcome per item, in order: a
            result, or the exception that item's submitter should get. An
            exception raised by ``process`` itself is given to every item.
        max_items: The most items in one batch; the rest wait for the next one.

    A server process runs one event loop; items submitted from another loop (a test
    client driving the app from several threads) are batched on their own loop.
    """

    def __init__(self, process: Process[Item, Outcome], *, max_items: int = 16) -> None:
        if max_items < 1:
            raise ValueError(f"max_items must be at least 1, not {max_items}")
        self._process = process
        self.max_items = max_items
        self._queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop,
                                                _LoopQueue[Item, Outcome]] = (
            weakref.WeakKeyDictionary())
        self.batches = 0
        self.items = 0

    async def submit(self, item: Item) -> Outcome:
        """Queue ``item`` for the next batch and return its outcome (or raise its exception).

        A submitter cancelled while its item waits (the client went away, the server
        is stopping) takes the item with it: it is not processed.
        """
        loop = asyncio.get_running_loop()
        queue = self._queues.setdefault(loop, _LoopQueue())
        future: asyncio.Future[Outcome] = loop.create_future()
        queue.waiting.append((item, future))
        if queue.runner is None or queue.runner.done():
            queue.runner = loop.create_task(self._run(queue))
        return await future

    async def aclose(self) -> None:
        """Wait for the batch in hand and everything queued behind it on this loop."""
        queue = self._queues.get(asyncio.get_running_loop())
        if queue is not None and queue.runner is not None:
            await asyncio.shield(queue.runner)

    async def _run(self, queue: _LoopQueue[Item, Outcome]) -> None:
        try:
            while queue.waiting:
                # One turn of the loop first: requests already read from their
                # sockets get as far as `submit` and join this batch.
                await asyncio.sleep(0)
                batch = [(item, future) for item, future in queue.waiting[: self.max_items]
                         if not future.done()]
                del queue.waiting[: self.max_items]
                if batch:
                    await self._settle(batch)
        finally:
            stranded, queue.waiting = queue.waiting, []
            for _, future in stranded:
                if not future.done():
                    future.set_exception(BatchStopped("the service stopped before scoring"))

    async def _settle(self, batch: list[tuple[Item, asyncio.Future[Outcome]]]) -> None:
        self.batches += 1
        self.items += len(batch)
        try:
            outcomes: Sequence[Outcome | BaseException] = await self._process(
                [item for item, _ in batch])
            if len(outcomes) != len(batch):
                raise RuntimeError(f"batch of {len(batch)} gave {len(outcomes)} outcomes")
        except asyncio.CancelledError:
            # The batcher itself was stopped: its submitters were not, so they are told.
            for _, future in batch:
                if not future.done():
                    future.set_exception(BatchStopped("the service stopped while scoring"))
            raise
        except Exception as exc:  # noqa: BLE001 - the submitters get it, not the loop
            outcomes = [exc] * len(batch)
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            if future.done():  # the submitter went away
                continue
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)
