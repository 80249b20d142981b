"""Hostile input against every endpoint of one real agent: no 500, no hang, no leaked descriptor.

Hypothesis draws query values, allocation ids, methods, bodies, headers and
paths. Every response must be a success or a 4xx with a text or JSON body, must
arrive within the client's timeout, and after each test the agent must hold no
more descriptors than before the first one and still answer its health check.
"""

from __future__ import annotations

import copy
import json
import os
import re
import socket
import string
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, quote_from_bytes

import httpx
import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from tests.conftest import AgentProcess, AllocFixture, make_external_alloc, running_agent
from tests.runner import jobspecs as J
from tests.runner.support import wait_for

pytestmark = pytest.mark.functional

REAL_JOB = "hostile-real"
TIMEOUT = httpx.Timeout(5.0)


def fuzz(examples: int) -> Any:
    """Bounded, reproducible hypothesis settings; the client fixture is shared by a test's examples on purpose."""
    return settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


# -- one agent, one external allocation, one allocation it ran ------------------------------------


@dataclass
class World:
    agent: AgentProcess
    external: str
    owned: str
    node_id: str
    baseline_fds: int

    def fill(self, template: str) -> str:
        """Put the real ids in place of ``{ext}``, ``{owned}`` and ``{short}`` (one character short)."""
        return (
            template.replace("{ext}", self.external)
            .replace("{owned}", self.owned)
            .replace("{short}", self.external[:-1])
        )


def _external_tree(agent: AgentProcess) -> AllocFixture:
    alloc = make_external_alloc(agent.alloc_dir, tasks=("web", "api"))
    alloc.write("alloc/logs/web.stdout.0", "first\n" * 50)
    alloc.write("alloc/logs/web.stdout.1", "second\n")
    alloc.write("alloc/logs/web.stderr.0", "warn\n")
    alloc.write("alloc/logs/api.stdout.0", "")
    alloc.write("alloc/data/notes.txt", "notes")
    alloc.write("alloc/data/deep/a/b/c.json", "{}")
    alloc.write("web/local/config.hcl", "x = 1")
    alloc.write("web/secrets/token", "s3cr3t")
    alloc.write("..foo", "dots are a name")
    data = alloc.path / "alloc" / "data"
    (data / os.fsdecode(b"caf\xe9")).write_text("latin-1 name")
    os.symlink("/etc/passwd", data / "passwd")
    os.symlink("../../web/secrets/token", data / "token")
    os.symlink("loop", data / "loop")
    os.mkfifo(data / "fifo")
    return alloc


def _run_real_job(http: httpx.Client) -> str:
    job = J.job(REAL_JOB, J.sh("t", "echo hello; echo oops >&2"))
    assert http.put("/v1/jobs", json={"Job": job}).status_code == 200
    (stub,) = http.get(f"/v1/job/{REAL_JOB}/allocations").json()

    def complete() -> bool:
        return bool(http.get(f"/v1/allocation/{stub['ID']}").json()["ClientStatus"] == "complete")

    wait_for(complete, 20, 0.05, "the real job to complete")
    return str(stub["ID"])


def _warm_up(http: httpx.Client, ext: str, owned: str) -> None:
    """Touch every endpoint once, so what the agent opens lazily is part of the baseline."""
    for op, params in (
        ("ls", {"path": "/"}),
        ("stat", {"path": "alloc/data/notes.txt"}),
        ("cat", {"path": "alloc/data/notes.txt"}),
        ("readat", {"path": "alloc/data/notes.txt", "offset": "1", "limit": "2"}),
        ("stream", {"path": "alloc/logs/web.stdout.0", "follow": "false"}),
        ("logs", {"task": "web", "type": "stdout", "follow": "false"}),
    ):
        assert http.get(f"/v1/client/fs/{op}/{ext}", params=params).status_code == 200
    with http.stream(
        "GET", f"/v1/client/fs/stream/{ext}", params={"path": "alloc/logs/web.stdout.0"}
    ) as resp:
        assert resp.status_code == 200
    logs = http.get(f"/v1/client/fs/logs/{owned}", params={"task": "t", "type": "stdout", "follow": "false"})
    assert logs.status_code == 200
    for path in (
        "/v1/agent/self",
        "/v1/client/stats",
        f"/v1/client/allocation/{owned}/stats",
        "/v1/client/metadata",
        "/v1/nodes",
        "/v1/metrics",
        "/v1/jobs",
        "/v1/allocations",
    ):
        assert http.get(path).status_code == 200
    assert http.post("/v1/client/metadata", json={"Meta": {"warm": "up"}}).status_code == 200
    stopped = {**J.job("fuzz-warm", J.sh("t", "true")), "Stop": True}
    assert http.put("/v1/jobs", json={"Job": stopped}).status_code == 200


