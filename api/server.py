"""`safeguard serve`: gunicorn runs the worker processes, each a uvicorn server of the app.

gunicorn's arbiter starts `--workers` processes, replaces one that exits, replaces one
whose event loop has not checked in for `--timeout` seconds (a hung worker: the uvicorn
worker checks in from the loop itself, so a blocked loop stops the heartbeat), and on
SIGTERM or Ctrl-C stops taking connections and lets the requests in flight finish. Each
worker builds the app itself (`api.service.worker_app`): it loads and checks the model.

This process listens on the port itself and hands the socket to gunicorn, so a port that
is taken is a one-line error rather than gunicorn's five retries.
"""

from __future__ import annotations

import gc
import os
import signal
import socket
import tempfile
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

import typer

from data_contracts.cli import fail

if TYPE_CHECKING:
    from fastapi import FastAPI

    from api.settings import Settings

# New containers between the garbage collector's young passes in a serving process.
GC_YOUNG_THRESHOLD = 10_000
# How long a worker may take to load and check its model before it counts as hung.
START_SECONDS = 600.0
# How long a stopping worker may take to finish its requests before it is killed.
GRACEFUL_SECONDS = 30


class ListenError(Exception):
    """The service cannot listen where it was asked to (the message says where and why)."""


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket listening on host:port (the first address the host resolves to).

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
    sock.set_inheritable(True)
    return sock


def port_refusal(host: str, port: int) -> str | None:
    """Why the service could not listen on host:port, or None when it could (the socket is
    closed again at once). `make demo` asks before it resets or trains anything."""
    try:
        listening_socket(host, port).close()
    except ListenError as exc:
        return str(exc)
    return None


def tune_gc_for_serving() -> None:
    """Once per worker, after its app (and model) is loaded.

    Everything loaded so far lives as long as the process: take it out of the garbage
    collector's full passes, which otherwise walk ~440k objects and stall a request for
    a quarter of a second. A case arrives as hundreds of record dicts that live until
    its batch is scored; collecting every 700 new containers (the default) walked them
    again and again: about 0.04 ms a request, measured; cycles are rare here.
    """
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])


def _check_in_until(loaded: threading.Event, notify: Callable[[], None]) -> None:
    """Tell the arbiter this worker is alive once a second until `loaded` is set, for at
    most `START_SECONDS`."""
    for _ in range(int(START_SECONDS)):
        if loaded.wait(1.0):
            return
        notify()


def _worker_class() -> type:
    from uvicorn_worker import UvicornWorker

    from api.http_limits import LimitedHttpToolsProtocol

    class ServiceWorker(UvicornWorker):  # type: ignore[misc]
        """uvicorn in a gunicorn worker, with the C event loop and HTTP parser."""

        # uvloop and httptools: with asyncio's loop and the pure-Python h11 parser the
        # bench served 341 requests per second instead of 366.
        # The protocol is uvicorn's httptools one with limits on request heads
        # (`api.http_limits`): gunicorn's limit_request_* settings do not reach it.
        CONFIG_KWARGS = {"loop": "uvloop", "http": LimitedHttpToolsProtocol}
        orphaned = False  # its arbiter is gone, and it is stopping (`callback_notify`)

        def load_wsgi(self) -> None:
            """Build the app, checking in with the arbiter meanwhile (a model takes
            seconds to load and check; the event loop that normally checks in has not
            started yet), for at most `START_SECONDS`."""
            loaded = threading.Event()
            threading.Thread(target=_check_in_until, args=(loaded, self.notify),
                             name="check-in", daemon=True).start()
            try:
                super().load_wsgi()
            finally:
                loaded.set()

        async def callback_notify(self) -> None:
            """Check in with the arbiter, and stop (finishing the requests in flight) once
            it is gone: gunicorn's own workers do, uvicorn's did not, and a worker left
            by a killed arbiter served on with no one to replace it, holding the port."""
            self.notify()
            if self.orphaned or os.getppid() == self.ppid:
                return
            self.log.warning("the arbiter (pid %d) is gone: worker %d stops", self.ppid,
                             os.getpid())
            self.orphaned = True  # once: uvicorn's SIGTERM handler drains and exits
            os.kill(os.getpid(), signal.SIGTERM)

    return ServiceWorker


