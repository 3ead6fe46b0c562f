"""Prometheus metrics: request counts and latencies by route template, scores by band,
cases per batch.

``GET /metrics`` needs no API key. It carries only counts, latencies, bands and
the model version (no referral ids, no case data, no user names), scrapers
rarely hold API keys, and the endpoint should be reachable when auth or the
database is failing, which is when it matters most. Keep it off the public
network at the ingress instead.

With several server processes (`safeguard serve --workers N`), each process
writes its counts to files in the folder `PROMETHEUS_MULTIPROC_DIR` names, and
a scrape of any worker adds up all of them (prometheus_client's multiprocess
mode): the model gauges report the lowest and highest over the live workers.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable

from fastapi import APIRouter, Request, Response
from fastapi.routing import iter_route_contexts
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.settings import MULTIPROCESS_METRICS_ENV

router = APIRouter(tags=["operations"])

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """The metrics of one application, in a registry of its own."""

    def __init__(self) -> None:
        self._serving: tuple[str, str] | None = None
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "safeguard_http_requests_total",
            "HTTP requests by method, route template and status.",
            ("method", "route", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "safeguard_http_request_duration_seconds",
            "HTTP request latency by method and route template.",
            ("method", "route"),
            buckets=_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.scores = Counter(
            "safeguard_scores_total",
            "Referrals scored, by band and RAG.",
            ("band", "rag"),
            registry=self.registry,
        )
        self.batch_cases = Histogram(
            "safeguard_score_batch_cases",
            "Single-case score requests handled together as one batch (one model call "
            "unless it fails, one audit transaction); requests that arrive while a batch "
            "runs form the next one.",
            buckets=(1, 2, 4, 8, 16),
            registry=self.registry,
        )
        # A gauge rather than an Info (Info does not work across processes); it is
        # exposed the same way: safeguard_model_info{name,version} 1.
        self.model = Gauge(
            "safeguard_model_info",
            "The model serving scores (1 for the name and version in use).",
            ("name", "version"),
            registry=self.registry,
            multiprocess_mode="livemax",
        )
        self.model_ready = Gauge(
            "safeguard_model_ready",
            "1 when a model passed its checks at start-up and is serving, 0 otherwise "
            "(with several workers, 1 only when every live worker is serving).",
            registry=self.registry,
            multiprocess_mode="livemin",
        )

    @property
    def multiprocess(self) -> bool:
        """Whether counts are shared with other worker processes through files."""
        return bool(os.environ.get(MULTIPROCESS_METRICS_ENV))

    def set_model(self, name: str, version: str, *, ready: bool = True,
                  bands: Iterable[tuple[str, str]] = ()) -> None:
        """Record which model is serving (the one it replaced, if any, drops to 0), and
        whether it can score. Its ``bands`` ((band, RAG) pairs) are counted from 0 at once:
        a quiet service then shows each band's series before its first score, and a rate
        or an alert on a band's count does not wait for that band to be seen."""
        if self._serving is not None:  # (clearing is not shared between processes)
            self.model.labels(*self._serving).set(0)
        self._serving = (name, version)
        self.model.labels(name=name, version=version).set(1)
        self.model_ready.set(1 if ready else 0)
        for band, rag in bands:
            self.scores.labels(band=band, rag=rag)

    def exposition(self) -> bytes:
        """The Prometheus text of this process, or of every worker in multiprocess mode."""
        if not self.multiprocess:
            return generate_latest(self.registry)
        combined = CollectorRegistry()
        multiprocess.MultiProcessCollector(combined)
        return generate_latest(combined)

    def process_ended(self) -> None:
        """Drop this process's live gauges from the shared files (at shutdown)."""
        if self.multiprocess:
            multiprocess.mark_process_dead(os.getpid())

    def count_scores(self, bands: Iterable[tuple[str, str]]) -> None:
        """Count scored referrals by (band, rag)."""
        for band, rag in bands:
            self.scores.labels(band=band, rag=rag).inc()


class MetricsMiddleware:
    """Time every HTTP request and count it by route template (never the raw path)."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        start = time.perf_counter()

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            route = getattr(scope.get("route"), "path_format", None) or _template(scope)
            method = scope.get("method", "GET")
            self.metrics.latency.labels(method, route).observe(time.perf_counter() - start)
            self.metrics.requests.labels(method, route, str(status)).inc()


def _template(scope: Scope) -> str:
    """The route template of a request refused before routing (413, 415 by the body's
    rules), or "unmatched" for a path no route has."""
    app, path = scope.get("app"), scope.get("path", "")
    # The routes of included routers too (FastAPI nests them): each with its whole path.
    for route in iter_route_contexts(getattr(app, "routes", ())):
        regex, template = getattr(route, "path_regex", None), route.path_format
        if regex is not None and template and regex.match(path):
            return str(template)
    return "unmatched"


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """Prometheus text exposition (no auth: see the module docstring)."""
    return Response(request.app.state.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