def _quiet_fds(agent: AgentProcess, timeout: float = 3.0) -> int:
    """The agent's descriptor count once it stops changing (bounded)."""
    deadline = time.monotonic() + timeout
    count = agent.open_fds()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now = agent.open_fds()
        if now == count:
            break
        count = now
    return count


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with running_agent(tmp_path_factory.mktemp("hostile")) as agent:
        ext = _external_tree(agent)
        with agent.client() as http:
            owned = _run_real_job(http)
            node_id = str(http.get("/v1/agent/self").json()["stats"]["client"]["node_id"])
            _warm_up(http, ext.id, owned)
        yield World(agent, ext.id, owned, node_id, _quiet_fds(agent))


@pytest.fixture(autouse=True)
def agent_stays_sound(world: World) -> Iterator[None]:
    """After each test: no descriptor beyond the baseline (after a bounded settle), and still healthy."""
    yield
    fds = world.agent.settled_fds(world.baseline_fds, timeout=5.0)
    assert fds <= world.baseline_fds, f"the agent holds {fds} descriptors, {world.baseline_fds} at the start"
    assert world.agent.proc.poll() is None, "the agent died"
    with world.agent.client() as http:
        assert http.get("/v1/agent/health").json() == {"client": {"message": "ok", "ok": True}}


@pytest.fixture
def http(world: World) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=world.agent.url, timeout=TIMEOUT) as client:
        yield client


# -- sending and judging ----------------------------------------------------------------------

# Served routes, as the agent sees the decoded path. Anything else reaches Nomad's
# root handler, whose 404 has an empty body (``command/agent/http.go`` ``handleRootFallthrough``).
ROUTED = re.compile(
    r"/v1/(agent/(self|health)$|client/(fs/|allocation/|metadata$|stats$|gc$)"
    r"|node/|nodes$|metrics$|jobs$|job/|allocations$|allocation/)"
)
STREAMING = re.compile(r"/v1/client/fs/(stream|logs)/")


def judge(resp: httpx.Response, method: str) -> None:
    status = resp.status_code
    body = resp.content[:300] if resp.is_stream_consumed else b"<not read>"
    where = f"{method} {resp.request.url} -> {status} {body!r}"
    assert status < 500, where
    if status < 400 or method == "HEAD":
        return
    if status == 404 and not resp.content and not ROUTED.match(resp.request.url.path):
        return
    assert resp.content, where
    assert resp.headers.get("content-type", "").startswith(("text/plain", "application/json")), where


def send(
    http: httpx.Client,
    method: str,
    url: str,
    *,
    headers: dict[str, Any] | None = None,
    content: bytes | None = None,
) -> httpx.Response:
    """One request; a successful stream is closed after its headers, everything else is read whole."""
    request = http.build_request(method, url, headers=headers, content=content)
    resp = http.send(request, stream=True)
    try:
        if resp.status_code >= 400 or not STREAMING.match(request.url.path):
            resp.read()
    finally:
        resp.close()
    judge(resp, method)
    event(f"status {resp.status_code}")
    return resp


def query(pairs: list[tuple[bytes, bytes]]) -> str:
    return "&".join(quote_from_bytes(k, safe="") + "=" + quote_from_bytes(v, safe="") for k, v in pairs)


def segment(text: str) -> str:
    """A path segment carrying any string, lone surrogates included (as the bytes Python would encode)."""
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


# -- strategies -------------------------------------------------------------------------------

