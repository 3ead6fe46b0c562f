"""Dependencies shared by the routes, as `Annotated` aliases."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Final

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from api.scoring import Scorer
from api.settings import Settings
from api.store.db import Store

# The methods a read answers: GET, and HEAD as GET without its body, for load balancers
# and uptime monitors. FastAPI adds HEAD to no route of its own accord (Starlette's
# `Route` does), so the API's health checks and every page list both.
READ_METHODS: Final = ("GET", "HEAD")

# The plain look-ups are `async def` so FastAPI calls them on the event loop
# instead of handing each to the thread pool (a thread hop per dependency).


async def get_store(request: Request) -> Store:
    """The application's store (one engine per process)."""
    store: Store = request.app.state.store
    return store


def get_session(request: Request) -> Iterator[Session]:
    """A session for the request, closed (and rolled back if uncommitted) afterwards."""
    store: Store = request.app.state.store
    with store.session() as session:
        yield session


async def get_scorer(request: Request) -> Scorer:
    """The scorer wired into the application."""
    scorer: Scorer = request.app.state.scorer
    return scorer


async def get_app_settings(request: Request) -> Settings:
    """The settings the application was created with."""
    settings: Settings = request.app.state.settings
    return settings


SessionDep = Annotated[Session, Depends(get_session)]
ScorerDep = Annotated[Scorer, Depends(get_scorer)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
StoreDep = Annotated[Store, Depends(get_store)]
