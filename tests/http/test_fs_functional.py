"""ls, stat, cat and readat against a real agent process on loopback (``command/agent/fs_endpoint.go``)."""

from __future__ import annotations

import os
import shutil
import time
import uuid
from pathlib import Path

import httpx
import pytest

from outrider.gostrconv import format_rfc3339nano
from tests.conftest import AgentProcess, AllocFixture, make_external_alloc

pytestmark = pytest.mark.functional

XSS = b"<script>alert(document.domain);</script>"
UNTRUSTED = {
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox",
    "x-content-type-options": "nosniff",
    "x-xss-protection": "1; mode=block",
}


def get(agent: AgentProcess, url: str, **params: str) -> httpx.Response:
    with agent.client() as client:
        return client.get(url, params=params)


def assert_error(resp: httpx.Response, status: int, text: str) -> None:
    assert (resp.status_code, resp.text) == (status, text)
    assert resp.headers["content-type"] == "text/plain; charset=utf-8"


# -- ls ------------------------------------------------------------------------------------------


def test_ls_root_lists_layout_sorted(agent: AgentProcess, alloc: AllocFixture) -> None:
    resp = get(agent, f"/v1/client/fs/ls/{alloc.id}")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/json"
    entries = resp.json()
    assert [e["Name"] for e in entries] == ["alloc", "web"]
    st = os.stat(alloc.path / "web")
    assert entries[1] == {
        "FileMode": "drwxrwxrwx",
        "IsDir": True,
        "ModTime": format_rfc3339nano(st.st_mtime_ns),
        "Name": "web",
        "Size": st.st_size,
    }
    # Compact, sorted keys, no trailing newline (``command/agent/http.go`` ``wrap``).
    assert resp.content.startswith(b'[{"FileMode":"drwxr-xr-x","IsDir":true,"ModTime":')
    assert not resp.content.endswith(b"\n")


def test_ls_pretty_and_symlink_entry(agent: AgentProcess, alloc: AllocFixture) -> None:
    alloc.write("alloc/data/f.txt", "x")
    os.symlink("f.txt", alloc.path / "alloc/data/link")
    os.mkfifo(alloc.path / "alloc/data/pipe", 0o600)
    resp = get(agent, f"/v1/client/fs/ls/{alloc.id}", path="/alloc/data", pretty="")
    assert resp.text.endswith("}\n]\n") and '    "FileMode": ' in resp.text
    entries = {e["Name"]: e for e in resp.json()}
    assert entries["link"]["FileMode"] == "Lrwxrwxrwx" and entries["link"]["Size"] == len("f.txt")
    assert entries["pipe"]["FileMode"] == "prw-------"
    assert "ContentType" not in entries["f.txt"]
    assert get(agent, f"/v1/client/fs/ls/{alloc.id}", path="alloc/data", pretty="0").text.startswith("[{")


def test_ls_errors(agent: AgentProcess, alloc: AllocFixture) -> None:
    alloc.write("alloc/file", "x")
    assert_error(get(agent, "/v1/client/fs/ls/"), 400, "must provide a valid alloc id")
    missing = str(uuid.uuid4())
    assert_error(get(agent, f"/v1/client/fs/ls/{missing}"), 404, f'Unknown allocation "{missing}"')
    assert_error(
        get(agent, f"/v1/client/fs/ls/{alloc.id}", path="nope"), 404, "open nope: no such file or directory"
    )
    assert_error(
        get(agent, f"/v1/client/fs/ls/{alloc.id}", path="alloc/file"),
        400,
        "readdirent alloc/file: not a directory",
    )
    assert_error(
        get(agent, f"/v1/client/fs/ls/{alloc.id}", path="../"), 400, "Path escapes the alloc directory"
    )
    assert_error(
        get(agent, f"/v1/client/fs/ls/{alloc.id}", stale="maybe"),
        400,
        "Expect `true` or `false` for `stale` query string parameter",
    )
    assert_error(get(agent, f"/v1/client/fs/ls/{alloc.id}", index="x"), 400, "Invalid index")
    assert_error(get(agent, f"/v1/client/fs/ls/{alloc.id}", wait="soon"), 400, "Invalid wait time")


