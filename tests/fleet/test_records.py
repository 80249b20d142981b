"""The fleet's records: what a node and an allocation publish, read back; stale nodes; key checks."""

from __future__ import annotations

import pytest

from outrider.fleet.records import AllocRecord, NodeRecord, valid_key


def test_records_read_back_and_unreadable_values_are_none() -> None:
    node = NodeRecord(
        "id", "n", "dc1", "default", "", "http://10.0.0.5:4646", "0.1.0", {"rack": "r1"}, heartbeat=5.0
    )
    assert NodeRecord.decode(node.encode()) == node
    alloc = AllocRecord("id", "default", "web")
    assert AllocRecord.decode(alloc.encode()) == alloc
    for raw in (b"", b"[", b"[]", b'{"unknown": 1}', b'"x"'):
        assert NodeRecord.decode(raw) is None and AllocRecord.decode(raw) is None


def test_a_record_not_refreshed_in_time_shows_its_node_down() -> None:
    node = NodeRecord("id", "n", "dc1", "default", "", "http://h:1", "0.1.0", heartbeat=100.0)
    assert node.aged(2.0, now=101.9).status == "ready"
    assert node.aged(2.0, now=102.1).status == "down"
    assert node.aged(2.0, now=102.1).id == "id"


@pytest.mark.parametrize(
    ("key", "ok"),
    [
        ("3f2a1b9c-0000-4000-8000-000000000000", True),
        ("token.abc", True),
        ("", False),
        ("a b", False),
        ("*", False),
        (">", False),
        (".a", False),
        ("a.", False),
        ("a\x00", False),
    ],
)
def test_only_valid_keys_reach_nats(key: str, ok: bool) -> None:
    assert valid_key(key) is ok
