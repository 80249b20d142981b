"""The allocation registry: external directories, and the directory descriptors it keeps."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from outrider import allocs as allocs_mod
from outrider.allocs import Allocation, AllocRegistry
from outrider.fs.allocdir import build_alloc_dir, open_fd_in_alloc
from outrider.state.db import StateDB

pytestmark = pytest.mark.usefixtures("no_fd_leak")


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[AllocRegistry]:
    db = StateDB(str(tmp_path / "state.db"))
    reg = AllocRegistry(db, str(tmp_path / "alloc"))
    yield reg
    reg.close()
    db.close()


def external(reg: AllocRegistry, tasks: tuple[str, ...] = ("web",)) -> str:
    alloc_id = str(uuid.uuid4())
    build_alloc_dir(reg.alloc_dir, alloc_id, list(tasks))
    return alloc_id


def read(alloc: Allocation, rel: str) -> bytes:
    fd, _ = open_fd_in_alloc(alloc, rel, os.O_RDONLY)
    try:
        return os.read(fd, 100)
    finally:
        os.close(fd)


def fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_an_external_allocation_is_reused_until_its_directory_changes(registry: AllocRegistry) -> None:
    alloc_id = external(registry)
    first = registry.get(alloc_id)
    assert first is not None and first.tasks == ["web"]
    assert registry.get(alloc_id) is first
    os.mkdir(os.path.join(registry.alloc_dir, alloc_id, "db"))
    second = registry.get(alloc_id)
    assert second is not None and second is not first and second.tasks == ["db", "web"]


def test_a_removed_external_directory_is_unknown_and_its_descriptor_closed(registry: AllocRegistry) -> None:
    alloc_id = external(registry)
    before = fds()
    alloc = registry.get(alloc_id)
    assert alloc is not None and fds() == before + 1
    shutil.rmtree(alloc.path)
    assert registry.get(alloc_id) is None
    assert fds() == before


def test_a_directory_recreated_under_the_same_id_is_served_afresh(registry: AllocRegistry) -> None:
    alloc_id = external(registry)
    old = registry.get(alloc_id)
    assert old is not None
    Path(old.path, "alloc/data/f").write_bytes(b"old")
    assert read(old, "alloc/data/f") == b"old"
    # The kept descriptor still names the removed directory; the registry must notice.
    shutil.rmtree(old.path)
    build_alloc_dir(registry.alloc_dir, alloc_id, ["api"])
    Path(old.path, "alloc/data/f").write_bytes(b"new")
    new = registry.get(alloc_id)
    assert new is not None and new.tasks == ["api"]
    assert read(new, "alloc/data/f") == b"new"


def test_the_external_cache_bound_closes_what_it_drops(
    registry: AllocRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(allocs_mod, "_EXTERNAL_CACHE_MAX", 3)
    ids = [external(registry) for _ in range(7)]
    before = fds()
    held = [registry.get(i) for i in ids]
    assert all(a is not None for a in held)
    assert fds() - before <= 3
    # An allocation dropped from the cache while a caller still holds it keeps working.
    dropped = held[0]
    assert dropped is not None
    Path(dropped.path, "alloc/data/f").write_bytes(b"still here")
    assert read(dropped, "alloc/data/f") == b"still here"
    assert fds() - before <= 3


def test_a_collected_allocation_gives_back_its_descriptor(registry: AllocRegistry) -> None:
    alloc_id = str(uuid.uuid4())
    path = build_alloc_dir(registry.alloc_dir, alloc_id, ["web"])
    registry.add(Allocation(id=alloc_id, namespace="default", path=path, tasks=["web"]))
    alloc = registry.get(alloc_id)
    assert alloc is not None
    before = fds()
    Path(path, "alloc/data/f").write_bytes(b"x")
    assert read(alloc, "alloc/data/f") == b"x"
    assert fds() == before + 1  # the kept directory descriptor
    registry.mark_destroyed(alloc_id)
    assert fds() == before
    shutil.rmtree(path)
    with pytest.raises(FileNotFoundError):
        read(alloc, "alloc/data/f")
    assert fds() == before


def test_not_a_directory_or_not_a_uuid_is_unknown(registry: AllocRegistry) -> None:
    file_id = str(uuid.uuid4())
    Path(registry.alloc_dir, file_id).write_bytes(b"")
    assert registry.get(file_id) is None
    assert registry.get("not-a-uuid") is None


def test_a_terminal_allocation_keeps_no_descriptor(registry: AllocRegistry) -> None:
    alloc_id = str(uuid.uuid4())
    path = build_alloc_dir(registry.alloc_dir, alloc_id, ["web"])
    registry.add(
        Allocation(id=alloc_id, namespace="default", path=path, tasks=["web"], client_status="running")
    )
    alloc = registry.get(alloc_id)
    assert alloc is not None
    Path(path, "alloc/data/f").write_bytes(b"x")
    before = fds()
    assert read(alloc, "alloc/data/f") == b"x"
    assert fds() == before + 1
    registry.update_status(alloc_id, client_status="complete")
    assert fds() == before
    # Still readable, with the directory opened for each call.
    assert read(alloc, "alloc/data/f") == b"x"
    assert fds() == before
    done = Allocation(
        id=str(uuid.uuid4()), namespace="default", path=path, tasks=["web"], client_status="failed"
    )
    assert done.root_fd() is None


def test_a_destroyed_allocation_stays_listed_across_a_reload_until_forgotten(tmp_path: Path) -> None:
    db = StateDB(str(tmp_path / "state.db"))
    alloc_dir = str(tmp_path / "alloc")
    reg = AllocRegistry(db, alloc_dir)
    alloc_id = str(uuid.uuid4())
    reg.add(Allocation(id=alloc_id, namespace="default", path=os.path.join(alloc_dir, alloc_id), tasks=["t"]))
    reg.update_status(alloc_id, client_status="complete")
    reg.mark_destroyed(alloc_id)
    for current in (reg, AllocRegistry(db, alloc_dir)):
        alloc = current.get(alloc_id)
        assert alloc is not None and alloc.destroyed and alloc.client_status == "complete"
        assert [a.id for a in current.listed()] == [alloc_id]
        assert list(current.owned()) == []
        assert [a.id for a in current.destroyed()] == [alloc_id]
    reg.forget(alloc_id)
    assert reg.get(alloc_id) is None and reg.listed() == []
    again = AllocRegistry(db, alloc_dir)
    assert again.get(alloc_id) is None and again.listed() == []
    reg.close()
    db.close()
