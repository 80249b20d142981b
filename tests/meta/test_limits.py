"""Bounds on dynamic metadata: each key and value, the keys one request names, the map it leaves."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from outrider.meta import MetaLimitError, MetaStore, check_entries
from outrider.meta.limits import MAX_KEY_BYTES, MAX_KEYS, MAX_TOTAL_BYTES, MAX_VALUE_BYTES, check_map
from outrider.state.db import StateDB


def test_entries_at_the_limits_pass() -> None:
    check_entries({"k" * MAX_KEY_BYTES: "v" * MAX_VALUE_BYTES, "gone": None})


def test_sizes_are_utf8_bytes() -> None:
    # "é" is two bytes: half as many fit.
    check_entries({"é" * (MAX_KEY_BYTES // 2): "x"})
    with pytest.raises(MetaLimitError, match=f"is {MAX_KEY_BYTES + 2} bytes long"):
        check_entries({"é" * (MAX_KEY_BYTES // 2 + 1): "x"})


def test_a_long_key_is_named_shortened() -> None:
    key = "a" * 300
    with pytest.raises(MetaLimitError) as err:
        check_entries({"ok": "1", key: "x"})
    assert (
        str(err.value) == f'metadata key "{"a" * 64}…" is 300 bytes long; the limit is {MAX_KEY_BYTES} bytes'
    )


def test_a_long_value_names_its_key() -> None:
    with pytest.raises(MetaLimitError) as err:
        check_entries({"rack": "v" * (MAX_VALUE_BYTES + 1)})
    assert str(err.value) == (
        f'metadata value of "rack" is {MAX_VALUE_BYTES + 1} bytes long; the limit is {MAX_VALUE_BYTES} bytes'
    )


def test_a_request_naming_too_many_keys_is_refused_before_anything_else() -> None:
    changes: dict[str, str | None] = {f"k{i}": None for i in range(MAX_KEYS + 1)}
    with pytest.raises(MetaLimitError) as err:
        check_entries(changes)
    assert (
        str(err.value)
        == f"a metadata request may name at most {MAX_KEYS} keys; this one names {MAX_KEYS + 1}"
    )


def test_map_bounds() -> None:
    check_map({f"k{i}": "v" for i in range(MAX_KEYS)})
    with pytest.raises(MetaLimitError, match=f"would hold {MAX_KEYS + 1} keys; the limit is {MAX_KEYS} keys"):
        check_map({f"k{i}": "v" for i in range(MAX_KEYS + 1)})
    big = {f"k{i}": "v" * (MAX_VALUE_BYTES - 10) for i in range(MAX_TOTAL_BYTES // MAX_VALUE_BYTES + 1)}
    with pytest.raises(
        MetaLimitError, match=f"bytes of keys and values; the limit is {MAX_TOTAL_BYTES} bytes"
    ):
        check_map(big)


def test_the_store_refuses_growth_past_the_bounds_and_keeps_its_map(tmp_path: Path) -> None:
    db = StateDB(str(tmp_path / "state.db"))
    try:
        store = MetaStore(db, {"rack": "r1"})
        value = "v" * (MAX_VALUE_BYTES - 16)
        fill = {f"k{i:02d}": value for i in range(MAX_TOTAL_BYTES // MAX_VALUE_BYTES)}
        asyncio.run(store.apply(fill))
        before = dict(store.dynamic)
        with pytest.raises(MetaLimitError):
            asyncio.run(store.apply({"one.more": value}))
        assert store.dynamic == before
        # Removing always fits, and makes room again.
        asyncio.run(store.apply({"k00": None, "rack": None}))
        asyncio.run(store.apply({"one.more": value}))
        assert store.dynamic["one.more"] == value
        assert store.dynamic["rack"] is None
    finally:
        db.close()