NASTY: list[bytes] = [
    b"", b" ", b"0", b"-0", b"+1", b"-1", b"1e3", b"0x10", b"1_000", b"07", "\uff11".encode(),
    str(2**63 - 1).encode(), str(2**63).encode(), str(-(2**63)).encode(), str(-(2**63) - 1).encode(),
    str(2**64 - 1).encode(), str(2**64).encode(), b"9" * 400, b"NaN", b"inf",
    b"true", b"false", b"TRUE", b"t", b"F", b"yes", b"start", b"end", b"END", b"stdout", b"stderr",
    b"..", b"../..", b"/", b"//", b"%2F", b"%00", b"%", b"%zz", b"\x00", b"a\x00b", b"\xff\xfe",
    b"\xed\xa0\x80", "é".encode(), "\u202e".encode(), "🙂".encode(), b"\r\n", b"\t",
    b"1ms", b"0s", b"-5s", b"99999999999h", b"1h2m3.5s", b"9223372036854775807ns", b"1.5.5s",
    b"*", b"default", b"prometheus", b"SIGKILL", b"SIGUSR1", b"web", b"api", b"t",
]  # fmt: skip
values = st.one_of(
    st.sampled_from(NASTY),
    st.binary(max_size=24),
    st.text(max_size=24).map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.integers(-(2**80), 2**80).map(lambda i: str(i).encode()),
    st.integers(1, 2000).map(lambda n: b"7" * n),
)
PARAMS = [
    "path", "offset", "limit", "origin", "follow", "plain", "type", "task", "index", "wait", "stale",
    "per_page", "node_id", "pretty", "prefix", "namespace", "format", "purge", "signal", "region",
    "resources", "os", "task_states", "next_token", "filter", "reverse",
]  # fmt: skip
param_names = st.one_of(st.sampled_from(PARAMS).map(str.encode), st.binary(max_size=8))
extra_pairs = st.lists(st.tuples(param_names, values), max_size=2)

TREE_PATHS = [
    "/", "", ".", "alloc", "alloc/", "alloc/logs", "alloc/logs/web.stdout.0", "alloc/logs/web.stderr.0",
    "alloc/logs/t.stdout.0", "alloc/logs/t.stderr.0", "alloc/data/notes.txt", "alloc/data/deep/a/b/c.json",
    "alloc/data/passwd", "alloc/data/token", "alloc/data/loop", "alloc/data/fifo", "alloc/data/missing",
    "web/secrets/token", "web/secrets", "web/local", "..foo", "../..", "alloc/../../etc", "/etc/passwd",
    "alloc/data/caf\udce9",
]  # fmt: skip
FILES = [
    "alloc/logs/web.stdout.0", "alloc/logs/web.stdout.1", "alloc/logs/web.stderr.0", "alloc/logs/t.stdout.0",
    "alloc/logs/t.stderr.0", "alloc/data/notes.txt", "alloc/data/deep/a/b/c.json", "web/local/config.hcl",
]  # fmt: skip
tree_paths = st.sampled_from(TREE_PATHS).map(lambda p: p.encode("utf-8", "surrogateescape"))
files = st.sampled_from(FILES).map(str.encode)
EDGES = [2**63 - 1, 2**63 - 2**18, 2**62, -(2**63), -(2**63) + 1, -(2**62), 2**31, -(2**31), 1 << 40]
offsets = st.one_of(
    st.integers(-10, 1000).map(lambda i: str(i).encode()),
    st.sampled_from(EDGES).map(lambda i: str(i).encode()),
    values,
    st.none(),
)
bools = st.one_of(st.sampled_from([b"true", b"false", b"1", b"0", b"T", b""]), values)
# Mostly plausible values, so that requests also get past the first checks; None leaves a parameter out.
fs_params = st.fixed_dictionaries(
    {
        "path": st.one_of(files, files, tree_paths, values, st.none()),
        "offset": offsets,
        "origin": st.one_of(st.sampled_from([b"end", b"start"]), values, st.none()),
        "follow": st.one_of(bools, st.none()),
        "task": st.one_of(st.sampled_from([b"web", b"api", b"t", b"nope"]), values, st.none()),
        "type": st.one_of(st.sampled_from([b"stdout", b"stderr"]), values, st.none()),
    },
    optional={
        "limit": offsets,
        "plain": bools,
    },
)

