"""The production app: `build_service` (migrate, load the model, audit the start) and
`worker_app`, the factory each server worker runs (which also follows the alias)."""

from __future__ import annotations

import logging
import os
import threading
import time

from fastapi import FastAPI
from rich.console import Console

from api.app import create_app
from api.audit import AuditEvent, commit_with_audit, operator_event
from api.live_model import LiveScorer
from api.model_scorer import load_scorer
from api.settings import Settings
from api.store import init_db
from api.store.db import Store, is_outage, outage_reason

console = Console()
logger = logging.getLogger(__name__)

# How often a worker that started while the store was unreachable retries auditing its start.
START_AUDIT_RETRY_SECONDS = 5.0


def _append(settings: Settings, event: AuditEvent) -> None:
    store = Store.from_settings(settings)
    try:
        with store.session() as session:
            commit_with_audit(session, [event])
    finally:
        store.dispose()


def _retry_until_stored(settings: Settings, event: AuditEvent) -> None:
    while True:
        time.sleep(START_AUDIT_RETRY_SECONDS)
        try:
            _append(settings, event)
        except Exception as exc:  # noqa: BLE001 - an outage: try again; else say why
            if is_outage(exc):
                continue
            logger.error("the start of worker %d could not be audited (%s)",
                         os.getpid(), type(exc).__name__)
            return
        logger.info("the store is back: the start of worker %d is audited", os.getpid())
        return


def audit_start(settings: Settings, event: AuditEvent) -> None:
    """Audit a start; while the store is unreachable, on a thread of its own once it is back.

    A worker replaced during an outage must still boot (answering 503 until the store
    returns): gunicorn stops the whole service when a worker fails to boot.
    """
    try:
        _append(settings, event)
    except Exception as exc:
        if not is_outage(exc):
            raise
        logger.warning("store unreachable at start (%s): the start will be audited when it "
                       "returns", outage_reason(exc))
        threading.Thread(target=_retry_until_stored, args=(settings, event), name="start-audit",
                         daemon=True).start()


def build_service(settings: Settings, *, migrate: bool = True) -> FastAPI:
    """Migrate the store (unless done already), load the model by alias (or say why not),
    audit the start and build the app, serving a `LiveScorer` (not yet watching)."""
    if migrate:
        init_db(settings.database_url)
    scorer = load_scorer(settings)
    ready, reason = scorer.readiness()
    audit_start(settings, operator_event(
        "service_start", by="service", model_version=scorer.version if ready else None,
        model_name=scorer.name, ready=ready, reason=reason, pid=os.getpid()))
    live = LiveScorer(settings, scorer)
    app = create_app(settings, live)
    live.on_swap = lambda new: app.state.metrics.set_model(new.name, new.version,
                                                           ready=new.readiness()[0])
    return app


def worker_app() -> FastAPI:
    """The app of one server worker process. Each worker loads and checks the model
    itself and says on the console whether it is ready; `serve` has migrated the store."""
    app = build_service(Settings(), migrate=False)
    app.state.scorer.start()  # follow the alias from now on
    ready, reason = app.state.scorer.readiness()
    worker = f"worker {os.getpid()}: "
    console.print(f"{worker}[green]ready[/green]: {reason}" if ready else
                  f"{worker}[red]NOT READY[/red] (scoring answers 503): {reason}", soft_wrap=True)
    return app
