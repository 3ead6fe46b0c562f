"""Several server processes behind one port (`safeguard serve --workers N`).

The supervisor (the `serve` process) listens on the port itself and hands each
accepted connection to the workers in turn, over a Unix socket per worker
(SCM_RIGHTS). Each worker serves the connections it is given with uvicorn.

Why not let the kernel spread them: with one socket shared by the workers, whichever
worker woke first accepted nearly every connection (7 of 8 under the bench); with a
SO_REUSEPORT socket per worker the kernel spreads connections by a hash of their
ports, so 8 keep-alive connections landed 6 and 2 on two workers in about a quarter
of runs, and the busier worker's clients waited three times as long. Handed over in
turn, 8 connections are always 4 and 4.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import multiprocessing
import select
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import uvicorn
from rich.console import Console

console = Console()

_FDS_PER_MESSAGE = 64
READY = b"ready"  # what a worker sends on its channel once it can serve
_PEER_GONE = frozenset({errno.EPIPE, errno.ECONNRESET, errno.ECONNREFUSED, errno.ENOTCONN})
_MAX_BACKOFF_SECONDS = 60.0


class ListenError(Exception):
    """The service cannot listen where it was asked to (the message says where and why)."""


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket listening on host:port (the first address the host resolves to).

    The protocol is named (IPPROTO_TCP, not 0): asyncio's own loop turns Nagle off
    (TCP_NODELAY) only on accepted sockets whose protocol says TCP, and without it a
    response body written after its headers waited for the client's delayed ACK, 40 ms
    per request. (uvloop, which `serve` uses, turns it off on every TCP connection.)

    Raises:
        ListenError: If the host does not resolve or the address cannot be bound
            (another program holds the port, say).
    """
    try:
        family, _, _, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP,
            flags=socket.AI_PASSIVE)[0]
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    except OSError as exc:
        raise ListenError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise ListenError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    return sock


class ConnectionDispatcher:
    """Accepts connections on a listening socket and hands them to workers in turn.

    Each worker has a slot holding the supervisor's end of its handoff channel (a
    SOCK_SEQPACKET Unix socket). A worker gets connections only once it has said
    `READY` on its channel (its app started, its model loaded and checked), so a
    worker that is restarting is passed over; while no worker is ready, connections
    wait in the listening socket's queue. A channel that cannot take a connection (its
    worker has died, or is so far behind that its queue is full) is skipped and the
    next ready worker gets it. When every ready worker's queue is full, the dispatcher
    waits for room (up to `patience` seconds) and accepts nothing meanwhile, so new
    clients wait in the listening queue; only when no worker is left, or none makes
    room in time, is the connection closed, and the client can retry.
    """

    def __init__(self, listener: socket.socket, slots: int, *, patience: float = 30.0
                 ) -> None:
        self.listener = listener
        self.patience = patience
        self._channels: list[socket.socket | None] = [None] * slots
        self._ready = [False] * slots
        self._came_up = [False] * slots  # ready at least once since attached
        self._lock = threading.Lock()
        self._turn = 0
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def attach(self, slot: int, channel: socket.socket) -> None:
        """Give a worker's slot a new channel (closing the one it replaces); the slot
        gets connections once the worker says it is ready."""
        channel.setblocking(False)
        with self._lock:
            old, self._channels[slot] = self._channels[slot], channel
            self._ready[slot] = self._came_up[slot] = False
        if old is not None:
            old.close()

    def detach(self, slot: int) -> None:
        """Close a slot's channel (its worker has gone); it gets nothing until `attach`."""
        with self._lock:
            old, self._channels[slot] = self._channels[slot], None
            self._ready[slot] = False
        if old is not None:
            old.close()

    def start(self) -> None:
        """Accept and hand over connections on a background thread until `stop`."""
        self.listener.settimeout(0.5)  # so the thread sees `stop` within half a second
        self._thread = threading.Thread(target=self._accept_loop, name="dispatcher",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting, close the listening socket and every channel."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.listener.close()
        with self._lock:
            channels, self._channels = self._channels, [None] * len(self._channels)
            self._ready = [False] * len(self._channels)
        for channel in channels:
            if channel is not None:
                channel.close()

    def note_readiness(self) -> bool:
        """Read the ready messages workers have sent; whether any worker is ready."""
        with self._lock:
            for slot, channel in enumerate(self._channels):
                if channel is None or self._ready[slot]:
                    continue
                try:
                    self._ready[slot] = channel.recv(16) == READY
                except OSError:  # nothing yet (BlockingIOError), or the worker has gone
                    continue
                self._came_up[slot] = self._came_up[slot] or self._ready[slot]
            return any(self._ready)

    def came_up(self, slot: int) -> bool:
        """Whether the slot's current worker has said it is ready."""
        self.note_readiness()
        with self._lock:
            return self._came_up[slot]

    def hand_over(self, connection: socket.socket) -> bool:
        """Pass one accepted connection to the next ready worker that can take it."""
        with self._lock:
            for _ in range(len(self._channels)):
                slot = self._turn
                self._turn = (self._turn + 1) % len(self._channels)
                channel = self._channels[slot]
                if channel is None or not self._ready[slot]:
                    continue
                try:
                    socket.send_fds(channel, [b"c"], [connection.fileno()])
                except OSError as exc:
                    if exc.errno in _PEER_GONE:  # no more for it until it is replaced
                        self._ready[slot] = False
                    continue  # gone, far behind (queue full) or short of buffers: next one
                return True
        return False

    def _wait_for_room(self, deadline: float) -> bool:
        """Wait (until `deadline` at most, half a second at a time) for a ready worker's
        channel to have room; False at once when no worker is ready to wait for."""
        self.note_readiness()
        with self._lock:
            channels = [channel for channel, ready in zip(self._channels, self._ready,
                                                          strict=True)
                        if channel is not None and ready]
        if not channels:
            return False
        room = select.poll()  # (not select.select: it cannot watch descriptors past 1023)
        with contextlib.suppress(OSError, ValueError):  # a channel closed meanwhile: look again
            for channel in channels:
                room.register(channel, select.POLLOUT)
            room.poll(max(0, min(500, int((deadline - time.monotonic()) * 1000))))
        return True

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            if not self.note_readiness():
                self._stopping.wait(0.05)  # connections wait in the listening queue
                continue
            try:
                connection, _address = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:  # the listener closed under us, or a client gave up
                if self._stopping.is_set():
                    return
                continue
            with connection:  # the worker holds its own copy once the fd is sent
                deadline = time.monotonic() + self.patience
                while not self.hand_over(connection):
                    if (self._stopping.is_set() or time.monotonic() >= deadline
                            or not self._wait_for_room(deadline)):
                        break  # nobody can take it: the client sees it closed


class HandoffServer(uvicorn.Server):
    """uvicorn serving the connections the supervisor hands over on `channel`."""

    def __init__(self, config: uvicorn.Config, channel: socket.socket) -> None:
        super().__init__(config)
        self.channel = channel
        self._opening: set[asyncio.Task[Any]] = set()

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
            for fd in fds:
                task = loop.create_task(self._open(loop, create_protocol, fd))
                self._opening.add(task)
                task.add_done_callback(self._opening.discard)

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