ALLOC_IDS = [
    "{ext}", "{owned}", "{ext}", "{owned}", "", "/", "..", ".", "%2F", "%2e%2e", "%00", "{ext}/",
    "{ext}/..", "{ext}%2F..", "{ext}x", "{short}", "%7Bext%7D", "a" * 37, "ünïcödé", "%ff%fe",
]  # fmt: skip
alloc_ids = st.one_of(
    st.just("{ext}"), st.just("{owned}"), st.sampled_from(ALLOC_IDS), st.text(max_size=40).map(segment)
)

# Hypothesis steers away from choices it has already made, which would starve a fixed
# branch next to an open-ended one; duplicates in one list weight it instead.
METHODS = ["GET"] * 12 + ["HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "get", "FOO", "X"]
methods = st.sampled_from(METHODS)
any_methods = st.one_of(methods, st.text(alphabet=string.ascii_uppercase, min_size=1, max_size=12))

header_bytes = st.binary(max_size=64).map(
    lambda b: b.translate(None, b"\x00\r\n\x0b\x0c").strip(b" \t") or b"x"
)
tokens = st.one_of(header_bytes, st.sampled_from([b"a\x01b", b"\x7f", b"\xff\xfe", b"\x1b[31m", b"a\tb"]))
authorizations = st.one_of(
    tokens.map(lambda t: b"Bearer " + t),
    tokens,
    st.integers(1, 12_000).map(lambda n: b"Bearer " + b"x" * n),
    st.sampled_from([b"Bearer", b"bearer \t x", b"Basic abc", b"Bearer a b c", b"BEARER \xff"]),
)
weird_headers = st.fixed_dictionaries(
    {},
    optional={
        "X-Nomad-Token": tokens,
        "Authorization": authorizations,
        "Origin": header_bytes,
        "Access-Control-Request-Method": st.one_of(st.sampled_from([b"GET", b"head", b"POST"]), header_bytes),
        "Access-Control-Request-Headers": header_bytes,
        "Accept-Encoding": header_bytes,
    },
)

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=16),
)
json_values = st.recursive(
    json_scalars,
    lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=10), kids, max_size=4),
    max_leaves=12,
)


def deep(n: int) -> str:
    """A marker that :func:`dumps` writes as ``n`` nested arrays (json.dumps itself would recurse)."""
    return f"\x00deep:{n}\x00"


_DEEP = re.compile(rb'"\\u0000deep:(\d+)\\u0000"')


def dumps(value: Any) -> bytes:
    # ensure_ascii writes lone surrogates as \udXXX escapes, and big integers as digits.
    text = json.dumps(value).encode()
    return _DEEP.sub(lambda m: b"[" * int(m[1]) + b"]" * int(m[1]), text)


ODD_BODIES = [
    b"", b" ", b"null", b"[]", b"{}", b"1", b'"s"', b"{", b'{"a":', b"\xff\xfe{}", b'{"a":NaN}',
    b"[1e999]", b'{"a":1}{"b":2}', b"\xef\xbb\xbf{}", b'{"a":"\\ud800"}', b'{"a":"\xff"}',
]  # fmt: skip
raw_bodies = st.one_of(
    st.binary(max_size=64),
    st.sampled_from(ODD_BODIES),
    st.integers(1, 3000).map(lambda n: b"[" * n + b"]" * n),
    st.integers(1, 3000).map(lambda n: b'{"a":' * n + b"1" + b"}" * n),
    st.integers(1, 3000).map(lambda n: b"[" * n),
    json_values.map(dumps),
)


