"""The content-type cache of ``fs/stat``: a hit only for the very version of a file that was sniffed."""

from __future__ import annotations

import os
import time
from pathlib import Path

from outrider.fs.sniff_cache import SETTLED_NS, SniffCache


def write(path: Path, data: bytes) -> os.stat_result:
    path.write_bytes(data)
    return os.stat(path)


def test_a_result_is_found_for_the_same_version_only(tmp_path: Path) -> None:
    cache = SniffCache(settle_ns=0)
    f = tmp_path / "page"
    st = write(f, b"<html>")
    cache.put(st, "text/html; charset=utf-8")
    assert cache.get(os.stat(f)) == "text/html; charset=utf-8"
    # A rewrite of the same size moves the change time: no longer the sniffed version.
    time.sleep(0.02)
    with open(f, "r+b") as fh:
        fh.write(b"\x89PNG\r\n")
    assert os.stat(f).st_size == st.st_size
    assert cache.get(os.stat(f)) is None
    # Another file never shares an entry, even with the same size and times.
    other = tmp_path / "other"
    other.write_bytes(b"<html>")
    assert cache.get(os.stat(other)) is None


def test_a_growing_file_misses(tmp_path: Path) -> None:
    cache = SniffCache(settle_ns=0)
    f = tmp_path / "log"
    cache.put(write(f, b"line one\n"), "text/plain; charset=utf-8")
    with open(f, "ab") as fh:
        fh.write(b"line two\n")
    assert cache.get(os.stat(f)) is None


def test_only_settled_files_may_key_a_result(tmp_path: Path) -> None:
    fresh = write(tmp_path / "fresh", b"x")
    assert not SniffCache().settled(fresh)
    assert SETTLED_NS >= 10_000_000  # well above a coarse kernel clock tick
    time.sleep(0.02)
    assert SniffCache(settle_ns=10_000_000).settled(fresh)


def test_capacity_drops_the_oldest(tmp_path: Path) -> None:
    cache = SniffCache(capacity=3, settle_ns=0)
    stats = [write(tmp_path / f"f{i}", b"x") for i in range(4)]
    for st in stats:
        cache.put(st, "text/plain; charset=utf-8")
    assert len(cache) == 3
    assert cache.get(stats[0]) is None
    assert all(cache.get(st) == "text/plain; charset=utf-8" for st in stats[1:])
