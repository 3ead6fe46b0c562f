"""Failed authentication is limited per key id and per client address (api/auth_limits.py),
in the store, so that every worker shares the count, on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.api_keys import KeyHasher
from api.app import create_app
from api.store import AuditEntry, Store
from tests.api.conftest import issue_keys, make_settings
from tests.api.fakes import FakeScorer

PER_KEY, PER_ADDRESS = 3, 6


@contextmanager
def worker(url: str, *, address: str = "10.0.0.1", lockout: float = 60.0
           ) -> Iterator[TestClient]:
    """An app on the database at `url` (one per worker process, in production), called
    from `address`."""
    settings = make_settings(url, auth_failures_per_key=PER_KEY,
                             auth_failures_per_address=PER_ADDRESS,
                             auth_lockout_seconds=lockout)
    with TestClient(create_app(settings, FakeScorer()), client=(address, 50000)) as client:
        yield client


def _model(client: TestClient, key: str) -> int:
    return client.get("/v1/model", headers={"Authorization": f"Bearer {key}"}).status_code


def _audited_lockouts(url: str) -> list[dict[str, object]]:
    store = Store(url)
    with store.session() as session:
        details = [e.details for e in session.scalars(
            select(AuditEntry).where(AuditEntry.action == "auth_lockout"))]
    store.dispose()
    return details


def test_wrong_secrets_lock_the_key_id_out_across_workers_and_others_keep_working(
    fresh_database_url: str,
) -> None:
    keys, _ = issue_keys(make_settings(fresh_database_url))
    victim_id = keys["triage"].split(".")[0]
    with worker(fresh_database_url) as first, worker(fresh_database_url,
                                                      address="10.0.0.2") as second:
        assert _model(first, keys["triage"]) == 200  # the holder, verified on `first`
        assert _model(first, f"{victim_id}.wrong-1") == 401
        assert _model(second, f"{victim_id}.wrong-2") == 401  # another worker, address
        assert _model(first, f"{victim_id}.wrong-3") == 401  # the third: locked out now
        refused = first.get("/v1/model", headers={"Authorization": f"Bearer {victim_id}.x"})
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert _model(second, keys["triage"]) == 429  # not verified there: waits too
        assert _model(first, keys["triage"]) == 200  # the holder keeps working
        assert _model(second, keys["admin"]) == 200  # other keys too
    (lockout,) = _audited_lockouts(fresh_database_url)
    assert lockout["scope"] == "key_id" and lockout["subject"] == victim_id
    assert lockout["key_holder"].startswith("triage-")  # type: ignore[union-attr]


def test_a_revoked_keys_lockout_names_the_holder_it_was_issued_to(
    fresh_database_url: str,
) -> None:
    """The entry named nobody for a revoked key (only a live key's holder was named),
    though whoever guesses at it, or still holds it, is what an investigation asks."""
    _, revoked = issue_keys(make_settings(fresh_database_url))
    revoked_id = revoked.split(".")[0]
    with worker(fresh_database_url) as client:
        answers = [_model(client, key) for key in (revoked, *(
            f"{revoked_id}.wrong-{n}" for n in range(PER_KEY)))]
    assert answers == [401] * PER_KEY + [429]
    (lockout,) = _audited_lockouts(fresh_database_url)
    assert lockout["scope"] == "key_id" and lockout["subject"] == revoked_id
    assert str(lockout["key_holder"]).startswith("gone-")


def test_guesses_from_one_address_lock_that_address_out_only(fresh_database_url: str) -> None:
    keys, _ = issue_keys(make_settings(fresh_database_url))
    with worker(fresh_database_url) as guesser, worker(fresh_database_url,
                                                        address="10.0.0.9") as colleague:
        answers = [_model(guesser, f"{n:016x}.guess") for n in range(PER_ADDRESS)]
        answers.append(_model(guesser, "not-a-key-at-all"))
        answers.append(_model(guesser, keys["governance"]))
        assert answers == [401] * PER_ADDRESS + [401, 429]  # a malformed key: no PBKDF2
        assert _model(colleague, keys["governance"]) == 200
        assert _model(guesser, "") == 401  # no key at all is not a guess
    (lockout,) = _audited_lockouts(fresh_database_url)
    assert lockout == {**lockout, "scope": "address", "subject": "10.0.0.1"}


def test_a_lockout_ends_and_the_key_is_admitted_again(fresh_database_url: str) -> None:
    keys, _ = issue_keys(make_settings(fresh_database_url))
    key_id = keys["admin"].split(".")[0]
    with worker(fresh_database_url, lockout=1.0) as client:
        assert [_model(client, f"{key_id}.wrong") for _ in range(PER_KEY + 1)] == [
            401] * PER_KEY + [429]
        time.sleep(1.2)
        assert _model(client, keys["admin"]) == 200
        assert _model(client, f"{key_id}.wrong") == 401  # counting starts again


def test_unknown_key_ids_and_wrong_secrets_cost_the_same_pbkdf2_run(
    fresh_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys, revoked = issue_keys(make_settings(fresh_database_url))
    runs: list[str] = []
    real_hash = KeyHasher.hash

    def counting_hash(self: KeyHasher, secret: str, salt: str) -> str:
        runs.append(secret)
        return real_hash(self, secret, salt)

    monkeypatch.setattr(KeyHasher, "hash", counting_hash)
    key_id = keys["data_scientist"].split(".")[0]
    with worker(fresh_database_url) as client:
        assert _model(client, keys["data_scientist"]) == 200  # verified: cached from now on
        runs.clear()
        for key in (f"{key_id}.wrong", "0123456789abcdef.wrong", revoked):
            assert _model(client, key) == 401
            assert len(runs) == 1, key  # exactly one PBKDF2 run, whichever the refusal
            runs.clear()
        assert _model(client, keys["data_scientist"]) == 200
        assert runs == []  # a verified key costs no PBKDF2 run