ODD_JSON: list[Any] = [
    2**63 - 1, 2**63, 2**64 - 1, -(2**63), 10**6, 1001, 1000, 0, -1, 1.5, 1e308, "a\x00b", "x" * 300,
    "é" * 150, "\u202e", "\ud800", "/", "..", "alloc", "", [], {}, None, True, "SIGKILL", "raw_exec",
    "/bin/true", {"A=B": "c"}, {"A": "b\x00"}, ["-c", "x\x00"],
    deep(65), deep(300), deep(990), deep(1023), deep(1030),
]  # fmt: skip
hostile_json = st.one_of(
    json_values,
    st.sampled_from(ODD_JSON),
    st.integers(1, 1100).map(deep),
    st.integers(0, 150).map(lambda n: [J.sh(f"t{i}", "true") for i in range(n)]),
    st.integers(0, 150).map(lambda n: [{"Name": f"g{i}", "Tasks": [J.sh("t", "true")]} for i in range(n)]),
)
T = ("TaskGroups", 0, "Tasks", 0)
JOB_FIELDS: list[tuple[Any, ...]] = [
    ("ID",), ("Name",), ("Type",), ("Namespace",), ("Region",), ("Datacenters",), ("Priority",),
    ("Meta",), ("NodePool",), ("Periodic",), ("TaskGroups",), ("TaskGroups", 0), ("TaskGroups", 0, "Name"),
    ("TaskGroups", 0, "Count"), ("TaskGroups", 0, "Tasks"), ("TaskGroups", 0, "RestartPolicy"),
    ("TaskGroups", 0, "RestartPolicy", "Attempts"), ("TaskGroups", 0, "RestartPolicy", "Delay"),
    ("TaskGroups", 0, "RestartPolicy", "Interval"), ("TaskGroups", 0, "EphemeralDisk", "SizeMB"),
    (*T, "Name"), (*T, "Driver"), (*T, "Config", "command"), (*T, "Config", "args"), (*T, "Env"),
    (*T, "KillSignal"), (*T, "KillTimeout"), (*T, "LogConfig", "MaxFiles"),
    (*T, "LogConfig", "MaxFileSizeMB"), (*T, "LogConfig", "MaxFileSizeBytes"), (*T, "RestartPolicy"),
]  # fmt: skip


def stopped_job(job_id: str, edits: list[tuple[tuple[Any, ...], Any]]) -> dict[str, Any]:
    """A valid job that is never run (``Stop``), with hostile values put at some of its fields."""
    job: Any = {**J.job(job_id, J.sh("t", "true")), "Stop": True}
    job["TaskGroups"][0]["Tasks"][0]["LogConfig"] = {}
    for path, value in edits:
        target = job
        try:
            for key in path[:-1]:
                target = target[key]
        except (KeyError, IndexError, TypeError):
            continue
        last = path[-1]
        # A shallow copy: later edits must not change the strategy's shared constants.
        fits = isinstance(last, int) and last < len(target) if isinstance(target, list) else True
        if isinstance(target, dict | list) and fits:
            target[last] = copy.copy(value)
    return job


def duplicate_job_key(first: Any, n: int) -> bytes:
    return b'{"Job": ' + dumps(first) + b', "Job": ' + dumps(stopped_job(f"fuzz-{n}", [])) + b"}"


job_bodies = st.one_of(
    raw_bodies,
    st.builds(
        lambda n, edits: dumps({"Job": stopped_job(f"fuzz-{n}", edits)}),
        st.integers(0, 5),
        st.lists(st.tuples(st.sampled_from(JOB_FIELDS), hostile_json), min_size=1, max_size=3),
    ),
    json_values.map(lambda v: dumps({"Job": v})),
    st.builds(duplicate_job_key, json_values, st.integers(0, 5)),
)

META_KEYS = ["rack", "a.b", "_x", "über", "1a", "a..b", "", "a/b", "connect.log_level", "\ud800", "k\x00"]
meta_maps = st.dictionaries(
    st.one_of(st.sampled_from(META_KEYS), st.text(max_size=12)),
    st.one_of(st.none(), st.text(max_size=20), hostile_json),
    max_size=4,
)
meta_bodies = st.one_of(
    raw_bodies,
    st.builds(lambda m: dumps({"Meta": m}), meta_maps),
    st.builds(lambda m, node: dumps({"Meta": m, "NodeID": node}), meta_maps, json_values),
    st.builds(lambda a, b: b'{"Meta": ' + dumps(a) + b', "meta": ' + dumps(b) + b"}", meta_maps, json_values),
)
lifecycle_bodies = st.one_of(
    raw_bodies,
    st.fixed_dictionaries(
        {},
        optional={
            "TaskName": st.one_of(st.sampled_from(["t", "web", ""]), hostile_json),
            "AllTasks": hostile_json,
            "Signal": st.one_of(
                st.sampled_from(["SIGUSR1", "SIGKILL", "SIGWHAT", "SIG_DFL", ""]), hostile_json
            ),
            "Task": st.one_of(st.sampled_from(["t", "web"]), hostile_json),
        },
    ).map(dumps),
)


