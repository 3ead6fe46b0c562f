"""The production app: `build_service` (migrate, load the model, audit the start) and
`worker_app`, the factory each server worker runs (which also follows the alias)."""

from __future__ import annotations

import os

from fastapi import FastAPI
from rich.console import Console

from api.app import create_app
from api.audit import commit_with_audit, operator_event
from api.live_model import LiveScorer
from api.model_scorer import load_scorer
from api.settings import Settings
from api.store import init_db
from api.store.db import Store

console = Console()


def build_service(settings: Settings, *, migrate: bool = True) -> FastAPI:
    """Migrate the store (unless done already), load the model by alias (or say why not),
    audit the start and build the app, serving a `LiveScorer` (not yet watching)."""
    if migrate:
        init_db(settings.database_url)
    scorer = load_scorer(settings)
    ready, reason = scorer.readiness()
    store = Store.from_settings(settings)
    with store.session() as session:
        commit_with_audit(session, [operator_event(
            "service_start", model_version=scorer.version if ready else None,
            model_name=scorer.name, ready=ready, reason=reason, pid=os.getpid())])
    store.dispose()
    live = LiveScorer(settings, scorer)
    app = create_app(settings, live)
    live.on_swap = lambda new: app.state.metrics.set_model(new.name, new.version, ready=True)
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