def test_routing(agent: AgentProcess, alloc: AllocFixture) -> None:
    assert_error(get(agent, f"/v1/client/fs/bogus/{alloc.id}"), 404, "Invalid method")
    assert_error(get(agent, "/v1/client/fs/ls"), 404, "Invalid method")
    assert_error(get(agent, f"/v1/client/allocation/{alloc.id}"), 404, "resource not found")
    assert_error(get(agent, f"/v1/client/allocation/{alloc.id}/bogus"), 404, "resource not found")
    resp = get(agent, "/v1/nothing/here")
    assert (resp.status_code, resp.content) == (404, b"")


def test_cors_headers(agent: AgentProcess, alloc: AllocFixture) -> None:
    with agent.client() as client:
        resp = client.get(f"/v1/client/fs/ls/{alloc.id}", headers={"Origin": "http://ui.example"})
        assert resp.headers["access-control-allow-origin"] == "*"
        assert resp.headers["access-control-allow-credentials"] == "true"
        assert "Origin" in resp.headers["vary"]
        pre = client.options(
            f"/v1/client/fs/ls/{alloc.id}",
            headers={
                "Origin": "http://ui.example",
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "X-Nomad-Token",
            },
        )
        assert pre.status_code == 204
        assert pre.headers["access-control-allow-methods"] == "GET"
        assert pre.headers["access-control-allow-headers"] == "X-Nomad-Token"
        no_cors = client.post("/v1/client/fs/ls/" + alloc.id, headers={"Origin": "http://ui.example"})
        assert "access-control-allow-origin" not in no_cors.headers


# -- stat ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("a.txt", b"hello", "text/plain; charset=utf-8"),
        ("a.html", b"<html><body>x", "text/html; charset=utf-8"),
        ("a.bin", b"\x00\x01\x02", "application/octet-stream"),
        ("a.png", b"\x89PNG\r\n\x1a\nrest", "image/png"),
        ("a.json", b'{"a": 1}', "application/json"),
        ("empty", b"", "application/octet-stream"),
    ],
)
def test_stat_content_type(
    agent: AgentProcess, alloc: AllocFixture, name: str, content: bytes, expected: str
) -> None:
    alloc.write(f"alloc/{name}", content)
    resp = get(agent, f"/v1/client/fs/stat/{alloc.id}", path=f"alloc/{name}")
    assert resp.status_code == 200
    body = resp.json()
    assert body["ContentType"] == expected
    assert body["Name"] == name and body["Size"] == len(content) and body["IsDir"] is False
    assert list(body) == ["ContentType", "FileMode", "IsDir", "ModTime", "Name", "Size"]


def test_stat_content_type_follows_rewrites_of_a_settled_file(
    agent: AgentProcess, alloc: AllocFixture
) -> None:
    # Content types of files unchanged for a second are remembered; a rewrite must
    # still show at once, even one that keeps the size.
    path = alloc.write("alloc/data/page", b"<html><body>hi</body></html>")
    time.sleep(1.2)

    def content_type() -> str:
        resp = get(agent, f"/v1/client/fs/stat/{alloc.id}", path="alloc/data/page")
        assert resp.status_code == 200
        return str(resp.json()["ContentType"])

    assert content_type() == content_type() == "text/html; charset=utf-8"
    with open(path, "r+b") as fh:
        fh.write(b"\x89PNG\r\n\x1a\n")
    assert path.stat().st_size == len(b"<html><body>hi</body></html>")
    assert content_type() == "image/png"
    path.unlink()
    path.write_bytes(b"%PDF-1.7 and more")
    assert content_type() == "application/pdf"


