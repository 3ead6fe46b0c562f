"""`safeguard serve --workers N`: connections handed to the workers in turn, a worker that
cannot start, and two real workers scoring into one database and one audit chain."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from api.audit import verify_chain
from api.dispatch import GOT, READY, ConnectionDispatcher, listening_socket
from api.store import AuditEntry, Store, init_db
from api.workers import supervise_workers
from tests.api import stand_in_worker
from tests.api.conftest import TEST_PEPPER, TrainedModel, issue_keys, make_settings

SAFEGUARD = Path(sys.executable).with_name("safeguard")
REQUESTS = 24


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _call(url: str, *, body: dict[str, Any] | None = None, key: str = "") -> tuple[int, str]:
    request = urllib.request.Request(
        url, data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _until(condition: Callable[[], bool], server: subprocess.Popen[bytes], log: Path, *,
           seconds: float = 180) -> None:
    """Wait for `condition` while the service runs; fail with its log if it stops or
    `seconds` pass first."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert server.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.2)


def _ready(base: str) -> bool:
    try:
        return _call(f"{base}/readyz")[0] == 200
    except OSError:
        return False


def _answer_until_closed(port: int) -> bytes:
    """What the server sends for a request that asks it to close the connection, read
    until the client sees the end (a copy of the connection left open anywhere in the
    service, the supervisor's say, would hold it open and this would time out)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        client.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        chunks = []
        while chunk := client.recv(4096):
            chunks.append(chunk)
    return b"".join(chunks)


def _sample(text: str, name: str) -> float:
    return sum(float(value) for value in re.findall(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text,
                                                    flags=re.MULTILINE))


def _service_starts(url: str) -> list[int]:
    """The process ids of the workers that have started, from their audit entries."""
    store = Store(url)
    with store.session() as session:
        pids = [entry.details["pid"] for entry in session.scalars(
            select(AuditEntry).where(AuditEntry.action == "service_start"))]
    store.dispose()
    return pids


def test_two_workers_score_into_one_chain_and_a_worker_that_dies_is_replaced(
    trained_model: TrainedModel, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'api.db'}"
    init_db(url)
    settings = make_settings(url, **trained_model.settings_overrides())
    keys, _ = issue_keys(settings)
    port = _free_port()
    env = {**os.environ,
           "SAFEGUARD_DATABASE_URL": url,
           "SAFEGUARD_MLFLOW_TRACKING_URI": trained_model.registry.tracking_uri,
           "SAFEGUARD_MLFLOW_ARTIFACT_ROOT": str(trained_model.registry.artifact_root),
           "SAFEGUARD_MODEL_NAME": trained_model.registry.model_name,
           "SAFEGUARD_API_KEY_PEPPER": TEST_PEPPER}
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [str(SAFEGUARD), "serve", "--port", str(port), "--workers", "2"],
            env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _until(lambda: _ready(base), server, log, seconds=240)
        payloads = [trained_model.loaded.golden[n % len(trained_model.loaded.golden)]["payload"]
                    for n in range(REQUESTS)]
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(
                lambda body: _call(f"{base}/v1/score", body=body, key=keys["triage"]), payloads))
        assert [status for status, _ in answers] == [200] * REQUESTS, answers[0][1]
        for _ in range(4):  # whichever worker answers, the counts are everyone's
            metrics = _call(f"{base}/metrics")[1]
            assert _sample(metrics, "safeguard_scores_total") == REQUESTS
            assert f'safeguard_model_info{{name="{trained_model.registry.model_name}"' in metrics
            assert re.search(r"^safeguard_model_ready 1\.0$", metrics, flags=re.MULTILINE)
        for _ in range(4):  # on both workers: each closes what it was handed, alone
            assert _answer_until_closed(port).startswith(b"HTTP/1.1 200")
        # Each worker loads and checks the model, and audits its start.
        _until(lambda: len(_service_starts(url)) >= 2, server, log)
        first = _service_starts(url)
        _until(lambda: f"worker {first[0]} is taking connections" in log.read_text(),
               server, log, seconds=60)
        os.kill(first[0], signal.SIGKILL)  # a worker dies: the other serves, a new one starts
        # The connections it had received die with it, as with any crash (those still
        # queued for it go to the other); wait until the supervisor has replaced it.
        _until(lambda: f"worker {first[0]} exited" in log.read_text(), server, log, seconds=60)
        answers = [_call(f"{base}/v1/score", body=payloads[0], key=keys["triage"])
                   for _ in range(4)]
        assert [status for status, _ in answers] == [200] * 4
        _until(lambda: len(_service_starts(url)) >= 3, server, log)
        assert len(_service_starts(url)) == 3
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(
                lambda body: _call(f"{base}/v1/score", body=body, key=keys["triage"]),
                payloads[:8]))
        assert [status for status, _ in answers] == [200] * 8
    finally:
        server.terminate()
        server.wait(timeout=60)
    assert server.returncode == 0, log.read_text()
    assert f"worker {first[0]} exited" in log.read_text()
    store = Store(url)
    with store.session() as session:
        assert verify_chain(session).ok
        entries = session.scalars(select(AuditEntry)).all()
    store.dispose()
    assert sum(e.action == "score" for e in entries) == REQUESTS + 4 + 8


def test_worker_sockets_turn_nagle_off_on_accepted_connections() -> None:
    """A response written as headers then body must not wait for the client's ACK.

    asyncio sets TCP_NODELAY only on accepted sockets whose protocol is TCP; a listening
    socket made with protocol 0 left Nagle on and cost 40 ms per request under load.
    """
    async def nodelay_of_an_accepted_connection() -> int:
        accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        class Probe(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                sock = transport.get_extra_info("socket")
                accepted.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
                transport.close()

        listening = listening_socket("127.0.0.1", _free_port())
        server = await asyncio.get_running_loop().create_server(Probe, sock=listening)
        try:
            port = listening.getsockname()[1]
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            value = await asyncio.wait_for(accepted, timeout=10)
            writer.close()
        finally:
            server.close()
            await server.wait_closed()
        return value

    assert asyncio.run(nodelay_of_an_accepted_connection()) != 0


def _received_connections(channel: socket.socket, *, expected: int) -> list[socket.socket]:
    """The connections a worker's end of a handoff channel receives (fewer if none come)."""
    channel.settimeout(2)
    received: list[socket.socket] = []
    while len(received) < expected:
        try:
            _, fds, _, _ = socket.recv_fds(channel, 16, 8)
        except TimeoutError:
            break
        received.extend(socket.socket(fileno=fd) for fd in fds)
    return received