def _worker_forked(_arbiter: Any, _worker: Any) -> None:
    """Count in the shared files, even if this process imported prometheus_client before
    `serve` named the folder (it picks its way of counting once, at import)."""
    from prometheus_client import values

    values.ValueClass = values.get_value_class()


def _worker_started(_worker: Any) -> None:
    tune_gc_for_serving()


def _worker_exited(_arbiter: Any, worker: Any) -> None:
    """Drop a dead worker's live gauges from the shared metrics files."""
    from api.settings import MULTIPROCESS_METRICS_ENV

    if os.environ.get(MULTIPROCESS_METRICS_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def gunicorn_options(sock: socket.socket, *, workers: int, timeout: int, access_log: bool
                     ) -> dict[str, Any]:
    """gunicorn's settings for the service, serving the already listening `sock` (gunicorn
    takes it over, and closes it)."""
    return {
        "bind": [f"fd://{sock.detach()}"],
        "workers": workers,
        "worker_class": _worker_class(),
        "timeout": timeout,
        "graceful_timeout": GRACEFUL_SECONDS,
        "keepalive": 5,
        "accesslog": "-" if access_log else None,
        "errorlog": "-",
        "loglevel": "info",
        "control_socket_disable": True,  # one path per user: several services would clash
        "post_fork": _worker_forked,
        "post_worker_init": _worker_started,
        "child_exit": _worker_exited,
    }


def run_gunicorn(options: dict[str, Any]) -> int:
    """Run gunicorn's arbiter with `options` until it stops; its exit code."""
    from gunicorn.app.base import BaseApplication

    class Service(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> FastAPI:
            from api.service import worker_app

            return worker_app()

    try:
        Service().run()
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 1
    return 0


def _check_audit_anchor(settings: Settings) -> None:
    """A missing or unreadable audit key is one line here, not a traceback per worker."""
    from api.audit_key import AuditAnchor, AuditAnchorError

    try:
        AuditAnchor.from_settings(settings)
    except AuditAnchorError as exc:
        fail(str(exc))


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(
        help="Server processes. Each scores on one core and loads its own copy of the model; "
             "use one per core.", min=1, max=32)] = 1,
    timeout: Annotated[int, typer.Option(
        help="Seconds a worker may go without its event loop checking in before it is "
             "replaced (a hung worker).", min=2, max=3600)] = 30,
    access_log: Annotated[
        bool, typer.Option(help="Log every request line (paths only, never bodies).")
    ] = False,
) -> None:
    """Serve the API: migrate, then each worker loads the model by alias, and listens.

    A worker whose model does not load is not ready (/readyz) until it does."""
    from api.admin import migrate
    from api.settings import MULTIPROCESS_METRICS_ENV, Settings

    settings = Settings()
    _check_audit_anchor(settings)
    try:
        sock = listening_socket(host, port)
    except ListenError as exc:
        fail(str(exc))
    migrate(settings.database_url)
    typer.echo(f"starting {workers} worker(s); OpenAPI page: http://{host}:{port}/docs")
    with tempfile.TemporaryDirectory(prefix="safeguard-metrics-") as metrics_dir:
        os.environ[MULTIPROCESS_METRICS_ENV] = metrics_dir  # /metrics adds the files up
        try:
            code = run_gunicorn(gunicorn_options(
                sock, workers=workers, timeout=timeout, access_log=access_log))
        finally:
            os.environ.pop(MULTIPROCESS_METRICS_ENV, None)
    if code:
        fail("a worker could not start; see its messages above")
