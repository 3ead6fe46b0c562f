"""Hands the connections the `serve` process accepts to its worker processes, in turn.

Each worker has a channel (a SOCK_SEQPACKET Unix socket) over which the dispatcher
passes it accepted connections (SCM_RIGHTS). Why not let the kernel spread them: with
one socket shared by the workers, whichever worker woke first accepted nearly every
connection (7 of 8 under the bench); with a SO_REUSEPORT socket per worker the kernel
spreads connections by a hash of their ports, so 8 keep-alive connections landed 6 and
2 on two workers in about a quarter of runs, and the busier worker's clients waited
three times as long. Handed over in turn, 8 connections are always 4 and 4.

The dispatcher keeps its own copy of a connection until the worker says it has it
(`GOT`). A worker that dies with connections still queued on its channel would
otherwise take them with it and their clients would be reset; instead they go to the
next ready worker. A worker says `GOT` before it opens a connection, so one it has said
nothing about is untouched and can be served by another.
"""

from __future__ import annotations

import errno
import select
import socket
import threading
import time
from collections import deque

READY = b"ready"  # what a worker sends on its channel once it can serve
GOT = b"got"  # what a worker sends once it has received connections: b"got 2"
_MESSAGE_BYTES = 64
_PEER_GONE = frozenset({errno.EPIPE, errno.ECONNRESET, errno.ECONNREFUSED, errno.ENOTCONN})
_GONE_FLAGS = select.POLLIN | select.POLLHUP | select.POLLERR
_OUT_OF_DESCRIPTORS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
_OUT_OF_DESCRIPTORS_PAUSE = 0.1
_IDLE_POLL_MS = 500  # how soon `stop` is noticed
_WAITING_POLL_MS = 20  # how often a waiting connection is offered again


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

    A worker gets connections only once it has said `READY` (its app started, its model
    loaded and checked); while no worker is ready, new connections wait in the
    listening socket's queue. A channel that cannot take a connection (its worker has
    died, or is so far behind that its queue is full) is skipped and the next ready
    worker gets it. A connection that no worker can take waits (and nothing new is
    accepted meanwhile) for up to `patience` seconds, then is closed and the client can
    retry. So does a connection taken back from a worker that died before receiving it.
    """

    def __init__(self, listener: socket.socket, slots: int, *, patience: float = 30.0
                 ) -> None:
        self.listener = listener
        self.patience = patience
        self._channels: list[socket.socket | None] = [None] * slots
        self._ready = [False] * slots
        self._came_up = [False] * slots  # ready at least once since attached
        self._sent: list[deque[socket.socket]] = [deque() for _ in range(slots)]
        self._waiting: deque[tuple[socket.socket, float]] = deque()  # (connection, deadline)
        self._lock = threading.Lock()
        self._turn = 0
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._accept_after = 0.0  # accepting pauses while the process is out of descriptors

    def attach(self, slot: int, channel: socket.socket) -> None:
        """Give a worker's slot a new channel (closing the one it replaces, whose worker
        must have exited: what it never received goes to the others); the slot gets
        connections once the worker says it is ready."""
        channel.setblocking(False)
        with self._lock:
            self._release(slot)
            self._channels[slot] = channel
            self._came_up[slot] = False

    def detach(self, slot: int) -> None:
        """Close a slot's channel once its worker has exited (a live one would still
        receive what is queued for it, which goes to the others). The slot gets nothing
        more until `attach`."""
        with self._lock:
            self._release(slot)

    def came_up(self, slot: int) -> bool:
        """Whether the slot's current worker has said it is ready."""
        with self._lock:
            return self._came_up[slot]

    def start(self) -> None:
        """Accept and hand over connections on a background thread until `stop`."""
        self.listener.setblocking(False)
        self._thread = threading.Thread(target=self._run, name="dispatcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop accepting; close the listening socket, every channel and every
        connection no worker has taken."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.listener.close()
        with self._lock:
            for slot in range(len(self._channels)):
                self._release(slot)
            while self._waiting:
                self._waiting.popleft()[0].close()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._serve_once()

    def _serve_once(self) -> None:
        """Wait for a message from a worker or a new connection (or a moment, while a
        connection waits for room), and deal with what came."""
        poller = select.poll()  # (not select.select: it cannot watch descriptors past 1023)
        with self._lock:
            channels = {channel.fileno(): slot for slot, channel in enumerate(self._channels)
                        if channel is not None}
            paused = time.monotonic() < self._accept_after
            accepting = any(self._ready) and not self._waiting and not paused
            soon = bool(self._waiting) or paused  # something to retry shortly
        for fd in channels:
            poller.register(fd, select.POLLIN)
        if accepting:
            poller.register(self.listener, select.POLLIN)
        try:
            events = poller.poll(_WAITING_POLL_MS if soon else _IDLE_POLL_MS)
        except InterruptedError:
            return
        listener = self.listener.fileno()
        with self._lock:
            for fd, flags in events:
                slot = channels.get(fd)
                if slot is None or not flags & _GONE_FLAGS:
                    continue
                channel = self._channels[slot]
                if channel is not None and channel.fileno() == fd and not self._read(slot):
                    self._release(slot)
            if any(fd == listener for fd, _ in events):
                self._accept()
            self._offer_waiting()

    def _read(self, slot: int) -> bool:
        """Take in what a worker has said; False once its end has closed (it has gone).
        The caller holds the lock."""
        channel = self._channels[slot]
        assert channel is not None
        while True:
            try:
                message = channel.recv(_MESSAGE_BYTES)
            except BlockingIOError:
                return True
            except OSError:
                return False
            if not message:
                return False
            if message == READY:
                self._ready[slot] = self._came_up[slot] = True
            elif message.startswith(GOT):
                count = message[len(GOT):].strip()
                for _ in range(int(count) if count.isdigit() else 0):
                    if self._sent[slot]:
                        self._sent[slot].popleft().close()  # the worker has its own copy

    def _release(self, slot: int) -> None:
        """Close a slot's channel; the connections sent on it that its worker never said
        it received wait for another worker. The caller holds the lock."""
        channel = self._channels[slot]
        if channel is not None:
            self._read(slot)  # what it said before it went
            channel.close()
        self._channels[slot], self._ready[slot] = None, False
        deadline = time.monotonic() + self.patience
        while self._sent[slot]:
            self._waiting.append((self._sent[slot].popleft(), deadline))

    def _accept(self) -> None:
        """Accept what the listening queue holds, while workers take it. The caller holds
        the lock."""
        while not self._waiting and any(self._ready):
            try:
                connection, _address = self.listener.accept()
            except OSError as exc:  # nothing left (BlockingIOError), or a client gave up
                if exc.errno in _OUT_OF_DESCRIPTORS:  # the queue stays readable: no spinning
                    self._accept_after = time.monotonic() + _OUT_OF_DESCRIPTORS_PAUSE
                return
            if not self._hand_over(connection):
                self._waiting.append((connection, time.monotonic() + self.patience))

    def _offer_waiting(self) -> None:
        """Hand over the connections waiting for room, in order; close those that have
        waited too long. The caller holds the lock."""
        while self._waiting:
            connection, deadline = self._waiting[0]
            if self._hand_over(connection):
                self._waiting.popleft()
            elif time.monotonic() >= deadline:
                self._waiting.popleft()
                connection.close()  # nobody could take it: the client sees it closed
            else:
                return

    def _hand_over(self, connection: socket.socket) -> bool:
        """Pass a connection to the next ready worker that can take it. The caller holds
        the lock."""
        for _ in range(len(self._channels)):
            slot = self._turn
            self._turn = (self._turn + 1) % len(self._channels)
            channel = self._channels[slot]
            if channel is None or not self._ready[slot]:
                continue
            try:
                socket.send_fds(channel, [b"c"], [connection.fileno()])
            except OSError as exc:
                if exc.errno in _PEER_GONE:  # it has gone: take back what it never received
                    self._release(slot)
                continue  # gone, far behind (queue full) or short of buffers: next one
            self._sent[slot].append(connection)
            return True
        return False