# -- the endpoints ----------------------------------------------------------------------------


# Explicit examples: inputs that once failed, so every run tries them whatever hypothesis draws.
EDGE_STREAM = {"path": b"alloc/logs/web.stdout.0", "follow": b"false", "task": b"web", "type": b"stdout"}


@pytest.mark.parametrize("op", ["ls", "stat", "cat", "readat", "stream", "logs"])
@fuzz(150)
@given(method=methods, alloc=alloc_ids, params=fs_params, extra=extra_pairs, headers=weird_headers)
@example(
    method="GET",
    alloc="{ext}",
    params={**EDGE_STREAM, "origin": b"end", "offset": str(-(2**63)).encode()},
    extra=[],
    headers={},
)
@example(
    method="GET",
    alloc="{ext}",
    params={**EDGE_STREAM, "origin": b"start", "offset": str(2**63 - 1).encode()},
    extra=[],
    headers={},
)
def test_fs_endpoints(
    http: httpx.Client,
    world: World,
    op: str,
    method: str,
    alloc: str,
    params: dict[str, bytes | None],
    extra: list[tuple[bytes, bytes]],
    headers: dict[str, bytes],
) -> None:
    pairs = [(k.encode(), v) for k, v in params.items() if v is not None] + extra
    send(http, method, f"/v1/client/fs/{op}/{world.fill(alloc)}?{query(pairs)}", headers=headers)


# gc last: collecting {owned} ends what restart and signal could reach.
@pytest.mark.parametrize("action", ["stats", "restart", "signal", "nope", "", "gc"])
@fuzz(50)
@given(method=methods, alloc=alloc_ids, extra=extra_pairs, body=lifecycle_bodies)
@example(method="POST", alloc="{owned}", extra=[], body=dumps({"TaskName": deep(990), "Signal": deep(990)}))
def test_client_allocation_actions(
    http: httpx.Client,
    world: World,
    action: str,
    method: str,
    alloc: str,
    extra: list[tuple[bytes, bytes]],
    body: bytes,
) -> None:
    url = f"/v1/client/allocation/{world.fill(alloc)}/{action}?{query(extra)}"
    send(http, method, url, content=body if method not in ("GET", "HEAD") else None)


@fuzz(150)
@given(body=meta_bodies, extra=extra_pairs, headers=weird_headers)
@example(body=b'{"Meta": {"a": "\\ud800"}}', extra=[], headers={})
@example(body=b"[" * 5000, extra=[], headers={})
def test_metadata_post_bodies(
    http: httpx.Client, body: bytes, extra: list[tuple[bytes, bytes]], headers: dict[str, bytes]
) -> None:
    send(http, "POST", f"/v1/client/metadata?{query(extra)}", content=body, headers=headers)


@pytest.mark.parametrize(
    ("method", "path"), [("PUT", "/v1/jobs"), ("POST", "/v1/jobs"), ("PUT", "/v1/job/fuzz-1")]
)
@fuzz(100)
@given(body=job_bodies, extra=extra_pairs)
@example(body=dumps({"Job": stopped_job("fuzz-0", [(("Meta",), deep(300))])}), extra=[])
@example(body=dumps({"Job": J.job("fuzz-huge", J.sh("t", "true"), count=2**63)}), extra=[])
@example(body=dumps({"Job": J.job("fuzz-nul", J.task("t", ["/bin/tr\x00ue"]))}), extra=[])
@example(body=dumps({"Job": J.job("fuzz-name", J.sh("t" * 300, "true"))}), extra=[])
def test_job_register_bodies(
    http: httpx.Client, method: str, path: str, body: bytes, extra: list[tuple[bytes, bytes]]
) -> None:
    send(http, method, f"{path}?{query(extra)}", content=body)