def test_stat_root_dir_and_errors(agent: AgentProcess, alloc: AllocFixture) -> None:
    root = get(agent, f"/v1/client/fs/stat/{alloc.id}", path="/").json()
    assert root["Name"] == alloc.id and root["IsDir"] and root["ContentType"] == "application/octet-stream"
    sub = get(agent, f"/v1/client/fs/stat/{alloc.id}", path="alloc/").json()
    assert sub["Name"] == "alloc" and sub["FileMode"] == "drwxr-xr-x"
    tmp = get(agent, f"/v1/client/fs/stat/{alloc.id}", path="web/tmp").json()
    assert tmp["FileMode"] == "dtrwxrwxrwx"
    assert_error(get(agent, f"/v1/client/fs/stat/{alloc.id}"), 400, "must provide a file name")
    assert_error(
        get(agent, f"/v1/client/fs/stat/{alloc.id}", path="x/y"), 404, "stat x/y: no such file or directory"
    )


def test_stat_follows_symlink_and_fifo_does_not_hang(agent: AgentProcess, alloc: AllocFixture) -> None:
    alloc.write("alloc/data/real.txt", "plain text")
    os.symlink("real.txt", alloc.path / "alloc/data/link")
    os.mkfifo(alloc.path / "alloc/data/fifo")
    linked = get(agent, f"/v1/client/fs/stat/{alloc.id}", path="alloc/data/link").json()
    assert linked["Name"] == "link" and linked["FileMode"] == "-rw-r--r--"
    assert linked["ContentType"] == "text/plain; charset=utf-8"
    fifo = get(agent, f"/v1/client/fs/stat/{alloc.id}", path="alloc/data/fifo").json()
    assert fifo["ContentType"] == "application/octet-stream" and fifo["FileMode"].startswith("p")


def test_stat_never_sniffs_secrets(agent: AgentProcess, alloc: AllocFixture) -> None:
    alloc.write("web/secrets/token", "<html>")
    os.symlink("../../web/secrets/token", alloc.path / "alloc/data/sneaky")
    direct = get(agent, f"/v1/client/fs/stat/{alloc.id}", path="web/secrets/token").json()
    via_link = get(agent, f"/v1/client/fs/stat/{alloc.id}", path="alloc/data/sneaky").json()
    assert direct["ContentType"] == via_link["ContentType"] == "application/octet-stream"


# -- cat / readat --------------------------------------------------------------------------------


def test_cat_xss_headers(agent: AgentProcess, alloc: AllocFixture) -> None:
    alloc.write("alloc/logs/web.stdout.0", XSS)
    resp = get(agent, f"/v1/client/fs/cat/{alloc.id}", path="alloc/logs/web.stdout.0")
    assert resp.status_code == 200 and resp.content == XSS
    assert resp.headers["content-type"] == "text/plain"
    for name, value in UNTRUSTED.items():
        assert resp.headers[name] == value


def test_cat_empty_file_has_no_untrusted_headers(agent: AgentProcess, alloc: AllocFixture) -> None:
    alloc.write("alloc/empty", b"")
    resp = get(agent, f"/v1/client/fs/cat/{alloc.id}", path="alloc/empty")
    assert resp.status_code == 200 and resp.content == b""
    assert resp.headers["content-type"] == "text/plain; charset=utf-8"
    assert not set(UNTRUSTED) & set(resp.headers)


def test_cat_large_file_streams_exact_bytes(agent: AgentProcess, alloc: AllocFixture) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    alloc.write("alloc/data/big.bin", data)
    with (
        agent.client() as client,
        client.stream("GET", f"/v1/client/fs/cat/{alloc.id}", params={"path": "alloc/data/big.bin"}) as resp,
    ):
        assert resp.status_code == 200
        assert resp.headers["content-type"] == "application/octet-stream"
        assert int(resp.headers["content-length"]) == len(data)
        body = b"".join(resp.iter_bytes())
    assert body == data