@contextlib.contextmanager
def _dispatching(workers: int = 2, *, queue_bytes: int | None = None, patience: float = 30.0
                 ) -> Iterator[tuple[list[socket.socket], Callable[[], socket.socket]]]:
    """A running dispatcher with `workers` channels: yields the workers' ends of them and
    a function that connects a client. Everything is closed afterwards. `queue_bytes`
    shrinks each channel's send buffer, which bounds how many connections it queues."""
    pairs = [socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET) for _ in range(workers)]
    dispatcher = ConnectionDispatcher(listening_socket("127.0.0.1", 0), workers,
                                      patience=patience)
    for slot, (ours, _) in enumerate(pairs):
        if queue_bytes is not None:
            ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, queue_bytes)
        dispatcher.attach(slot, ours)
    dispatcher.start()
    address = dispatcher.listener.getsockname()
    opened = [theirs for _, theirs in pairs]

    def connect() -> socket.socket:
        opened.append(socket.create_connection(address))
        return opened[-1]

    try:
        yield [theirs for _, theirs in pairs], connect
    finally:
        dispatcher.stop()
        for sock in opened:
            sock.close()


def test_dispatcher_hands_connections_to_the_workers_in_turn() -> None:
    with _dispatching() as (workers, connect):
        for worker in workers:
            worker.send(READY)
        clients = [connect() for _ in range(8)]
        given = [_received_connections(worker, expected=4) for worker in workers]
        assert [len(connections) for connections in given] == [4, 4]
        client_ends = {client.getsockname() for client in clients}
        assert {c.getpeername() for connections in given for c in connections} == client_ends
        for connection in given[0] + given[1]:
            connection.close()


def test_dispatcher_skips_a_worker_that_has_gone_before_it_was_ready() -> None:
    with _dispatching() as ((alive, gone), connect):
        alive.send(READY)
        gone.close()  # that worker died before it was ready
        for _ in range(4):
            connect()
        assert len(_received_connections(alive, expected=4)) == 4


