"""The store on SQLite and PostgreSQL: migrations, users and keys, scores, decisions."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import bindparam, inspect, select, text
from sqlalchemy.exc import IntegrityError

from api.api_keys import KeyHasher, issue_key
from api.auth import key_holder_in_store
from api.store import Decision, Score, Store, repository
from api.store.db import JsonText
from api.store.models import USER_TABLE
from api.store.version_table import VERSION_TABLE

HASHER = KeyHasher("store-test-pepper-" + "y" * 32)


def _name() -> str:
    return f"user-{uuid.uuid4().hex[:8]}"


def _score(referral_id: str, result: Any = None) -> Score:
    return Score(
        referral_id=referral_id,
        model_name="m",
        model_version="1",
        probability=0.5,
        score=10,
        band="medium",
        rag="amber",
        result={"referral_id": referral_id} if result is None else result,
        user_name="t",
    )


def test_migrations_create_every_table(store: Store) -> None:
    tables = set(inspect(store.engine).get_table_names())
    assert {"users", "scores", "decisions", "audit_entries", VERSION_TABLE} <= tables
    assert store.ping()[0]


def test_sqlite_runs_in_wal_mode(store: Store) -> None:
    if not store.is_sqlite:
        pytest.skip("a SQLite setting")
    with store.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_keys_are_stored_only_as_salted_hashes_and_can_be_revoked(store: Store) -> None:
    name = _name()
    with store.session() as session:
        issued = issue_key(session, HASHER, name=name, role="triage")
        session.commit()
        secret = issued.key.split(".", 1)[1]
        user = repository.user_by_name(session, name)
        assert user is not None and secret not in (user.key_hash, user.key_salt)
        key_id = issued.key.split(".", 1)[0]
        holder = key_holder_in_store(store, key_id)
        assert holder is not None
        assert HASHER.verify(secret, salt=holder.key_salt, stored_hash=holder.key_hash)
        assert not HASHER.verify(secret + "x", salt=holder.key_salt, stored_hash=holder.key_hash)
        repository.revoke_user(session, name)
        session.commit()
        assert key_holder_in_store(store, key_id) is None


def test_the_request_look_up_of_a_key_sees_its_holder_until_revoked(store: Store) -> None:
    # The look-up every request makes runs on the driver's own connection (`first_row`).
    name = _name()
    with store.session() as session:
        key_id = issue_key(session, HASHER, name=name, role="governance").key.split(".")[0]
        session.commit()
        holder = key_holder_in_store(store, key_id)
        assert holder is not None and (holder.name, holder.role) == (name, "governance")
        assert key_holder_in_store(store, key_id) == holder  # a second look-up agrees
        assert key_holder_in_store(store, "0000000000000000") is None
        repository.revoke_user(session, name)
        session.commit()
    assert key_holder_in_store(store, key_id) is None


def test_a_query_with_an_in_list_is_refused_by_first_row(store: Store) -> None:
    query = select(USER_TABLE.c.name).where(
        USER_TABLE.c.key_id.in_(bindparam("ids", expanding=True)))
    with pytest.raises(ValueError, match="IN lists"):
        store.first_row(query, {"ids": ["a", "b"]})


def test_two_keys_of_the_same_secret_length_get_different_salts(store: Store) -> None:
    with store.session() as session:
        first = issue_key(session, HASHER, name=_name(), role="admin").user
        second = issue_key(session, HASHER, name=_name(), role="admin").user
        session.commit()
        assert first.key_salt != second.key_salt


def test_a_decision_can_be_superseded_only_once(store: Store) -> None:
    rid = f"R-{uuid.uuid4().hex[:8]}"
    with store.session() as session:
        score = _score(rid)
        session.add(score)
        session.flush()
        common = {"referral_id": rid, "score_id": score.id, "practitioner": "p", "next_step": "s"}
        first = Decision(**common, practitioner_rag="red", agrees_with_band=True)
        session.add(first)
        session.flush()
        session.add(
            Decision(
                **common,
                practitioner_rag="amber",
                agrees_with_band=True,
                previous_decision_id=first.id,
            )
        )
        session.commit()
        session.add(
            Decision(
                **common,
                practitioner_rag="green",
                agrees_with_band=True,
                previous_decision_id=first.id,
            )
        )
        with pytest.raises(IntegrityError):
            session.commit()
        session.rollback()
        assert [d.practitioner_rag for d in repository.decisions_for(session, rid)] == [
            "red",
            "amber",
        ]


def test_scores_keep_the_result_json_and_come_back_in_order(store: Store) -> None:
    rid = f"R-{uuid.uuid4().hex[:8]}"
    with store.session() as session:
        session.add_all([_score(rid), _score(rid)])
        session.commit()
        scores = repository.scores_for(session, rid)
        assert [s.result for s in scores] == [{"referral_id": rid}] * 2
        latest = repository.latest_score(session, rid)
        assert latest is not None and latest.id == scores[-1].id


def test_a_result_already_encoded_as_json_is_stored_as_that_json(store: Store) -> None:
    rid = f"R-{uuid.uuid4().hex[:8]}"
    result = {"referral_id": rid, "sentence": "Pol\u00edce \"x\"", "contribution": 0.1}
    as_text = JsonText(json.dumps(result))
    with store.session() as session:
        session.add_all([_score(rid, result), _score(rid, as_text)])
        session.commit()
        # Encoded twice, the second would come back as a string.
        assert [s.result for s in repository.scores_for(session, rid)] == [result, result]


def test_an_sqlite_store_the_service_creates_is_its_owners_only(tmp_path: Path) -> None:
    from api.audit import commit_with_audit, operator_event
    from api.store import init_db

    url = f"sqlite:///{tmp_path / 'var' / 'safeguard.db'}"
    init_db(url)
    store = Store(url)
    with store.session() as session:
        commit_with_audit(session, [operator_event("db_upgrade")])
        made = sorted(path.name for path in (tmp_path / "var").iterdir())
        modes = {path.name: path.stat().st_mode & 0o777 for path in (tmp_path / "var").iterdir()}
    store.dispose()
    assert "safeguard.db" in made and "safeguard.db.audit-lock" in made
    assert set(modes.values()) == {0o600}, modes  # the WAL and shared-memory files too
