"""`MicroBatcher`: concurrent submissions share a batch; each gets its own outcome."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from api.batching import BatchStopped, MicroBatcher


class Recorder:
    """A process function that records its batches and doubles each item (odd items fail)."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []

    async def __call__(self, items: Sequence[int]) -> list[int | BaseException]:
        self.batches.append(list(items))
        return [ValueError(f"odd {i}") if i % 2 else i * 2 for i in items]


async def _submit_all(batcher: MicroBatcher[int, int], items: Sequence[int]
                      ) -> list[int | BaseException]:
    return await asyncio.gather(*(batcher.submit(i) for i in items), return_exceptions=True)


def test_concurrent_submissions_form_one_batch_and_each_gets_its_own_outcome() -> None:
    recorder = Recorder()
    batcher = MicroBatcher(recorder, max_items=16)
    outcomes = asyncio.run(_submit_all(batcher, [0, 1, 2, 3, 4]))
    assert recorder.batches == [[0, 1, 2, 3, 4]]
    assert [o if isinstance(o, int) else str(o) for o in outcomes] == [0, "odd 1", 4, "odd 3", 8]
    assert (batcher.batches, batcher.items) == (1, 5)


def test_a_lone_submission_is_processed_without_waiting_for_company() -> None:
    recorder = Recorder()
    batcher = MicroBatcher(recorder)

    async def one_at_a_time() -> list[int]:
        return [await asyncio.wait_for(batcher.submit(i), timeout=5) for i in (2, 4, 6)]

    assert asyncio.run(one_at_a_time()) == [4, 8, 12]
    assert recorder.batches == [[2], [4], [6]]


def test_batches_hold_at_most_max_items_and_later_arrivals_form_the_next() -> None:
    recorder = Recorder()
    batcher = MicroBatcher(recorder, max_items=3)
    outcomes = asyncio.run(_submit_all(batcher, [0, 2, 4, 6, 8, 10, 12]))
    assert outcomes == [0, 4, 8, 12, 16, 20, 24]
    assert recorder.batches == [[0, 2, 4], [6, 8, 10], [12]]


def test_a_failing_process_fails_only_that_batch() -> None:
    calls = []

    async def flaky(items: Sequence[int]) -> list[int]:
        calls.append(list(items))
        if len(calls) == 1:
            raise RuntimeError("store unreachable")
        return list(items)

    batcher = MicroBatcher(flaky)

    async def two_rounds() -> tuple[list[int | BaseException], list[int | BaseException]]:
        return await _submit_all(batcher, [1, 2]), await _submit_all(batcher, [3])

    first, second = asyncio.run(two_rounds())
    assert [str(o) for o in first] == ["store unreachable"] * 2
    assert second == [3]


def test_a_process_giving_the_wrong_number_of_outcomes_is_an_error_for_each_item() -> None:
    async def short(items: Sequence[int]) -> list[int]:
        return list(items)[:-1]

    outcomes = asyncio.run(_submit_all(MicroBatcher(short), [1, 2]))
    assert all(isinstance(o, RuntimeError) and "gave 1 outcomes" in str(o) for o in outcomes)


def test_items_in_hand_or_waiting_when_the_batcher_stops_are_told_so() -> None:
    started = asyncio.Event()

    async def slow(items: Sequence[int]) -> list[int]:
        started.set()
        await asyncio.sleep(60)
        return list(items)

    async def stop_mid_batch() -> list[BaseException | int]:
        batcher = MicroBatcher(slow, max_items=1)
        submitted = [asyncio.ensure_future(batcher.submit(i)) for i in (1, 2)]
        await started.wait()
        runner = batcher._queues[asyncio.get_running_loop()].runner
        assert runner is not None
        runner.cancel()
        return await asyncio.gather(*submitted, return_exceptions=True)

    in_hand, waiting = asyncio.run(stop_mid_batch())
    assert isinstance(in_hand, BatchStopped) and "while scoring" in str(in_hand)
    assert isinstance(waiting, BatchStopped) and "before scoring" in str(waiting)


def test_an_item_whose_submitter_was_cancelled_while_waiting_is_not_processed() -> None:
    recorder = Recorder()
    batcher = MicroBatcher(recorder)

    async def cancel_one() -> list[int | BaseException]:
        first, second = (asyncio.ensure_future(batcher.submit(i)) for i in (2, 4))
        await asyncio.sleep(0)  # both are queued; the batch has not been taken yet
        first.cancel()
        return list(await asyncio.gather(first, second, return_exceptions=True))

    first, second = asyncio.run(cancel_one())
    assert isinstance(first, asyncio.CancelledError) and second == 8
    assert recorder.batches == [[4]]


def test_closing_waits_for_what_is_queued() -> None:
    done: list[int] = []

    async def slow(items: Sequence[int]) -> list[int]:
        await asyncio.sleep(0.05)
        done.extend(items)
        return list(items)

    async def close_while_busy() -> None:
        batcher = MicroBatcher(slow, max_items=1)
        submitted = [asyncio.ensure_future(batcher.submit(i)) for i in (1, 2, 3)]
        await asyncio.sleep(0)
        await batcher.aclose()
        assert done == [1, 2, 3]
        await asyncio.gather(*submitted)

    asyncio.run(close_while_busy())


def test_each_event_loop_batches_its_own_submissions() -> None:
    recorder = Recorder()
    batcher = MicroBatcher(recorder)
    assert asyncio.run(_submit_all(batcher, [2, 4])) == [4, 8]
    assert asyncio.run(_submit_all(batcher, [6])) == [12]  # a new loop, a new runner
    assert recorder.batches == [[2, 4], [6]]


def test_max_items_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        MicroBatcher(Recorder(), max_items=0)
