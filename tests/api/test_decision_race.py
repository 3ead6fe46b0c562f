"""Simultaneous first decisions on one referral: exactly one is stored, the others get 409,
on SQLite and on PostgreSQL (a NULL previous_decision_id is not stopped by a unique column)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from alembic import command
from fastapi import FastAPI

from api.audit import verify_chain
from api.store import Decision, Score, Store, init_db, repository
from api.store.db import alembic_config
from tests.api import factories
from tests.api.conftest import ApiEnv

AT_ONCE = 20


async def _decide_at_once(
    app: FastAPI, key: str, bodies: list[dict[str, object]]
) -> list[httpx.Response]:
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return list(
            await asyncio.gather(
                *(client.post("/v1/decisions", json=body, headers=headers) for body in bodies)
            )
        )


def _scored(api: ApiEnv) -> str:
    case = factories.case(events=3)
    response = api.client.post("/v1/score", json=case, headers=api.headers("triage"))
    assert response.status_code == 200, response.text
    return str(case["referral"]["referral_id"])


def test_twenty_simultaneous_first_decisions_store_exactly_one(
    backend_api: ApiEnv, database_url: str
) -> None:
    app, key = backend_api.client.app, backend_api.keys["triage"]
    rid = _scored(backend_api)
    bodies = [factories.decision(rid, next_step=f"step {n}") for n in range(AT_ONCE)]
    responses = asyncio.run(_decide_at_once(app, key, bodies))

    codes = sorted(response.status_code for response in responses)
    assert codes == [201] + [409] * (AT_ONCE - 1), [r.text for r in responses]
    for lost in (r for r in responses if r.status_code == 409):  # says why: the race or its winner
        detail = lost.json()["detail"]
        assert "recorded at the same time" in detail or "already has decision" in detail, detail
    [won] = [response.json() for response in responses if response.status_code == 201]
    store = Store(database_url)
    with store.session() as session:
        stored = repository.decisions_for(session, rid)
        assert [(d.id, d.next_step, d.previous_decision_id) for d in stored] == [
            (won["id"], won["next_step"], None)
        ]
        assert verify_chain(session).ok
    store.dispose()


def test_twenty_simultaneous_changes_of_one_decision_store_exactly_one(
    backend_api: ApiEnv,
) -> None:
    app, key = backend_api.client.app, backend_api.keys["triage"]
    rid = _scored(backend_api)
    [first] = asyncio.run(_decide_at_once(app, key, [factories.decision(rid)]))
    previous = first.json()["id"]
    bodies = [
        factories.decision(rid, next_step=f"change {n}", previous_decision_id=previous)
        for n in range(AT_ONCE)
    ]
    codes = sorted(r.status_code for r in asyncio.run(_decide_at_once(app, key, bodies)))
    assert codes == [201] + [409] * (AT_ONCE - 1)


def test_the_upgrade_refuses_a_history_forked_before_it(fresh_database_url: str) -> None:
    # Down to the schema just before the one-first-decision index.
    command.downgrade(alembic_config(fresh_database_url), "0006_auth_failures")
    store = Store(fresh_database_url)
    with store.session() as session:
        score = Score(
            referral_id="R-forked",
            model_name="m",
            model_version="1",
            probability=0.5,
            score=10,
            band="medium",
            rag="amber",
            result={},
            user_name="t",
        )
        session.add(score)
        session.flush()
        session.add_all(
            [
                Decision(
                    referral_id="R-forked",
                    score_id=score.id,
                    practitioner="p",
                    practitioner_rag="amber",
                    next_step=f"step {n}",
                    agrees_with_band=True,
                )
                for n in range(2)
            ]
        )
        session.commit()
    store.dispose()
    with pytest.raises(RuntimeError, match="more than one first decision.*R-forked"):
        init_db(fresh_database_url)