JOB_IDS = [REAL_JOB, "fuzz-1", "nope", "", "/", "a/b", "%2F", "%2e%2e", "x/allocations", "x/summary", "%00"]
JOB_ROUTES = [
    "/v1/jobs", "/v1/job/{job}", "/v1/job/{job}/allocations", "/v1/job/{job}/summary", "/v1/allocations",
    "/v1/allocation/{alloc}", "/v1/allocation/{alloc}/stop",
]  # fmt: skip


@pytest.mark.parametrize("route", JOB_ROUTES)
@fuzz(40)
@given(
    method=methods,
    job=st.one_of(st.sampled_from(JOB_IDS), st.text(max_size=20).map(segment)),
    alloc=alloc_ids,
    extra=extra_pairs,
)
@example(method="GET", job="x", alloc="{ext}", extra=[(b"namespace", b"\xff")])
def test_job_and_allocation_reads(
    http: httpx.Client,
    world: World,
    route: str,
    method: str,
    job: str,
    alloc: str,
    extra: list[tuple[bytes, bytes]],
) -> None:
    if method == "DELETE" and job == REAL_JOB:
        method = "GET"  # the other tests rely on the real job being registered
    path = route.replace("{job}", job).replace("{alloc}", world.fill(alloc))
    send(http, method, f"{path}?{query(extra)}")


SEGMENTS = [
    "client", "fs", "ls", "stat", "cat", "readat", "stream", "logs", "allocation", "stats", "gc",
    "restart", "signal", "metadata", "node", "nodes", "metrics", "jobs", "job", "allocations", "agent",
    "self", "health", "summary", "stop", "..", ".", "", "%2F", "%00", "%2e%2e", "{ext}", "{owned}",
]  # fmt: skip


@fuzz(200)
@given(
    method=any_methods,
    parts=st.lists(st.one_of(st.sampled_from(SEGMENTS), st.text(max_size=10).map(segment)), max_size=6),
    extra=extra_pairs,
)
def test_random_paths_under_v1(
    http: httpx.Client, world: World, method: str, parts: list[str], extra: list[tuple[bytes, bytes]]
) -> None:
    path = world.fill("/v1/" + "/".join(parts))
    if "job/" + REAL_JOB in path and method == "DELETE":
        method = "GET"
    send(http, method, f"{path}?{query(extra)}")


def _bounded_blocking(path: str, pairs: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    # A valid ?index= on the node views is a blocking query that may rightly wait
    # up to ?wait= (at most 10 minutes); give those a short wait first.
    if not path.startswith("/v1/node"):
        return pairs
    index = next((v for k, v in pairs if k == b"index"), None)
    if index is not None and index.isdigit() and int(index) < 2**64:
        return [(b"wait", b"20ms"), *pairs]
    return pairs


NODE_ROUTES = [
    "/v1/agent/self", "/v1/agent/health", "/v1/client/stats", "/v1/client/metadata", "/v1/node/{node}",
    "/v1/node/nope", "/v1/nodes", "/v1/metrics", "/v1/client/gc",
]  # fmt: skip


@pytest.mark.parametrize("route", NODE_ROUTES)
@fuzz(50)
@given(method=methods, extra=extra_pairs, headers=weird_headers)
def test_agent_and_node_endpoints(
    http: httpx.Client,
    world: World,
    route: str,
    method: str,
    extra: list[tuple[bytes, bytes]],
    headers: dict[str, bytes],
) -> None:
    path = route.replace("{node}", world.node_id)
    pairs = _bounded_blocking(path, extra)
    send(http, method, f"{path}?{query(pairs)}", headers=headers)


# -- bodies too large to buffer, and requests the HTTP server refuses itself ------------------------


def _raw_exchange(world: World, head: bytes, body_bytes: int = 0) -> bytes:
    """Send ``head`` (and up to ``body_bytes`` of body) on a fresh connection; the response's first bytes."""
    host, port = world.agent.url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5.0) as sock:
        sock.sendall(head)
        sock.settimeout(0.01)
        sent = 0
        chunk = b"x" * 65536
        response = b""
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            if sent < body_bytes:
                try:
                    sent += sock.send(chunk)
                except (BlockingIOError, TimeoutError):
                    pass
                except OSError:
                    sent = body_bytes
            try:
                got = sock.recv(65536)
            except (BlockingIOError, TimeoutError):
                continue
            if not got:
                break
            response += got
            if b"\r\n\r\n" in response:
                break
        return response