def test_connections_a_dead_worker_never_received_go_to_the_next_worker() -> None:
    with _dispatching() as ((dying, later), connect):
        dying.send(READY)
        clients = [connect() for _ in range(3)]
        time.sleep(0.5)  # queued on the dying worker's channel, never read
        dying.close()  # it dies
        clients.append(connect())  # no worker is up: a new client waits too
        for client in clients:
            client.sendall(b"ping")
        time.sleep(0.5)
        later.send(READY)  # a worker that comes up afterwards gets them all, untouched
        given = _received_connections(later, expected=4)
        assert {c.getpeername() for c in given} == {c.getsockname() for c in clients}
        for connection in given:
            connection.settimeout(5)
            assert connection.recv(4) == b"ping"
            connection.close()


def test_a_connection_a_worker_received_is_its_own_and_closes_when_it_closes_it() -> None:
    with _dispatching() as ((worker, other), connect):
        worker.send(READY)
        other.send(READY)
        client = connect()
        [connection] = _received_connections(worker, expected=1)
        worker.send(GOT + b" 1")  # as a worker says on receiving it
        time.sleep(0.5)
        worker.close()  # the worker dies: the connection it received is not handed on
        assert _received_connections(other, expected=1) == []
        connection.close()  # its last copy: the client sees the end
        client.settimeout(5)
        assert client.recv(1) == b""


def test_a_connection_nobody_takes_in_time_is_closed() -> None:
    with _dispatching(workers=1, patience=1.0) as ((worker,), connect):
        worker.send(READY)
        client = connect()
        time.sleep(0.5)  # sent on the channel
        worker.close()  # the only worker dies before receiving it
        client.settimeout(10)
        started = time.monotonic()
        assert client.recv(1) == b""  # closed once the patience ran out, not left hanging
        assert time.monotonic() - started < 5


def test_dispatcher_holds_a_burst_bigger_than_a_worker_queue_until_there_is_room() -> None:
    with _dispatching(workers=1, queue_bytes=1) as ((worker,), connect):  # the minimum
        worker.send(READY)
        clients = [connect() for _ in range(40)]  # the channel queues only a few
        time.sleep(0.5)  # the worker is busy: its queue fills and the dispatcher waits
        given = _received_connections(worker, expected=40)
        assert len(given) == 40, "a client was hung up on instead of waiting"
        assert {c.getpeername() for c in given} == {c.getsockname() for c in clients}
        for connection in given:
            connection.close()


def test_dispatcher_hands_connections_only_to_workers_that_are_ready() -> None:
    with _dispatching() as ((starting, up), connect):
        for _ in range(3):
            connect()
        assert _received_connections(up, expected=1) == []  # nobody ready: they wait
        up.send(READY)
        assert len(_received_connections(up, expected=3)) == 3
        starting.setblocking(False)
        with pytest.raises(BlockingIOError):  # the worker still starting got none
            socket.recv_fds(starting, 16, 8)


def test_supervisor_stops_when_a_worker_cannot_start() -> None:
    options = {"host": "127.0.0.1", "port": _free_port(), "http": "no_such_module:Protocol",
               "log_level": "critical"}
    started = time.monotonic()
    assert supervise_workers(2, options) == 1
    assert time.monotonic() - started < 60  # stopped, not restarted in a loop


def test_supervisor_retries_a_replacement_that_cannot_start_and_keeps_serving(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    starts = tmp_path / "starts"
    options = {"host": "127.0.0.1", "port": _free_port(), "starts": str(starts)}
    assert stand_in_worker.READY == READY

    finished = threading.Event()

    def stop_after_two_retries() -> None:  # the first start and two failed replacements
        deadline = time.monotonic() + 120
        while not finished.is_set() and time.monotonic() < deadline and (
                not starts.exists() or len(starts.read_text().splitlines()) < 3):
            time.sleep(0.1)
        time.sleep(1.0)  # for the supervisor to see the last one die
        if not finished.is_set():  # (never signal pytest itself once the handler is gone)
            os.kill(os.getpid(), signal.SIGTERM)

    stopper = threading.Thread(target=stop_after_two_retries, daemon=True)
    stopper.start()
    try:
        code = supervise_workers(1, options, target=stand_in_worker.come_up_once)
    finally:
        finished.set()
    stopper.join()
    output = capsys.readouterr().out
    assert code == 0, output  # stopped by SIGTERM, not by the failed replacements
    assert "exited (code 3); starting another" in output
    retries = re.findall(r"exited before it was ready \(code 2\); trying again in (\d+) s", output)
    assert retries[:2] == ["1", "2"], output  # backing off, not restarting in a loop
