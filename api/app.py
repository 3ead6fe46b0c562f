"""The FastAPI application: `create_app(settings, scorer)`.

Routes live under `/v1` (plus `/healthz`, `/readyz`, `/metrics`, and the API's
documentation page `/docs`, served from the service's own files); the web pages
for people (`api.web`) are served beside them. The model is
reached only through the `Scorer` protocol; without one the service runs,
answers 503 on scoring and says why on `/readyz`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from api.api_keys import KeyHasher
from api.audit_anchor import checkpoint_at_shutdown
from api.auth_limits import FailureLimits
from api.docs import SWAGGER_UI_DIR, install_docs
from api.request_limits import RequestBodyRules
from api.routes import decisions, errors, metrics, models, records, scores, subjects, system
from api.schemas import DECISION_SUPPORT_NOTICE
from api.scoring import NoModel, Scorer
from api.security_headers import install_security_headers
from api.settings import Settings, get_settings
from api.store.db import Store
from api.web import install_web
from api.web.errors import server_error_page

logger = logging.getLogger(__name__)

API_VERSION = "1.0.0"


def create_app(
    settings: Settings | None = None, scorer: Scorer | None = None, *,
    docs_assets: Path = SWAGGER_UI_DIR,
) -> FastAPI:
    """Build the application around one store (one engine) and one scorer.

    Args:
        settings: Configuration; read from the environment when omitted.
        scorer: The model; `NoModel` (never ready) when omitted.
        docs_assets: The folder of Swagger UI's files that `/docs` serves.

    The database must already be at the latest schema (`safeguard db upgrade`
    or `api.store.init_db`); `/readyz` says so when it is not.
    """
    settings = settings or get_settings()
    scorer = scorer or NoModel("no model has been wired into the service")
    store = Store.from_settings(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        await app.state.score_batcher.aclose()  # what is being scored is stored first
        if store.audit_anchor is not None:
            await store.write(checkpoint_at_shutdown, store)  # after the queued appends
        store.dispose()
        app.state.metrics.process_ended()

    app = FastAPI(
        title="Safeguarding risk scoring",
        version=API_VERSION,
        description=DECISION_SUPPORT_NOTICE,
        lifespan=lifespan,
        docs_url=None,  # `api.docs` serves it from the service's own files
        redoc_url=None,
        # The service reports through /metrics and its own logs. FastAPI's OpenTelemetry
        # hooks would otherwise look up the global providers on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    app.state.store = store
    app.state.scorer = scorer
    app.state.key_hasher = KeyHasher(settings.api_key_pepper.get_secret_value())
    app.state.auth_limits = FailureLimits.from_settings(settings)
    app.state.metrics = metrics.Metrics()
    ready = scorer.readiness()[0]
    app.state.metrics.set_model(scorer.name, scorer.version, ready=ready, bands=(
        (band["name"], band["rag"]) for band in
        (scorer.model_info().get("bands", []) if ready else [])))
    app.state.score_batcher = scores.case_batcher(store, scorer, app.state.metrics)

    for router in (scores.router, decisions.router, records.router, subjects.router,
                   system.router, models.router):
        app.include_router(router)
    app.include_router(metrics.router)
    docs_page = install_docs(app, docs_assets)
    errors.install_error_handlers(app)
    page_scripts = install_web(app, settings)  # after the API's handlers: it keeps them
    # Added innermost first: metrics see every response, including the safe 500s,
    # and every response carries the security headers, the safe 500s too.
    app.add_middleware(RequestBodyRules, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(errors.SafeErrorMiddleware, html_page=server_error_page)
    install_security_headers(app, [*docs_page.script_sources(), *page_scripts])
    app.add_middleware(metrics.MetricsMiddleware, metrics=app.state.metrics)
    logger.info("service created (environment %s, model %s)", settings.environment, scorer.version)
    return app