BODY_ROUTES = [
    ("POST", "/v1/client/metadata"),
    ("PUT", "/v1/jobs"),
    ("POST", "/v1/job/fuzz-big"),
    ("POST", "/v1/client/allocation/{owned}/restart"),
    ("POST", "/v1/client/allocation/{owned}/signal"),
]
# Metadata takes no more than its bounded map needs (outrider.meta.limits); the rest 8 MiB.
BODY_LIMITS = {"/v1/client/metadata": 2 * 1024 * 1024}


@pytest.mark.parametrize(("method", "path"), BODY_ROUTES)
def test_a_gigabyte_body_is_refused_before_it_is_read(world: World, method: str, path: str) -> None:
    head = f"{method} {world.fill(path)} HTTP/1.1\r\nHost: localhost\r\nContent-Length: {1 << 30}\r\n\r\n"
    response = _raw_exchange(world, head.encode(), body_bytes=1 << 20)
    assert response.startswith(b"HTTP/1.1 413"), response[:200]
    assert b"\r\nconnection: close\r\n" in response.lower()


def test_an_early_answer_keeps_the_connection_usable(world: World) -> None:
    # The 404 comes before the body is read; the connection must still serve the next request
    # (hypercorn used to close it unannounced when the body's end had not been parsed yet).
    host, port = world.agent.url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5.0) as sock:
        sock.sendall(
            b"POST /v1/client/allocation/nope/restart HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\n{}   "
        )
        time.sleep(0.1)
        sock.sendall(b"     GET /v1/agent/health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        received = b""
        while received.count(b"HTTP/1.1 ") < 2 or not received.endswith(b'"ok":true}}'):
            chunk = sock.recv(65536)
            assert chunk, f"the connection was closed after {received!r}"
            received += chunk
    assert received.startswith(b"HTTP/1.1 404 ")
    assert received.index(b"HTTP/1.1 200 ") > received.index(b'Unknown allocation "nope"')


@pytest.mark.parametrize(("method", "path"), BODY_ROUTES)
def test_a_chunked_body_over_the_limit_is_refused(
    http: httpx.Client, world: World, method: str, path: str
) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(9):
            yield b" " * (1 << 20)

    resp = http.request(method, world.fill(path), content=chunks())
    limit = BODY_LIMITS.get(path, 8 * 1024 * 1024)
    assert (resp.status_code, resp.text) == (413, f"Request body too large: the limit is {limit} bytes")


@pytest.mark.parametrize(
    "head",
    [
        b"GET /v1/agent/self HTTP/1.1\r\nHost: localhost\r\nX-Nomad-Token: a\x00b\r\n\r\n",
        b"GET /v1/agent/self HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer " + b"x" * 70_000 + b"\r\n\r\n",
        b"GET /v1/client/fs/ls/\xff\xfe?path=\xff HTTP/1.1\r\nHost: localhost\r\n\r\n",
        b"GET /v1/client/fs/ls/a b HTTP/1.1\r\nHost: localhost\r\n\r\n",
        b"GET /v1/agent/self HTTP/1.1\r\nHost: localhost\r\nContent-Length: -1\r\n\r\n",
        b"POST /v1/jobs HTTP/1.1\r\nHost: localhost\r\nContent-Length: 99999999999999999999999\r\n\r\n",
        b"POST /v1/jobs HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ],
    ids=["nul-in-header", "huge-header", "raw-non-ascii-target", "space-in-target", "negative-length",
         "overflowing-length", "bad-chunk"],
)  # fmt: skip
def test_malformed_http_is_answered_without_a_server_error(world: World, head: bytes) -> None:
    # The HTTP server refuses these before the app sees them (a bare 400 or 431).
    response = _raw_exchange(world, head)
    assert re.match(rb"HTTP/1\.1 4\d\d ", response), response[:200]
