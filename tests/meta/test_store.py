"""The metadata store: apply semantics (``client/meta_endpoint.go``), startup cleaning, atomic persistence."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from outrider.meta import DEFAULT_META, MetaPersistError, MetaStore, static_meta
from outrider.state.db import StateDB


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "client" / "state.db"


@pytest.fixture
def db(db_path: Path) -> Iterator[StateDB]:
    handle = StateDB(str(db_path))
    yield handle
    handle.close()


def apply(store: MetaStore, changes: dict[str, str | None]) -> dict[str, Any]:
    return asyncio.run(store.apply(changes))


def test_static_defaults_fill_only_absent_keys() -> None:
    got = static_meta({"connect.log_level": "debug", "rack": "r1"})
    assert got["connect.log_level"] == "debug"
    assert got["rack"] == "r1"
    assert got["connect.sidecar_image"] == "docker.io/envoyproxy/envoy:v${NOMAD_envoy_version}"
    assert got["connect.gateway_image"] == "docker.io/envoyproxy/envoy:v${NOMAD_envoy_version}"
    assert got["connect.proxy_concurrency"] == "1"
    assert got["connect.transparent_proxy.default_uid"] == "101"
    assert got["connect.transparent_proxy.default_outbound_port"] == "15001"
    assert set(DEFAULT_META) <= set(got)


def test_reference_apply_cases(db: StateDB) -> None:
    store = MetaStore(db, {"static_meta": "true"})
    view = apply(store, {"dynamic_meta": "true"})
    assert view["Dynamic"] == {"dynamic_meta": "true"}
    assert view["Meta"] == {"static_meta": "true", "dynamic_meta": "true"}
    view = apply(store, {"static_meta": None})
    assert view["Static"] == {"static_meta": "true"}
    assert "static_meta" not in view["Meta"]
    assert view["Dynamic"] == {"dynamic_meta": "true", "static_meta": None}
    view = apply(store, {"dynamic_meta": None})
    assert view["Dynamic"] == {"static_meta": None}
    assert view["Meta"] == {}


def test_dynamic_overrides_static_and_null_removes_it(db: StateDB) -> None:
    store = MetaStore(db, {"rack": "r1"})
    assert apply(store, {"rack": "r2"})["Meta"] == {"rack": "r2"}
    # Unsetting an overridden static key removes it; it does not fall back to the static value.
    view = apply(store, {"rack": None})
    assert view["Meta"] == {} and view["Dynamic"] == {"rack": None}


def test_changes_survive_reopen_and_tombstones_are_cleaned(db_path: Path) -> None:
    db = StateDB(str(db_path))
    store = MetaStore(db, {"a": "1", "b": "2"})
    apply(store, {"a": None, "b": None, "c": "3"})
    index = store.modify_index
    db.close()

    # Restart with "b" no longer static: its tombstone is dropped and written back.
    db = StateDB(str(db_path))
    store = MetaStore(db, {"a": "1"})
    assert store.dynamic == {"a": None, "c": "3"}
    assert store.meta == {"c": "3"}
    assert store.modify_index == index
    rows = db.query("SELECT key, value FROM dynamic_meta ORDER BY key")
    assert rows == [("a", None), ("c", "3")]
    db.close()


def test_indexes_advance_on_each_apply(db: StateDB) -> None:
    store = MetaStore(db, {})
    first = store.modify_index
    assert store.create_index == first
    apply(store, {"x": "1"})
    assert store.modify_index > first


def test_failed_write_changes_nothing(db: StateDB) -> None:
    store = MetaStore(db, {"s": "1"})
    apply(store, {"kept": "yes"})
    before = (dict(store.dynamic), dict(store.meta), store.modify_index)
    with db.transaction() as conn:
        conn.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON dynamic_meta WHEN NEW.key = 'bad' "
            "BEGIN SELECT RAISE(ABORT, 'disk says no'); END"
        )
    with pytest.raises(MetaPersistError, match="disk says no"):
        apply(store, {"other": "x", "bad": "y"})
    assert (dict(store.dynamic), dict(store.meta), store.modify_index) == before
    # The transaction rolled back as a whole: "other" (written first) is not on disk either.
    assert db.query("SELECT key FROM dynamic_meta ORDER BY key") == [("kept",)]


def test_concurrent_applies_serialise(db: StateDB) -> None:
    store = MetaStore(db, {})

    async def burst() -> None:
        await asyncio.gather(*(store.apply({f"k{i}": str(i), "last": str(i)}) for i in range(40)))

    asyncio.run(burst())
    assert {k: v for k, v in store.dynamic.items() if k.startswith("k")} == {
        f"k{i}": str(i) for i in range(40)
    }
    rows = {str(k): v for k, v in db.query("SELECT key, value FROM dynamic_meta")}
    assert rows == store.dynamic


def test_wait_for_change_wakes_on_apply(db: StateDB) -> None:
    store = MetaStore(db, {})

    async def scenario() -> tuple[bool, bool]:
        index = store.modify_index
        waiter = asyncio.create_task(store.wait_for_change(index, 30.0))
        await asyncio.sleep(0)
        assert not waiter.done()
        await store.apply({"a": "b"})
        await asyncio.wait_for(waiter, 5.0)
        # An index already behind returns at once; a current one times out quietly.
        await asyncio.wait_for(store.wait_for_change(index, 30.0), 5.0)
        await store.wait_for_change(store.modify_index, 0.01)
        return waiter.done(), store.modify_index > index

    assert asyncio.run(scenario()) == (True, True)
