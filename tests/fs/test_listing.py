"""Directory listings with each entry's ``lstat`` (``fs/ls``), on both implementations."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outrider.fs import listing
from tests import twins
from tests.twins import TWINS, pick


@pytest.fixture(scope="module", params=TWINS)
def impl(request: pytest.FixtureRequest) -> ModuleType:
    return pick(listing.IMPLEMENTATIONS, request.param, "listing")


def expected(root: Path) -> list[tuple[str, int, int, int]]:
    """What a listing must say, from ``os.lstat`` of each name."""
    out = []
    for raw in sorted(os.listdir(os.fsencode(root))):
        st_ = os.lstat(os.path.join(os.fsencode(root), raw))
        out.append((os.fsdecode(raw), st_.st_mode, st_.st_size, st_.st_mtime_ns))
    return out


def listed(
    impl: ModuleType, root: Path, flags: int = os.O_RDONLY | os.O_DIRECTORY
) -> list[tuple[str, int, int, int]]:
    fd = os.open(root, flags | os.O_CLOEXEC)
    try:
        return impl.list_dir(fd)  # type: ignore[no-any-return]
    finally:
        os.close(fd)


def test_every_kind_of_entry_sorted_by_bytes(impl: ModuleType, tmp_path: Path) -> None:
    (tmp_path / "b.log").write_bytes(b"x" * 300)
    (tmp_path / "B.log").write_bytes(b"")
    (tmp_path / "a dir").mkdir()
    (tmp_path / "link").symlink_to("/etc/passwd")  # its own lstat, never the target's
    (tmp_path / "dangling").symlink_to("nowhere")
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "é").write_bytes(b"1")
    with open(os.path.join(os.fsencode(tmp_path), b"\xff\xfe raw"), "wb") as f:
        f.write(b"22")
    got = listed(impl, tmp_path)
    assert got == expected(tmp_path)
    names = [name for name, *_ in got]
    assert names == ["B.log", "a dir", "b.log", "dangling", "fifo", "link", "é", "\udcff\udcfe raw"]
    modes = {name: mode for name, mode, *_ in got}
    assert stat.S_ISLNK(modes["link"]) and stat.S_ISFIFO(modes["fifo"]) and stat.S_ISDIR(modes["a dir"])


def test_empty_directory_and_repeated_listings(impl: ModuleType, tmp_path: Path) -> None:
    assert listed(impl, tmp_path) == []
    (tmp_path / "f").write_bytes(b"")
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        # The descriptor is left ready for another listing (its shared offset back at the top).
        first = impl.list_dir(fd)
        assert impl.list_dir(fd) == first and len(first) == 1
        assert twins.both(listing.IMPLEMENTATIONS, "listing")[1].list_dir(fd) == first
    finally:
        os.close(fd)


def test_not_a_directory_and_bad_descriptors(impl: ModuleType, tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_bytes(b"")
    fd = os.open(f, os.O_RDONLY | os.O_CLOEXEC)
    try:
        with pytest.raises(NotADirectoryError):
            impl.list_dir(fd)
    finally:
        os.close(fd)
    with pytest.raises(OSError):
        impl.list_dir(-1)


@pytest.mark.skipif(os.geteuid() == 0, reason="root bypasses directory permissions")
def test_unsearchable_directory_is_an_error(impl: ModuleType, tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f").write_bytes(b"")
    os.chmod(tmp_path / "d", 0o400)
    try:
        with pytest.raises(PermissionError):
            listed(impl, tmp_path / "d")
    finally:
        os.chmod(tmp_path / "d", 0o700)


NAMES = st.lists(
    st.binary(min_size=1, max_size=40).filter(
        lambda b: b"/" not in b and b"\x00" not in b and b not in (b".", b"..")
    ),
    max_size=30,
    unique=True,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=NAMES, sizes=st.lists(st.integers(0, 5000), min_size=30, max_size=30))
def test_twins_agree_on_any_names(names: list[bytes], sizes: list[int]) -> None:
    native, pure = twins.both(listing.IMPLEMENTATIONS, "listing")
    root = tempfile.mkdtemp()
    try:
        for i, name in enumerate(names):
            path = os.path.join(os.fsencode(root), name)
            if i % 5 == 4:
                os.mkdir(path)
            else:
                with open(path, "wb") as f:
                    f.write(b"y" * sizes[i])
        assert listed(native, Path(root)) == listed(pure, Path(root)) == expected(Path(root))
    finally:
        shutil.rmtree(root)
