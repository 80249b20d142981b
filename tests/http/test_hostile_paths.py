"""Hostile paths against a real agent: every one gets the right 4xx, and none leaks a descriptor."""

from __future__ import annotations

import os
import stat
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import AgentProcess, AllocFixture, make_external_alloc

pytestmark = pytest.mark.functional

ESCAPES = "Path escapes the alloc directory"


@pytest.fixture(scope="module")
def tree(agent: AgentProcess) -> AllocFixture:
    alloc = make_external_alloc(agent.alloc_dir, tasks=("web", "api"))
    p = alloc.path
    alloc.write("alloc/data/real.txt", "inside")
    alloc.write("alloc/file", "plain")
    alloc.write("api/secrets/key", "api-secret")
    alloc.write("web/secrets/key", "web-secret")
    alloc.write("..foo", "dots are a name")
    (p / "alloc/data" / os.fsdecode(b"caf\xe9")).write_text("x")
    os.symlink("/etc", p / "alloc/data/etc")
    os.symlink("/etc/passwd", p / "alloc/data/passwd")
    os.symlink("../../../../../../../../..", p / "alloc/data/up")
    os.symlink("hop2", p / "alloc/data/hop1")
    os.symlink("/etc", p / "alloc/data/hop2")
    os.symlink("ok2", p / "alloc/data/ok1")
    os.symlink("real.txt", p / "alloc/data/ok2")
    os.symlink("../../api/secrets/key", p / "alloc/data/s")
    os.symlink("../../api/secrets", p / "alloc/data/sd")
    os.symlink(str(p / "alloc/data/real.txt"), p / "alloc/data/abs_inside")
    sibling = Path(str(p) + "X")
    sibling.mkdir()
    (sibling / "f").write_text("sibling")
    os.symlink(str(sibling / "f"), p / "alloc/data/abs_sibling")
    os.symlink("loop2", p / "alloc/data/loop1")
    os.symlink("loop1", p / "alloc/data/loop2")
    os.symlink("missing-target", p / "alloc/data/dangling")
    os.symlink("/proc/self/fd/0", p / "alloc/data/magic")
    os.symlink("/proc/self/root/etc/passwd", p / "alloc/data/procroot")
    os.symlink("../web/secrets", p / "api/peek")
    os.mkfifo(p / "alloc/data/fifo")
    if os.geteuid() == 0:
        os.mknod(p / "alloc/data/null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        os.chmod(p / "alloc/data/null", 0o666)
    return alloc


# (endpoint, path, status, body); "{p}" in body is the request path.
CASES = [
    ("cat", "../", 400, ESCAPES),
    ("cat", "../../etc/passwd", 400, ESCAPES),
    ("cat", "alloc/../../x", 400, ESCAPES),
    ("cat", "alloc/logs/../../..", 400, ESCAPES),
    ("ls", "%2e%2e/", 400, ESCAPES),
    ("stat", "..%2f..%2fetc", 400, ESCAPES),
    ("cat", "/etc/passwd", 400, "stat etc/passwd: no such file or directory"),
    ("cat", "//etc/passwd", 400, "stat etc/passwd: no such file or directory"),
    ("cat", "alloc/%00x", 400, "invalid path: contains a NUL byte"),
    ("cat", "alloc/data/etc/passwd", 400, ESCAPES),
    ("cat", "alloc/data/passwd", 400, ESCAPES),
    ("ls", "alloc/data/etc", 400, ESCAPES),
    ("stat", "alloc/data/passwd", 400, ESCAPES),
    ("readat", "alloc/data/passwd", 400, ESCAPES),
    ("cat", "alloc/data/up/etc/passwd", 400, ESCAPES),
    ("ls", "alloc/data/up", 400, ESCAPES),
    ("cat", "alloc/data/hop1/passwd", 400, ESCAPES),
    ("cat", "alloc/data/ok1", 200, "inside"),
    ("cat", "alloc/data/abs_inside", 200, "inside"),
    ("cat", "alloc/data/abs_sibling", 400, ESCAPES),
    ("cat", "alloc/data/s", 403, "Reading secret file prohibited: alloc/data/s"),
    ("cat", "alloc/data/sd/key", 403, "Reading secret file prohibited: alloc/data/sd/key"),
    ("readat", "alloc/data/sd/key", 403, "Reading secret file prohibited: alloc/data/sd/key"),
    ("cat", "api/peek/key", 403, "Reading secret file prohibited: api/peek/key"),
    ("cat", "web/./secrets/./key", 403, "Reading secret file prohibited: web/./secrets/./key"),
    (
        "cat",
        "alloc/data/../../web/secrets/key",
        403,
        "Reading secret file prohibited: alloc/data/../../web/secrets/key",
    ),
    ("cat", "WEB/SECRETS/key", 400, "stat WEB/SECRETS/key: no such file or directory"),
    ("cat", "alloc/data/loop1", 400, "stat alloc/data/loop1: too many levels of symbolic links"),
    ("cat", "x" * 300, 400, f"stat {'x' * 300}: file name too long"),
    ("cat", "alloc/data/dangling", 400, "stat alloc/data/dangling: no such file or directory"),
    ("cat", "alloc/file/x", 400, "stat alloc/file/x: not a directory"),
    ("cat", "alloc/data/magic", 400, ESCAPES),
    ("cat", "alloc/data/procroot", 400, ESCAPES),
    ("cat", "alloc/data/fifo", 400, 'file "alloc/data/fifo" is not a regular file'),
    ("cat", "..foo", 200, "dots are a name"),
    ("cat", "alloc/data/caf%E9", 200, "x"),
    ("stat", "alloc/data/caf%E9", 200, None),
    ("ls", "web/secrets", 200, None),
]


def _url(endpoint: str, alloc_id: str, path: str) -> str:
    extra = "&offset=0&limit=100" if endpoint == "readat" else ""
    return f"/v1/client/fs/{endpoint}/{alloc_id}?path={path}{extra}"


@pytest.mark.parametrize(
    ("endpoint", "path", "status", "body"), CASES, ids=[f"{c[0]}:{c[1][:40]}" for c in CASES]
)
def test_hostile_path(
    agent: AgentProcess, tree: AllocFixture, endpoint: str, path: str, status: int, body: str | None
) -> None:
    with agent.client() as client:  # warm up: the first request opens the loop's lazy descriptors
        client.get(_url("cat", tree.id, "alloc/data/real.txt"))
    before = agent.settled_fds(at_most=0, timeout=0.2)
    with agent.client() as client:
        resp = client.get(_url(endpoint, tree.id, path))
    assert resp.status_code == status, resp.text
    if body is not None:
        assert resp.text == body
    assert "/etc/passwd" not in resp.text or status != 200
    assert str(tree.path) not in resp.text  # no host paths in answers (Nomad's have them)
    assert agent.settled_fds(at_most=before) <= before


def test_char_device_is_refused(agent: AgentProcess, tree: AllocFixture) -> None:
    if not (tree.path / "alloc/data/null").exists():
        pytest.skip("creating a device node needs root")
    with agent.client() as client:
        resp = client.get(_url("cat", tree.id, "alloc/data/null"))
        assert (resp.status_code, resp.text) == (400, 'file "alloc/data/null" is not a regular file')
        st = client.get(_url("stat", tree.id, "alloc/data/null")).json()
        assert st["FileMode"] == "Dcrw-rw-rw-"


def test_symlink_swapped_while_reading_never_leaks(agent: AgentProcess, tree: AllocFixture) -> None:
    link = tree.path / "alloc/data/swap"
    staging = tree.path / "alloc/data/swap.tmp"
    stop = threading.Event()

    def flip() -> None:
        targets = ["real.txt", "/etc/passwd"]
        i = 0
        while not stop.is_set():
            os.symlink(targets[i % 2], staging)
            os.replace(staging, link)
            i += 1

    os.symlink("real.txt", link)
    flipper = threading.Thread(target=flip)
    flipper.start()
    seen: set[tuple[int, str]] = set()
    try:
        deadline = time.monotonic() + 1.5
        with agent.client() as client:
            while time.monotonic() < deadline:
                resp = client.get(_url("cat", tree.id, "alloc/data/swap"))
                seen.add((resp.status_code, resp.text))
    finally:
        stop.set()
        flipper.join()
    assert seen <= {(200, "inside"), (400, ESCAPES), (400, "stat alloc/data/swap: no such file or directory")}
    assert (200, "inside") in seen


def test_many_bad_requests_leave_fd_count_flat(agent: AgentProcess, tree: AllocFixture) -> None:
    with agent.client() as client:
        client.get(_url("cat", tree.id, "alloc/data/real.txt"))
        before = agent.settled_fds(at_most=0, timeout=0.2)
        for _ in range(20):
            for endpoint, path, _status, _body in CASES:
                client.get(_url(endpoint, tree.id, path))
        assert agent.settled_fds(at_most=before) <= before
