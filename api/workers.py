"""Several server processes behind one port (`safeguard serve --workers N`).

The supervisor (the `serve` process) listens on the port itself and hands each
accepted connection to the workers in turn, over a Unix socket per worker
(SCM_RIGHTS; `api.dispatch` says why). Each worker serves the connections it is given
with uvicorn; the supervisor replaces a worker that dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import uvicorn
from rich.console import Console

from api.dispatch import GOT, READY, ConnectionDispatcher, listening_socket

console = Console()

_FDS_PER_MESSAGE = 64
_MAX_BACKOFF_SECONDS = 60.0


class HandoffServer(uvicorn.Server):
    """uvicorn serving the connections the supervisor hands over on `channel`."""

    def __init__(self, config: uvicorn.Config, channel: socket.socket) -> None:
        super().__init__(config)
        self.channel = channel
        self._opening: set[asyncio.Task[Any]] = set()
        self._unopened: list[int] = []  # received, not yet acknowledged to the supervisor
        self._retry: asyncio.TimerHandle | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """Start the app (lifespan) without a listening socket, then take connections."""
        await super().startup(sockets=[])
        config, loop = self.config, asyncio.get_running_loop()

        def create_protocol() -> asyncio.Protocol:  # as uvicorn builds it for its servers
            return config.http_protocol_class(  # type: ignore[call-arg]
                config=config, server_state=self.server_state, app_state=self.lifespan.state)

        self.channel.setblocking(False)
        loop.add_reader(self.channel.fileno(), self._receive, loop, create_protocol)
        try:
            self.channel.send(READY)
        except OSError:  # the supervisor has gone
            self.should_exit = True

    def _receive(self, loop: asyncio.AbstractEventLoop,
                 create_protocol: Callable[[], asyncio.Protocol]) -> None:
        while True:
            try:
                message, fds, _flags, _address = socket.recv_fds(
                    self.channel, 16, _FDS_PER_MESSAGE)
            except BlockingIOError:
                return
            except OSError:
                message, fds = b"", []
            if not message:  # the supervisor has gone: finish what is in flight and stop
                loop.remove_reader(self.channel.fileno())
                self.should_exit = True
                return
            self._unopened.extend(fds)
            self._acknowledge(loop, create_protocol)

    def _acknowledge(self, loop: asyncio.AbstractEventLoop,
                     create_protocol: Callable[[], asyncio.Protocol]) -> None:
        """Tell the supervisor which connections have arrived, then open them.

        In that order: the supervisor keeps its copy of a connection until told, to give
        it to another worker if this one dies first, so nothing may have been read from
        a connection it has not been told about.
        """
        if not self._unopened:
            return
        try:
            self.channel.send(b"%s %d" % (GOT, len(self._unopened)))
        except BlockingIOError:  # its queue is full for now: say it again shortly
            if self._retry is None:
                self._retry = loop.call_later(0.05, self._acknowledge_again, loop,
                                              create_protocol)
            return
        except OSError:  # the supervisor has gone: nobody else will serve them
            pass
        fds, self._unopened = self._unopened, []
        for fd in fds:
            task = loop.create_task(self._open(loop, create_protocol, fd))
            self._opening.add(task)
            task.add_done_callback(self._opening.discard)

    def _acknowledge_again(self, loop: asyncio.AbstractEventLoop,
                           create_protocol: Callable[[], asyncio.Protocol]) -> None:
        self._retry = None
        self._acknowledge(loop, create_protocol)

    @staticmethod
    async def _open(loop: asyncio.AbstractEventLoop,
                    create_protocol: Callable[[], asyncio.Protocol], fd: int) -> None:
        connection = socket.socket(fileno=fd)
        try:
            await loop.connect_accepted_socket(create_protocol, connection)
        except OSError:  # the loop could not take the socket: the client sees it closed
            connection.close()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """Take no more connections, then uvicorn's graceful shutdown."""
        if self.channel.fileno() != -1:
            asyncio.get_running_loop().remove_reader(self.channel.fileno())
            self.channel.close()
        await super().shutdown(sockets=sockets)


