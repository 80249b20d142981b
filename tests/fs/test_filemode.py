"""Go ``os.FileMode.String()`` for Linux stat modes (Go ``io/fs``), on every implementation."""

from __future__ import annotations

import os
import socket
import stat
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from outrider.fs import filemode
from tests import twins
from tests.twins import TWINS, pick


@pytest.fixture(scope="module", params=TWINS)
def impl(request: pytest.FixtureRequest) -> ModuleType:
    return pick(filemode.IMPLEMENTATIONS, request.param, "filemode")


@pytest.fixture(scope="module")
def both() -> tuple[ModuleType, ModuleType]:
    return twins.both(filemode.IMPLEMENTATIONS, "filemode")


SPEC_EXAMPLES = [
    (stat.S_IFREG | 0o644, "-rw-r--r--"),
    (stat.S_IFDIR | 0o755, "drwxr-xr-x"),
    (stat.S_IFDIR | 0o1777, "dtrwxrwxrwx"),
    (stat.S_IFLNK | 0o777, "Lrwxrwxrwx"),
    (stat.S_IFIFO | 0o600, "prw-------"),
    (stat.S_IFREG | 0o4755, "urwxr-xr-x"),
    (stat.S_IFCHR | 0o666, "Dcrw-rw-rw-"),
]

MORE_EXAMPLES = [
    (stat.S_IFREG, "----------"),
    (stat.S_IFREG | 0o777, "-rwxrwxrwx"),
    (stat.S_IFREG | 0o421, "-r---w---x"),
    (stat.S_IFBLK | 0o660, "Drw-rw----"),
    (stat.S_IFSOCK | 0o755, "Srwxr-xr-x"),
    (stat.S_IFREG | 0o2755, "grwxr-xr-x"),
    (stat.S_IFREG | 0o1644, "trw-r--r--"),
    (stat.S_IFREG | 0o7777, "ugtrwxrwxrwx"),
    (stat.S_IFDIR | 0o2775, "dgrwxrwxr-x"),
    # Letter order is Go's "dalTLDpSugct?": a char device's 'c' comes after u and g.
    (stat.S_IFCHR | 0o7666, "Dugctrw-rw-rw-"),
    (stat.S_IFBLK | 0o4000, "Du---------"),
    (stat.S_IFIFO | 0o1000, "pt---------"),
    # A type Linux does not define adds no letter (Go's stat_linux.go has no default case).
    (0o070644, "-rw-r--r--"),
    (0, "----------"),
    # Only the low 16 bits count.
    (0o1_100644, "-rw-r--r--"),
    (-1, "ugtrwxrwxrwx"),
]


@pytest.mark.parametrize(("mode", "expected"), SPEC_EXAMPLES + MORE_EXAMPLES)
def test_mode_strings(impl: ModuleType, mode: int, expected: str) -> None:
    assert impl.file_mode_string(mode) == expected


def test_real_filesystem_objects(impl: ModuleType, tmp_path: Path) -> None:
    regular = tmp_path / "f"
    regular.write_bytes(b"x")
    regular.chmod(0o644)
    directory = tmp_path / "d"
    directory.mkdir()
    directory.chmod(0o1777)
    link = tmp_path / "l"
    link.symlink_to(regular)
    fifo = tmp_path / "p"
    os.mkfifo(fifo, 0o600)
    sock_path = tmp_path / "s"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.bind(str(sock_path))
    os.chmod(sock_path, 0o755)

    assert impl.file_mode_string(os.lstat(regular).st_mode) == "-rw-r--r--"
    assert impl.file_mode_string(os.lstat(directory).st_mode) == "dtrwxrwxrwx"
    assert impl.file_mode_string(os.lstat(link).st_mode) == "Lrwxrwxrwx"
    assert impl.file_mode_string(os.lstat(fifo).st_mode) == "prw-------"
    assert impl.file_mode_string(os.lstat(sock_path).st_mode) == "Srwxr-xr-x"
    dev_null = os.lstat("/dev/null").st_mode
    assert impl.file_mode_string(dev_null).startswith("Dc")


def test_rejects_non_integers(impl: ModuleType) -> None:
    with pytest.raises(TypeError):
        impl.file_mode_string("0644")


def test_selector_exports_active_implementation() -> None:
    assert "pure" in filemode.IMPLEMENTATIONS
    active = filemode.file_mode_string
    assert active in {m.file_mode_string for m in filemode.IMPLEMENTATIONS.values()}


FILE_TYPES = [
    stat.S_IFREG,
    stat.S_IFDIR,
    stat.S_IFLNK,
    stat.S_IFIFO,
    stat.S_IFSOCK,
    stat.S_IFBLK,
    stat.S_IFCHR,
    0,
    0o030000,
    0o050000,
    0o070000,
    0o110000,
    0o130000,
    0o150000,
    0o160000,
    0o170000,
]


@settings(max_examples=500, deadline=None)
@given(st.sampled_from(FILE_TYPES), st.integers(0, 0o7777))
def test_parity_every_file_type(both: tuple[ModuleType, ModuleType], kind: int, perms: int) -> None:
    native, pure = both
    mode = kind | perms
    got = native.file_mode_string(mode)
    assert got == pure.file_mode_string(mode)
    # Whatever the type, the string always ends with the nine permission characters.
    assert len(got) >= 10
    assert got[-9:] == "".join(c if perms & (0o400 >> i) else "-" for i, c in enumerate("rwxrwxrwx"))


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=-(1 << 70), max_value=1 << 70))
def test_parity_any_integer(both: tuple[ModuleType, ModuleType], mode: int) -> None:
    native, pure = both
    assert native.file_mode_string(mode) == pure.file_mode_string(mode)