def test_cat_of_a_file_out_of_the_page_cache_reads_it_in_threads(
    agent: AgentProcess, alloc: AllocFixture
) -> None:
    data = os.urandom(2 * 1024 * 1024 + 5)
    path = alloc.write("alloc/data/cold.bin", data)
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        try:
            os.preadv(fd, [bytearray(1)], len(data) // 2, os.RWF_NOWAIT)
            pytest.skip("this file system keeps the file in memory (cannot evict it from the page cache)")
        except BlockingIOError:
            pass
    finally:
        os.close(fd)
    with agent.client() as client:
        before = _counter(client, "outrider.fs.reads_off_loop")
        resp = client.get(f"/v1/client/fs/cat/{alloc.id}", params={"path": "alloc/data/cold.bin"})
        assert resp.status_code == 200 and resp.content == data
        assert _counter(client, "outrider.fs.reads_off_loop") > before
        resp = client.get(
            f"/v1/client/fs/readat/{alloc.id}",
            params={"path": "alloc/data/cold.bin", "offset": "7", "limit": "9"},
        )
        assert resp.content == data[7:16]


def _counter(client: httpx.Client, name: str) -> float:
    counters = client.get("/v1/metrics").json()["Counters"]
    return next((c["Sum"] for c in counters if c["Name"] == name), 0.0)


def test_cat_errors_keep_their_status(agent: AgentProcess, alloc: AllocFixture) -> None:
    assert_error(get(agent, f"/v1/client/fs/cat/{alloc.id}"), 400, "must provide a file name")
    assert_error(
        get(agent, f"/v1/client/fs/cat/{alloc.id}", path="nope"), 400, "stat nope: no such file or directory"
    )
    assert_error(
        get(agent, f"/v1/client/fs/cat/{alloc.id}", path="alloc"), 400, 'file "alloc" is a directory'
    )
    alloc.write("web/secrets/key", "s3cr3t")
    assert_error(
        get(agent, f"/v1/client/fs/cat/{alloc.id}", path="web/secrets/key"),
        403,
        "Reading secret file prohibited: web/secrets/key",
    )
    alloc.write("web/private/key", "p")
    assert_error(
        get(agent, f"/v1/client/fs/cat/{alloc.id}", path="/web/private/key"),
        403,
        "Reading private file prohibited: /web/private/key",
    )
    # A name that merely starts with "secrets" is not a secret (Nomad's ``ReadAt`` prefix check says it is).
    alloc.write("web/secretsX", "fine")
    assert get(agent, f"/v1/client/fs/cat/{alloc.id}", path="web/secretsX").text == "fine"


def test_readat_ranges(agent: AgentProcess, alloc: AllocFixture) -> None:
    alloc.write("alloc/hello", "Hello from the other side")
    base = f"/v1/client/fs/readat/{alloc.id}"
    assert get(agent, base, path="alloc/hello", offset="1", limit="3").text == "ell"
    assert get(agent, base, path="alloc/hello", offset="6", limit="0").text == "from the other side"
    assert get(agent, base, path="alloc/hello", offset="6", limit="-5").text == "from the other side"
    past = get(agent, base, path="alloc/hello", offset="100", limit="3")
    assert (past.status_code, past.content) == (200, b"")
    assert_error(
        get(agent, base, path="alloc/hello"),
        400,
        'error parsing offset: strconv.ParseInt: parsing "": invalid syntax',
    )
    assert_error(
        get(agent, base, path="alloc/hello", offset="1x"),
        400,
        'error parsing offset: strconv.ParseInt: parsing "1x": invalid syntax',
    )
    assert_error(
        get(agent, base, path="alloc/hello", offset="0", limit="99999999999999999999"),
        400,
        'error parsing limit: strconv.ParseInt: parsing "99999999999999999999": value out of range',
    )
    assert_error(
        get(agent, base, path="alloc/hello", offset="-1"),
        400,
        "can't seek to offset -1: seek alloc/hello: invalid argument",
    )
    assert_error(get(agent, base, offset="0"), 400, "must provide a file name")


def test_readat_random_ranges_match_file(agent: AgentProcess, alloc: AllocFixture) -> None:
    data = os.urandom(1_000_003)
    alloc.write("alloc/data/r.bin", data)
    import random

    rng = random.Random(7)
    with agent.client() as client:
        for _ in range(40):
            offset = rng.randrange(0, len(data) + 10)
            limit = rng.choice([1, 17, 4096, 65536, 700_000, 0])
            resp = client.get(
                f"/v1/client/fs/readat/{alloc.id}",
                params={"path": "alloc/data/r.bin", "offset": offset, "limit": limit},
            )
            end = len(data) if limit == 0 else offset + limit
            assert resp.content == data[offset:end]


def test_python_nomad_client_reads_files(agent: AgentProcess, alloc: AllocFixture) -> None:
    import nomad

    alloc.write("alloc/logs/web.stdout.0", "line one\nline two\n")
    host, port = agent.url.removeprefix("http://").rsplit(":", 1)
    client = nomad.Nomad(host=host, port=int(port), timeout=10)
    listing = client.client.ls.list_files(alloc.id, "alloc/logs")
    assert [e["Name"] for e in listing] == ["web.stdout.0"]
    st = client.client.stat.stat_file(alloc.id, "alloc/logs/web.stdout.0")
    assert st["Size"] == 18
    assert client.client.cat.read_file(alloc.id, "alloc/logs/web.stdout.0") == "line one\nline two\n"
    assert client.client.read_at.read_file_offset(alloc.id, 5, 3, "alloc/logs/web.stdout.0") == "one"


def test_agent_self_reports_node_id(agent: AgentProcess) -> None:
    body = get(agent, "/v1/agent/self").json()
    node_id = body["stats"]["client"]["node_id"]
    assert uuid.UUID(node_id)
    # The agent was asked for port 0: it reports the port it got, as clients build URLs from it.
    port = int(agent.url.rsplit(":", 1)[1])
    assert body["config"]["Ports"]["HTTP"] == body["member"]["Port"] == port
    assert (agent.data_dir / "client" / "state.db").exists()
    health = get(agent, "/v1/agent/health")
    assert health.status_code == 200 and health.json()["client"]["ok"] is True


def test_ls_skips_vanishing_entries(agent: AgentProcess, alloc: AllocFixture) -> None:
    d = alloc.path / "alloc/data/churn"
    d.mkdir()
    deadline = time.monotonic() + 1.0
    i = 0
    with agent.client() as client:
        while time.monotonic() < deadline:
            p = d / f"f{i}"
            p.write_text("x")
            resp = client.get(f"/v1/client/fs/ls/{alloc.id}", params={"path": "alloc/data/churn"})
            assert resp.status_code == 200
            p.unlink()
            i += 1


def test_external_alloc_discovered_and_unknown_ids(agent: AgentProcess, tmp_path: Path) -> None:
    not_uuid = agent.alloc_dir / "not-a-uuid"
    not_uuid.mkdir(exist_ok=True)
    assert_error(get(agent, "/v1/client/fs/ls/not-a-uuid"), 404, 'Unknown allocation "not-a-uuid"')
    weird = 'a"b\\c'
    assert_error(get(agent, f"/v1/client/fs/ls/{weird}"), 404, 'Unknown allocation "a\\"b\\\\c"')


def test_allocation_directories_that_come_and_go_leave_no_descriptors(agent: AgentProcess) -> None:
    # The agent keeps a descriptor per allocation directory it serves; removing the
    # directory must give it back, however many come and go.
    with agent.client() as client:
        assert client.get("/v1/agent/health").status_code == 200
        baseline = agent.open_fds()
        for _ in range(40):
            alloc = make_external_alloc(agent.alloc_dir)
            alloc.write("alloc/data/f", "x")
            url = f"/v1/client/fs/stat/{alloc.id}"
            assert client.get(url, params={"path": "alloc/data/f"}).status_code == 200
            shutil.rmtree(alloc.path)
            resp = client.get(url, params={"path": "alloc/data/f"})
            assert (resp.status_code, resp.text) == (404, f'Unknown allocation "{alloc.id}"')
        assert agent.settled_fds(at_most=baseline) <= baseline