def run_worker(options: dict[str, Any], channel: socket.socket) -> None:
    """One worker process: the app from `api.commands.worker_app`, connections from
    `channel`."""
    config = uvicorn.Config("api.commands:worker_app", factory=True, **options)
    # Ctrl-C reaches every process: uvicorn shuts down, then re-raises it; exit quietly.
    with contextlib.suppress(KeyboardInterrupt):
        HandoffServer(config, channel).run()


@dataclass
class _Worker:
    """One worker slot of the supervisor."""

    process: Any = None  # None while a replacement waits for its back-off
    replacement: bool = False  # not the slot's first start
    taking: bool = False  # has said it is ready, so gets connections
    backoff: float = 0.0
    restart_at: float = 0.0


def supervise_workers(workers: int, options: dict[str, Any], *,
                      target: Callable[[dict[str, Any], socket.socket], None] = run_worker
                      ) -> int:
    """Listen on options' host and port, run `workers` server processes until SIGINT or
    SIGTERM, and replace one that dies.

    A slot whose first worker dies before it was ready (the app could not start: a
    configuration fault) stops the whole service. A replacement that dies before it was
    ready is tried again after a back-off (1 s, doubling to a minute), while the other
    workers go on serving. Returns the exit code.

    Args:
        target: What each worker process runs (tests give a stand-in).

    Raises:
        ListenError: If the port cannot be listened on.
    """
    host, port = options["host"], options["port"]
    dispatcher = ConnectionDispatcher(listening_socket(host, port), workers)
    console.print(f"starting {workers} workers; OpenAPI page: http://{host}:{port}/docs")
    context = multiprocessing.get_context("spawn")
    stop_requested: list[int] = []  # a plain list: a signal handler must not take locks
    slots = [_Worker() for _ in range(workers)]

    def start(slot: int) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        dispatcher.attach(slot, ours)
        process = context.Process(target=target, args=(options, theirs), daemon=False)
        try:
            process.start()
        finally:
            theirs.close()  # the worker has its own copy
        slots[slot].process, slots[slot].taking = process, False

    def stop(signum: int, _frame: Any) -> None:
        stop_requested.append(signum)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    code = 0
    try:
        for slot in range(workers):
            start(slot)
        dispatcher.start()
        while not stop_requested and not code:
            time.sleep(0.5)
            for slot, worker in enumerate(slots):
                if stop_requested:  # workers exiting on the same Ctrl-C are not replaced
                    break
                if worker.process is None:
                    if time.monotonic() >= worker.restart_at:
                        start(slot)
                    continue
                if not worker.taking and dispatcher.came_up(slot):
                    worker.taking, worker.backoff = True, 0.0
                    console.print(f"worker {worker.process.pid} is taking connections")
                if worker.process.is_alive():
                    continue
                pid, exitcode = worker.process.pid, worker.process.exitcode
                came_up = worker.taking or dispatcher.came_up(slot)
                dispatcher.detach(slot)
                if not came_up and not worker.replacement:
                    console.print(f"[red]worker {pid} exited at start-up (code {exitcode})[/red]")
                    code = 1
                    break
                worker.replacement = True
                if came_up:
                    console.print(f"worker {pid} exited (code {exitcode}); starting another")
                    start(slot)
                    continue
                worker.backoff = min(max(2 * worker.backoff, 1.0), _MAX_BACKOFF_SECONDS)
                worker.process, worker.restart_at = None, time.monotonic() + worker.backoff
                console.print(f"[red]worker {pid} exited before it was ready (code {exitcode})"
                              f"; trying again in {worker.backoff:.0f} s[/red]")
    finally:
        dispatcher.stop()  # no new connections; a worker's channel closing tells it to stop
        running = [worker.process for worker in slots if worker.process is not None]
        for process in running:
            if process.is_alive():
                process.terminate()  # SIGTERM: uvicorn finishes the requests in flight
        for process in running:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return code
