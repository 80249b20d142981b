"""ACL state in a real SQLite state DB: migration, indexes, digest-only secrets, expiry collection."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from outrider.acl.policy_record import PolicyRecord, policy_hash
from outrider.acl.service import ACLService, ACLSettings
from outrider.acl.store import BOOTSTRAP, POLICY_TABLE, TOKEN_TABLE, ACLStore, SecretInUse
from outrider.acl.token import ACLToken
from outrider.acl.uuids import generate, index_key, secret_digest
from outrider.goduration import HOUR
from outrider.state.db import StateDB
from outrider.state.schema import MIGRATIONS


@pytest.fixture
def db(tmp_path: Path) -> Iterator[StateDB]:
    state = StateDB(str(tmp_path / "client" / "state.db"))
    yield state
    state.close()


def record(name: str, rules: str = "") -> PolicyRecord:
    return PolicyRecord(name, "", rules, None, policy_hash(name, "", rules, None))


def new_token(**kwargs: object) -> tuple[str, ACLToken, str]:
    accessor, secret = generate(), generate()
    token = ACLToken(accessor, name="t", type="client", policies=["p"], create_time=1, **kwargs)  # type: ignore[arg-type]
    return index_key(accessor), token, secret


def test_migrates_a_first_version_database(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    for statement in MIGRATIONS[0].split(";"):
        if statement.strip():
            conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    conn.commit()
    conn.close()
    state = StateDB(str(path))
    try:
        columns = {row[1] for row in state.query("PRAGMA table_info(acl_tokens)")}
        assert columns == {"accessor_key", "secret_hash", "create_index", "token"}
        assert state.query("PRAGMA user_version")[0][0] == len(MIGRATIONS)
    finally:
        state.close()


def test_every_write_takes_the_next_index(db: StateDB) -> None:
    store = ACLStore(db)
    seen: list[int] = []
    db.on_index = lambda name, value: seen.append(value)
    first = store.upsert_policy(record("a"))
    key, token, secret = new_token()
    second = store.upsert_token(key, token, secret)
    third = store.upsert_policy(record("a", 'node { policy = "read" }'))
    assert [first, second, third] == seen == [first, first + 1, first + 2]
    assert store.table_index(POLICY_TABLE) == third and store.table_index(TOKEN_TABLE) == second
    stored = store.policy("a")
    assert stored is not None and (stored.create_index, stored.modify_index) == (first, third)
    assert store.policy_generation == 2


def test_policies_come_sorted_and_delete_of_a_missing_one_is_a_write(db: StateDB) -> None:
    store = ACLStore(db)
    for name in ("b", "a", "C"):
        store.upsert_policy(record(name))
    assert [p.name for p in store.policies()] == ["C", "a", "b"]
    before = store.table_index(POLICY_TABLE)
    assert store.delete_policy("missing") == before + 1


def test_secrets_are_kept_as_digests_only(db: StateDB, tmp_path: Path) -> None:
    store = ACLStore(db)
    secrets = []
    for _ in range(5):
        key, token, secret = new_token()
        store.upsert_token(key, token, secret)
        secrets.append(secret)
        assert store.token_by_secret(secret) == store.token(key)
        assert store.token_by_secret(secret.upper()) is not None
        assert store.secret_matches(key, secret) and not store.secret_matches(key, generate())
    assert store.token_by_secret(generate()) is None
    raw = b"".join(p.read_bytes() for p in (tmp_path / "client").iterdir())
    for secret in secrets:
        assert secret.encode() not in raw and secret.replace("-", "").encode() not in raw
        assert secret_digest(secret) in raw


def test_a_secret_belongs_to_one_token(db: StateDB) -> None:
    store = ACLStore(db)
    key, token, secret = new_token()
    store.upsert_token(key, token, secret)
    index = store.table_index(TOKEN_TABLE)
    other_key, other, _ = new_token()
    with pytest.raises(SecretInUse):
        store.upsert_token(other_key, other, secret.upper())
    assert store.table_index(TOKEN_TABLE) == index and store.token(other_key) is None


def test_update_keeps_the_secret(db: StateDB) -> None:
    store = ACLStore(db)
    key, token, secret = new_token()
    store.upsert_token(key, token, secret)
    token.name = "renamed"
    store.upsert_token(key, token, None)
    found = store.token_by_secret(secret)
    assert found is not None and found.name == "renamed" and found.create_index < found.modify_index


def test_bootstrap_records_its_index_once(db: StateDB) -> None:
    store = ACLStore(db)
    assert store.bootstrap_index() is None
    key, token, secret = new_token()
    index = store.bootstrap(key, token, secret, None)
    assert index is not None and store.bootstrap_index() == index and db.current_index(BOOTSTRAP) == index
    key2, token2, secret2 = new_token()
    assert store.bootstrap(key2, token2, secret2, None) is None  # somebody bootstrapped first
    assert store.token(key2) is None and db.current_index() == index
    again = store.bootstrap(key2, token2, secret2, index)
    assert again == index + 1 and store.bootstrap_index() == again


def test_expired_tokens_are_collected_an_hour_late(db: StateDB, tmp_path: Path) -> None:
    service = ACLService(db, str(tmp_path), ACLSettings(enabled=True))
    now = 10**18
    keys = {}
    for label, expires in (("old", now - 2 * HOUR), ("recent", now - HOUR // 2), ("never", None)):
        key, token, secret = new_token(expiration_time=expires)
        service.store.upsert_token(key, token, secret)
        keys[label] = key
    index = db.current_index()
    assert service.collect_expired(now) == 1
    assert service.store.token(keys["old"]) is None
    assert service.store.token(keys["recent"]) is not None and service.store.token(keys["never"]) is not None
    assert db.current_index() == index + 1
    assert service.collect_expired(now) == 0 and db.current_index() == index + 1
