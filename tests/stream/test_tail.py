"""The tail reader: one body over both implementations, on real files changed under it."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outrider.stream.tail import IMPLEMENTATIONS
from tests.stream.conftest import append
from tests.twins import pick

HYPOTHESIS = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(params=["native", "pure"])
def impl(request: pytest.FixtureRequest) -> ModuleType:
    return pick(IMPLEMENTATIONS, request.param, "tail")


def open_reader(impl: ModuleType, path: Path, offset: int = 0, **kwargs: Any) -> Any:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    parent = os.open(path.parent, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
    return impl.TailReader(fd, parent, path.name, offset, **kwargs)


def read_all(reader: Any) -> bytes:
    out = []
    while True:
        out.append(bytes(reader.read()))
        if reader.eof:
            return b"".join(out)


def test_reads_in_chunks_up_to_eof(impl: ModuleType, log: Path) -> None:
    append(log, b"hello world")
    with open_reader(impl, log, chunk_size=4) as r:
        assert [bytes(r.read()) for _ in range(3)] == [b"hell", b"o wo", b"rld"]
        assert r.eof and r.offset == 11
        assert bytes(r.read(2)) == b"" and r.eof


def test_budget_limits_a_read_without_claiming_eof(impl: ModuleType, log: Path) -> None:
    append(log, b"abcdef")
    with open_reader(impl, log, 1) as r:
        assert bytes(r.read(3)) == b"bcd" and not r.eof and r.offset == 4
        assert bytes(r.read(0)) == b"" and not r.eof


def test_read_view_reuses_one_buffer(impl: ModuleType, log: Path) -> None:
    append(log, b"aaaabbbb")
    buf = bytearray(4)
    with open_reader(impl, log, buffer=buf) as r:
        first = r.read()
        assert first.obj is buf and bytes(first) == b"aaaa"
        r.read()
        assert bytes(first) == b"bbbb"  # the same bytes, overwritten by the second read
        assert r.chunk_size == 4


def test_check_reports_ok_while_growing(impl: ModuleType, log: Path) -> None:
    append(log, b"one\n")
    with open_reader(impl, log) as r:
        assert read_all(r) == b"one\n"
        append(log, b"two\n")
        assert r.check() == "ok"
        assert read_all(r) == b"two\n" and r.offset == 8


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (b"0123456789", b"new"),  # shorter than the offset
        (b"a" * 1000, b"b" * 3000),  # longer again: only the bytes before the offset tell
    ],
)
def test_truncation_then_rewind(impl: ModuleType, log: Path, before: bytes, after: bytes) -> None:
    append(log, before)
    with open_reader(impl, log) as r:
        read_all(r)
        with open(log, "r+b") as f:
            f.truncate(0)
            f.write(after)
        assert r.check() == "truncated"
        r.rewind(0)
        assert r.check() == "ok"
        assert read_all(r) == after


def test_regrowth_by_the_same_bytes_reads_on(impl: ModuleType, log: Path) -> None:
    # Indistinguishable from an append, and harmless: what follows continues what was sent.
    append(log, b"0123456789" * 10)
    with open_reader(impl, log) as r:
        read_all(r)
        with open(log, "r+b") as f:
            f.truncate(0)
            f.write(b"0123456789" * 10 + b"tail")
        assert r.check() == "ok"
        assert read_all(r) == b"tail"


def test_a_rewrite_far_before_the_offset_is_not_seen(impl: ModuleType, log: Path) -> None:
    # Only the bytes just before the offset are compared: one short read per check.
    append(log, b"x" * 100)
    with open_reader(impl, log) as r:
        read_all(r)
        with open(log, "r+b") as f:
            f.write(b"y" * (100 - impl.FINGERPRINT_SIZE))
        assert r.check() == "ok"
        with open(log, "r+b") as f:
            f.seek(99)
            f.write(b"z")
        assert r.check() == "truncated"


@pytest.mark.parametrize("start", [0, 5, 40, 100])
def test_fingerprint_is_the_bytes_just_before_the_offset(impl: ModuleType, log: Path, start: int) -> None:
    data = bytes(range(100))
    append(log, data)
    size = impl.FINGERPRINT_SIZE
    with open_reader(impl, log, start, chunk_size=7) as r:
        assert r.fingerprint == data[max(0, start - size) : start]
        while not r.eof:
            r.read()
            assert r.fingerprint == data[max(0, r.offset - size) : r.offset]
        r.rewind(50)
        assert r.fingerprint == data[50 - size : 50]
        r.rewind(0)
        assert r.fingerprint == b""


def test_a_reader_started_past_the_end_has_no_fingerprint_until_it_reads(impl: ModuleType, log: Path) -> None:
    append(log, b"abc")
    with open_reader(impl, log, 10) as r:
        assert r.fingerprint == b""
        append(log, b"defghijKLM")
        assert bytes(r.read()) == b"KLM" and r.fingerprint == b"KLM"


def test_skip_takes_the_other_readers_fingerprint(impl: ModuleType, log: Path) -> None:
    append(log, b"a" * 100)
    with open_reader(impl, log) as leader, open_reader(impl, log) as follower:
        read_all(leader)
        follower.skip(leader.offset, leader.fingerprint)
        assert follower.fingerprint == leader.fingerprint == b"a" * impl.FINGERPRINT_SIZE
        with open(log, "r+b") as f:
            f.truncate(0)
            f.write(b"b" * 300)
        assert follower.check() == "truncated"


def test_skip_without_a_fingerprint_reads_it(impl: ModuleType, log: Path) -> None:
    append(log, bytes(range(64)))
    with open_reader(impl, log) as r:
        r.skip(40)
        assert r.fingerprint == bytes(range(40 - impl.FINGERPRINT_SIZE, 40))
        r.skip(100)  # past the end: nothing is known there
        assert r.fingerprint == b""


@pytest.mark.parametrize(
    ("offset", "fingerprint", "error"),
    [(3, b"abcd", ValueError), (100, b"x" * 33, ValueError), (10, bytearray(b"ab"), TypeError)],
)
def test_skip_refuses_a_fingerprint_that_cannot_fit(
    impl: ModuleType, log: Path, offset: int, fingerprint: Any, error: type[Exception]
) -> None:
    append(log, b"0123456789")
    with open_reader(impl, log) as r:
        with pytest.raises(error):
            r.skip(offset, fingerprint)
        assert r.offset == 0


def test_offset_past_eof_waits_instead_of_reporting_truncation(impl: ModuleType, log: Path) -> None:
    # Following from past EOF: the reference invents a truncation and restarts from 0.
    append(log, b"abc")
    with open_reader(impl, log, 10) as r:
        assert r.check() == "ok"
        assert bytes(r.read()) == b"" and r.eof
        append(log, b"defghijKLM")
        assert r.check() == "ok"
        assert read_all(r) == b"KLM"


def test_offset_past_eof_still_sees_a_real_truncation(impl: ModuleType, log: Path) -> None:
    append(log, b"abcdef")
    with open_reader(impl, log, 100) as r:
        assert r.check() == "ok"
        os.truncate(log, 2)
        assert r.check() == "truncated"


def test_replaced_by_rename_is_not_deleted(impl: ModuleType, log: Path) -> None:
    # Replaced file: the reference ends the stream with "file deleted".
    append(log, b"old")
    with open_reader(impl, log) as r:
        fresh = log.with_name("fresh")
        fresh.write_bytes(b"new")
        os.rename(fresh, log)
        assert r.check() == "replaced"
        assert read_all(r) == b"old"  # the old file can still be drained


def test_deleted_when_the_name_is_gone(impl: ModuleType, log: Path) -> None:
    append(log, b"data")
    with open_reader(impl, log) as r:
        os.unlink(log)
        assert r.check() == "deleted"
        assert read_all(r) == b"data"


def test_renamed_away_counts_as_deleted(impl: ModuleType, log: Path) -> None:
    with open_reader(impl, log) as r:
        os.rename(log, log.with_name("web.stdout.0.old"))
        assert r.check() == "deleted"


def test_symlink_put_at_the_name_is_a_replacement(impl: ModuleType, log: Path) -> None:
    with open_reader(impl, log) as r:
        target = log.with_name("target")
        os.rename(log, target)
        os.symlink(target.name, log)
        assert r.check() == "replaced"  # the name is checked without following it


def test_the_directory_is_held_by_descriptor(impl: ModuleType, tmp_path: Path) -> None:
    sub = tmp_path / "sub"
    sub.mkdir()
    path = sub / "f"
    path.write_bytes(b"x")
    with open_reader(impl, path) as r:
        os.rename(sub, tmp_path / "moved")
        assert r.check() == "ok"  # the directory moved, the name in it did not
        os.unlink(tmp_path / "moved" / "f")
        (tmp_path / "moved").rmdir()
        assert r.check() == "deleted"


def test_errors_from_the_directory_are_raised_not_fatal(impl: ModuleType, log: Path) -> None:
    # Nomad's polling watcher (hpcloud/tail): a stat error other than "not found" kills the reference agent.
    fd = os.open(log, os.O_RDONLY | os.O_CLOEXEC)
    not_a_dir = os.open(log, os.O_PATH | os.O_CLOEXEC)
    with impl.TailReader(fd, not_a_dir, "x", 0) as r, pytest.raises(NotADirectoryError):
        r.check()


def test_skip_moves_forward_and_remembers_the_size(impl: ModuleType, log: Path) -> None:
    append(log, b"0123456789")
    with open_reader(impl, log) as r:
        r.skip(8)
        assert r.offset == 8 and bytes(r.read()) == b"89"
        with pytest.raises(ValueError):
            r.skip(3)
        os.truncate(log, 5)
        assert r.check() == "truncated"


def test_closed_reader_refuses_io_and_closes_once(impl: ModuleType, log: Path) -> None:
    r = open_reader(impl, log)
    fd = r.fd
    r.close()
    r.close()
    with pytest.raises(OSError) as info:
        os.fstat(fd)
    assert info.value.errno == errno.EBADF
    for call in (r.read, r.check, r.rewind):
        with pytest.raises(ValueError):
            call()


def test_a_release_callback_gets_both_descriptors_once_instead_of_close(impl: ModuleType, log: Path) -> None:
    given: list[int] = []
    r = open_reader(impl, log, release=given.append)
    fd, parent = r.fd, r.parent_fd
    r.close()
    r.close()
    assert given == [fd, parent]
    # Released, not closed: the owner of the descriptors closes them.
    for n in given:
        os.fstat(n)
        os.close(n)


@pytest.mark.parametrize(("offset", "chunk", "buf"), [(-1, 10, None), (0, 0, None), (0, 10, bytearray())])
def test_bad_arguments(impl: ModuleType, log: Path, offset: int, chunk: int, buf: bytearray | None) -> None:
    fd = os.open(log, os.O_RDONLY | os.O_CLOEXEC)
    parent = os.open(log.parent, os.O_PATH | os.O_CLOEXEC)
    try:
        with pytest.raises(ValueError):
            impl.TailReader(fd, parent, log.name, offset, chunk, buf)
    finally:
        os.close(fd)
        os.close(parent)


def test_identity_is_the_open_inode(impl: ModuleType, log: Path) -> None:
    st = os.stat(log)
    with open_reader(impl, log) as r:
        assert r.identity == (st.st_dev, st.st_ino)


# -- parity: both twins watch the same file change and must agree on every answer ------------------

OPS = st.lists(
    st.one_of(
        st.tuples(st.just("append"), st.integers(1, 3000)),
        st.tuples(st.just("truncate"), st.integers(0, 5000)),
        st.tuples(st.just("rewrite"), st.integers(0, 5000)),
        st.tuples(st.just("replace"), st.integers(0, 3000)),
        st.tuples(st.just("delete"), st.just(0)),
        st.tuples(st.just("read"), st.integers(-1, 4000)),
        st.tuples(st.just("check"), st.just(0)),
        st.tuples(st.just("rewind"), st.integers(0, 100)),
        st.tuples(st.just("skip"), st.integers(0, 500)),
        st.tuples(st.just("skip_shared"), st.integers(0, 500)),
        st.tuples(st.just("fingerprint"), st.just(0)),
    ),
    max_size=40,
)


@HYPOTHESIS
@given(ops=OPS, start=st.integers(0, 200), chunk=st.integers(1, 2048))
def test_native_and_pure_agree_under_random_changes(
    tmp_path: Path, ops: list[tuple[str, int]], start: int, chunk: int
) -> None:
    if "native" not in IMPLEMENTATIONS:
        pytest.skip("native outrider._native.tail is not built (python setup.py build_ext --inplace)")
    path = tmp_path / "f"
    path.write_bytes(bytes(range(256)) * 2)
    readers = [open_reader(IMPLEMENTATIONS[n], path, start, chunk_size=chunk) for n in ("native", "pure")]
    counter = 0
    try:
        for op, arg in ops:
            counter += 1
            if op == "append":
                append(path, bytes([counter % 256]) * arg)
            elif op == "truncate" and path.exists():
                os.truncate(path, arg)
            elif op == "rewrite" and path.exists():
                # Truncated, then written again at once: one change as the readers see it.
                with open(path, "r+b") as f:
                    f.truncate(0)
                    f.write(bytes([counter % 256]) * arg)
            elif op == "replace":
                tmp = tmp_path / "tmp"
                tmp.write_bytes(bytes([counter % 256]) * arg)
                os.rename(tmp, path)
            elif op == "delete" and path.exists():
                os.unlink(path)
            elif op == "skip_shared":
                # What a reader that read up to there would hand over (the file's bytes now).
                target = readers[0].offset + arg
                data = path.read_bytes() if path.exists() else b""
                shared = data[max(0, target - 32) : target] if target <= len(data) else b""
                results = [_apply(r, op, target, shared) for r in readers]
                assert results[0] == results[1], (op, arg)
            else:
                results = [_apply(r, op, arg) for r in readers]
                assert results[0] == results[1], (op, arg)
    finally:
        for r in readers:
            r.close()


def _apply(reader: Any, op: str, arg: int, shared: bytes = b"") -> object:
    try:
        if op == "read":
            data = bytes(reader.read(arg))
            return (data, reader.eof, reader.offset, reader.fingerprint)
        if op == "check":
            return reader.check()
        if op == "rewind":
            reader.rewind(arg)
            return reader.offset
        if op == "skip":
            reader.skip(reader.offset + arg)
            return reader.offset, reader.fingerprint
        if op == "skip_shared":
            reader.skip(arg, shared)
            return reader.offset, reader.fingerprint
        if op == "fingerprint":
            return reader.fingerprint
    except (OSError, ValueError) as exc:
        return type(exc), getattr(exc, "errno", None)
    return None
