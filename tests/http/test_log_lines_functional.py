"""The logs options beyond Nomad (``tail_lines``, ``before``, ``filter``, ``exclude``, ``limit_bytes``,
``format=ndjson``) against a real agent: a real task's numbered lines rotated through tiny files (so
lines straddle files), external allocations for exact edge cases, and every refused combination."""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import AgentProcess, AllocFixture, make_external_alloc
from tests.frames import frame_data, split_frames
from tests.http.conftest import log_files, purge, wait_status
from tests.http.test_logs_functional import PRINT_SEQUENCE, assert_files_and_offsets, numbered, run_job
from tests.runner import jobspecs as J

pytestmark = pytest.mark.functional

FILE_SIZE = 4096
LINES = 3000


@pytest.fixture(scope="module")
def http(agent: AgentProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=agent.url, timeout=httpx.Timeout(10.0, read=20.0)) as client:
        yield client


@pytest.fixture(scope="module")
def seq(agent: AgentProcess, http: httpx.Client) -> Iterator[tuple[str, list[bytes]]]:
    """A dead task that printed numbered lines into many tiny rotated files; its lines."""
    code = PRINT_SEQUENCE.format(start=0, stop=LINES)
    log_config = {"MaxFiles": 1000, "MaxFileSizeBytes": FILE_SIZE}
    alloc_id = run_job(http, J.job("lines", J.python("t", code, LogConfig=log_config)))
    try:
        wait_status(http, alloc_id, "complete", timeout=60)
        files = log_files(agent, alloc_id)
        assert len(files) > 10 and b"".join(files) == numbered(0, LINES)
        yield alloc_id, numbered(0, LINES).splitlines(keepends=True)
    finally:
        purge(http, "lines")


@pytest.fixture
def external(agent: AgentProcess) -> AllocFixture:
    return make_external_alloc(agent.alloc_dir, ("web",))


def logs(http: httpx.Client, alloc_id: str, task: str = "t", **params: str) -> httpx.Response:
    return http.get(f"/v1/client/fs/logs/{alloc_id}", params={"task": task, "type": "stdout", **params})


def records(resp: httpx.Response) -> list[dict[str, Any]]:
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "application/x-ndjson"
    assert resp.content == b"" or resp.content.endswith(b"\n")
    return [json.loads(line) for line in resp.content.splitlines()]


def file_bytes(agent: AgentProcess, alloc_id: str, rel: str) -> bytes:
    return (agent.alloc_dir / alloc_id / rel).read_bytes()


# -- tail_lines --------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [0, 1, 2, 37, 999, LINES - 1, LINES, LINES + 10])
def test_tail_lines_plain_counts_across_rotated_files(
    http: httpx.Client, seq: tuple[str, list[bytes]], n: int
) -> None:
    alloc_id, lines = seq
    resp = logs(http, alloc_id, plain="true", tail_lines=str(n))
    assert resp.status_code == 200
    assert resp.content == b"".join(lines[len(lines) - min(n, len(lines)) :])


def test_tail_lines_framed_has_true_files_and_offsets(
    agent: AgentProcess, http: httpx.Client, seq: tuple[str, list[bytes]]
) -> None:
    alloc_id, lines = seq
    resp = logs(http, alloc_id, tail_lines="500")
    assert resp.status_code == 200
    frames = split_frames(resp.content)
    assert frame_data(frames) == b"".join(lines[-500:])
    first = frames[0]
    first_start = first["Offset"] - len(base64.b64decode(first["Data"]))
    files = {f"alloc/logs/t.stdout.{i}": data for i, data in enumerate(log_files(agent, alloc_id))}
    assert_files_and_offsets(frames, files, first_start)


def test_tail_lines_partial_last_line_counts(http: httpx.Client, external: AllocFixture) -> None:
    external.write("alloc/logs/web.stdout.0", b"a\nb\nc")
    external.write("alloc/logs/web.stdout.1", b"c\nd")
    for n, want in [(0, b""), (1, b"d"), (2, b"cc\nd"), (3, b"b\ncc\nd"), (9, b"a\nb\ncc\nd")]:
        resp = logs(http, external.id, "web", plain="true", tail_lines=str(n))
        assert (resp.status_code, resp.content) == (200, want), n


def test_tail_lines_follow_gets_the_tail_then_new_lines(agent: AgentProcess, external: AllocFixture) -> None:
    log = external.write("alloc/logs/web.stdout.0", b"one\ntwo\nthree\n")
    params = {"task": "web", "type": "stdout", "follow": "true", "plain": "true", "tail_lines": "2"}
    with (
        httpx.Client(base_url=agent.url, timeout=httpx.Timeout(10.0)) as client,
        client.stream("GET", f"/v1/client/fs/logs/{external.id}", params=params) as resp,
    ):
        assert resp.status_code == 200
        chunks = resp.iter_raw()
        assert next(chunks) == b"two\nthree\n"
        with log.open("ab") as f:
            f.write(b"four\n")
        assert next(chunks) == b"four\n"


# -- filter / exclude ----------------------------------------------------------------------------------


def test_filter_and_exclude_per_line(http: httpx.Client, seq: tuple[str, list[bytes]]) -> None:
    alloc_id, lines = seq
    resp = logs(http, alloc_id, plain="true", filter="^0012[0-9][0-9] ", exclude="x{30}")
    assert resp.status_code == 200
    want = [line for line in lines if line.startswith(b"0012") and b"x" * 30 not in line]
    assert resp.content == b"".join(want) and len(want) > 50


FILTER_TEXT = b"a b\nb\nc\n\nab c\nb a\nxa\nb\nlast b"


@pytest.mark.parametrize(
    ("pattern", "oracle"),
    [
        ("b", rb"b"),
        ("^b", rb"^b"),
        ("a$", rb"a$"),
        (r"a\sb", rb"a\sb"),  # crosses a newline in the whole text, never within a line
        (r"(?s)c.b", rb"c.b"),
        (r"\Ab", rb"\Ab"),  # every line's own start
        (r"(?-m)^b", rb"^b"),
        ("x*", rb"x*"),  # matches every line, empty at most
        ("^$", rb"^$"),
        (r"\bb\b", rb"\bb\b"),
    ],
)
def test_filter_alone_matches_each_line_alone(
    http: httpx.Client, external: AllocFixture, pattern: str, oracle: bytes
) -> None:
    """A filter alone matches each line on its own, whatever the whole text around it would match."""
    external.write("alloc/logs/web.stdout.0", FILTER_TEXT[:9])  # the last line goes on in .1
    external.write("alloc/logs/web.stdout.1", FILTER_TEXT[9:])
    resp = logs(http, external.id, "web", plain="true", filter=pattern)
    lines = FILTER_TEXT.splitlines(keepends=True)
    want = b"".join(line for line in lines if re.search(oracle, line.rstrip(b"\n")))
    assert (resp.status_code, resp.content) == (200, want)


def test_filter_alone_over_rotated_files(http: httpx.Client, seq: tuple[str, list[bytes]]) -> None:
    alloc_id, lines = seq
    resp = logs(http, alloc_id, plain="true", filter="^0012[0-9][0-9] |^0[0-9]{4}9 x{3}$")
    assert resp.status_code == 200
    want = [line for line in lines if re.search(rb"^0012[0-9][0-9] |^0[0-9]{4}9 x{3}$", line.rstrip(b"\n"))]
    assert resp.content == b"".join(want) and len(want) > 100


def test_filter_framed_names_each_run_with_its_true_end(
    agent: AgentProcess, http: httpx.Client, seq: tuple[str, list[bytes]]
) -> None:
    alloc_id, lines = seq
    resp = logs(http, alloc_id, filter="^00[0-9]{2}7 ")
    frames = split_frames(resp.content)
    assert frame_data(frames) == b"".join(line for line in lines if line[4:6] == b"7 ")
    for frame in frames:
        data = base64.b64decode(frame["Data"])
        on_disk = file_bytes(agent, alloc_id, frame["File"])
        assert on_disk[frame["Offset"] - len(data) : frame["Offset"]] == data


def test_filter_combined_with_tail_lines(http: httpx.Client, seq: tuple[str, list[bytes]]) -> None:
    alloc_id, lines = seq
    # tail_lines chooses where reading starts; the filter applies to the lines from there.
    resp = logs(http, alloc_id, plain="true", tail_lines="100", filter="5 ")
    assert resp.content == b"".join(line for line in lines[-100:] if b"5 " in line)


def test_bad_patterns_are_refused_with_the_parsers_text(
    http: httpx.Client, seq: tuple[str, list[bytes]]
) -> None:
    alloc_id, _ = seq
    for params, text in [
        ({"filter": "("}, "invalid filter pattern: missing ): ("),
        ({"exclude": "a(?<=b)"}, "invalid exclude pattern: invalid perl operator: (?<="),
        ({"filter": "x{2000}{2000}"}, "invalid filter pattern: invalid repetition size: {2000}"),
    ]:
        resp = logs(http, alloc_id, **params)
        assert (resp.status_code, resp.text) == (400, text)


def test_catastrophic_backtracking_patterns_return(http: httpx.Client, external: AllocFixture) -> None:
    # Exponential for a backtracking engine (Python's re would not finish); linear for RE2.
    hostile = b"a" * 200_000 + b"!\n"
    external.write("alloc/logs/web.stdout.0", hostile * 5 + b"aaaa\n")
    for pattern, want in [("^(a+)+$", b"aaaa\n"), ("^(a|aa)*$", b"aaaa\n"), ("(a*)*b", b"")]:
        resp = logs(http, external.id, "web", plain="true", filter=pattern)
        assert (resp.status_code, resp.content) == (200, want), pattern


# -- limit_bytes -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("limit", [1, 7, 8, 4096, 50_000])
def test_limit_bytes_cuts_the_output(http: httpx.Client, seq: tuple[str, list[bytes]], limit: int) -> None:
    alloc_id, lines = seq
    resp = logs(http, alloc_id, plain="true", limit_bytes=str(limit))
    assert resp.content == b"".join(lines)[:limit]


def test_limit_bytes_ends_a_follow(agent: AgentProcess, external: AllocFixture) -> None:
    log = external.write("alloc/logs/web.stdout.0", b"one\n")
    params = {"task": "web", "type": "stdout", "follow": "true", "plain": "true", "limit_bytes": "10"}
    with (
        httpx.Client(base_url=agent.url, timeout=httpx.Timeout(10.0)) as client,
        client.stream("GET", f"/v1/client/fs/logs/{external.id}", params=params) as resp,
    ):
        chunks = resp.iter_raw()
        assert next(chunks) == b"one\n"
        with log.open("ab") as f:
            f.write(b"two\nthree\nfour\n")
        # The stream ends by itself once the limit is reached.
        assert b"".join(chunks) == b"two\nth"


# -- format=ndjson and paging back --------------------------------------------------------------------------


def test_ndjson_records_point_at_their_lines(
    agent: AgentProcess, http: httpx.Client, seq: tuple[str, list[bytes]]
) -> None:
    alloc_id, lines = seq
    got = records(logs(http, alloc_id, format="ndjson", tail_lines="300"))
    assert [r["Line"].encode() + b"\n" for r in got] == lines[-300:]
    for r in got:
        assert r["Type"] == "stdout" and "Partial" not in r
        on_disk = b"".join(log_files(agent, alloc_id))
        start = sum(len(f) for f in log_files(agent, alloc_id)[: int(r["File"].rsplit(".", 1)[1])])
        assert on_disk[start + r["Offset"] :].startswith(r["Line"].encode())
        break  # one full check against disk; the order check above covers the rest


def test_ndjson_carries_any_bytes_losslessly(http: httpx.Client, external: AllocFixture) -> None:
    external.write("alloc/logs/web.stdout.0", "plain\ncafé\n".encode() + b"\xff\xfe bin\n" + b"no newline")
    got = records(logs(http, external.id, "web", format="ndjson"))
    assert got == [
        {"Type": "stdout", "File": "alloc/logs/web.stdout.0", "Offset": 0, "Line": "plain"},
        {"Type": "stdout", "File": "alloc/logs/web.stdout.0", "Offset": 6, "Line": "café"},
        {"Type": "stdout", "File": "alloc/logs/web.stdout.0", "Offset": 12, "LineBase64": "//4gYmlu"},
        {
            "Type": "stdout",
            "File": "alloc/logs/web.stdout.0",
            "Offset": 19,
            "Line": "no newline",
            "Partial": True,
        },
    ]
    assert base64.b64decode(got[2]["LineBase64"]) == b"\xff\xfe bin"


def test_paging_back_with_before_covers_the_log_once(
    http: httpx.Client, seq: tuple[str, list[bytes]]
) -> None:
    alloc_id, lines = seq
    page = records(logs(http, alloc_id, format="ndjson", tail_lines="700"))
    collected = page
    while True:
        cursor = f"{page[0]['File']}:{page[0]['Offset']}"
        page = records(logs(http, alloc_id, format="ndjson", tail_lines="700", before=cursor))
        if not page:
            break
        assert len(page) == 700 or page[0]["Offset"] == 0
        collected = page + collected
    assert [r["Line"].encode() + b"\n" for r in collected] == lines


def test_before_plain_ends_at_the_cursor(http: httpx.Client, external: AllocFixture) -> None:
    external.write("alloc/logs/web.stdout.0", b"a\nb\nc")
    external.write("alloc/logs/web.stdout.1", b"c\nd\ne\n")
    for before, n, want in [
        ("alloc/logs/web.stdout.1:2", 2, b"b\ncc\n"),
        ("alloc/logs/web.stdout.1:4", 1, b"d\n"),
        ("alloc/logs/web.stdout.0:2", 5, b"a\n"),
        ("alloc/logs/web.stdout.0:0", 5, b""),
        ("alloc/logs/web.stdout.1:6", 0, b""),
    ]:
        resp = logs(http, external.id, "web", plain="true", tail_lines=str(n), before=before)
        assert (resp.status_code, resp.content) == (200, want), before


# -- refused combinations ----------------------------------------------------------------------------------

REFUSED = [
    ({"tail_lines": "x"}, 'error parsing tail_lines: strconv.ParseInt: parsing "x": invalid syntax'),
    ({"tail_lines": "-1"}, "tail_lines must not be negative, got -1"),
    (
        {"tail_lines": "5", "offset": "10"},
        "tail_lines cannot be combined with offset or origin: each chooses where reading starts",
    ),
    (
        {"tail_lines": "5", "origin": "end"},
        "tail_lines cannot be combined with offset or origin: each chooses where reading starts",
    ),
    (
        {"before": "alloc/logs/t.stdout.0:0"},
        "before needs tail_lines: it returns the tail_lines lines before the cursor",
    ),
    (
        {"before": "alloc/logs/t.stdout.0:0", "tail_lines": "1", "follow": "true"},
        "before cannot be combined with follow=true: a page ends at its cursor",
    ),
    (
        {"before": "nocolon", "tail_lines": "1"},
        "before must be <File>:<Offset>, as a line's File and Offset in format=ndjson",
    ),
    (
        {"before": ":5", "tail_lines": "1"},
        "before must be <File>:<Offset>, as a line's File and Offset in format=ndjson",
    ),
    ({"before": "alloc/logs/t.stdout.0:-4", "tail_lines": "1"}, "before offset must not be negative, got -4"),
    (
        {"before": "alloc/logs/t.stdout.0:99999999999999999999", "tail_lines": "1"},
        'error parsing before offset: strconv.ParseInt: parsing "99999999999999999999": value out of range',
    ),
    (
        {"before": "../../etc/passwd:0", "tail_lines": "1"},
        'before names no log file of this task and type: "../../etc/passwd"',
    ),
    (
        {"before": "alloc/logs/t.stderr.0:0", "tail_lines": "1"},
        'before names no log file of this task and type: "alloc/logs/t.stderr.0"',
    ),
    ({"limit_bytes": "0"}, "limit_bytes must be positive"),
    ({"limit_bytes": "1k"}, 'error parsing limit_bytes: strconv.ParseInt: parsing "1k": invalid syntax'),
    ({"format": "json"}, "format must be ndjson, got 'json'"),
    (
        {"format": "ndjson", "plain": "true"},
        "format=ndjson cannot be combined with plain=true: choose one output format",
    ),
]


@pytest.mark.parametrize(("params", "text"), REFUSED)
def test_nonsense_is_refused_with_a_reason(
    http: httpx.Client, seq: tuple[str, list[bytes]], params: dict[str, str], text: str
) -> None:
    alloc_id, _ = seq
    resp = logs(http, alloc_id, **params)
    assert (resp.status_code, resp.text) == (400, text)


def test_a_cursor_past_its_file_is_refused(
    agent: AgentProcess, http: httpx.Client, seq: tuple[str, list[bytes]]
) -> None:
    alloc_id, _ = seq
    size = len(log_files(agent, alloc_id)[0])
    resp = logs(http, alloc_id, tail_lines="1", before=f"alloc/logs/t.stdout.0:{size + 1}")
    text = f'before offset {size + 1} is past the end of "alloc/logs/t.stdout.0" ({size} bytes)'
    assert (resp.status_code, resp.text) == (400, text)


def test_nomads_own_errors_come_first(http: httpx.Client, seq: tuple[str, list[bytes]]) -> None:
    alloc_id, _ = seq
    resp = http.get(f"/v1/client/fs/logs/{alloc_id}", params={"task": "t", "type": "both", "tail_lines": "x"})
    assert (resp.status_code, resp.text) == (400, "must provide log type (stdout/stderr)")


def test_without_new_options_the_answer_is_unchanged(
    http: httpx.Client, seq: tuple[str, list[bytes]]
) -> None:
    alloc_id, _ = seq
    # Empty values are no values (Go's Query().Get): Nomad's answer, frames and all.
    plain = logs(http, alloc_id, origin="end", offset="100", tail_lines="", filter="", format="")
    reference = logs(http, alloc_id, origin="end", offset="100")
    assert plain.status_code == reference.status_code == 200
    assert plain.content == reference.content
    assert plain.headers["content-type"] == "application/json"


def test_waits_are_bounded(http: httpx.Client, seq: tuple[str, list[bytes]]) -> None:
    # A dead task's whole log through every option at once: answered and ended.
    alloc_id, _ = seq
    started = time.monotonic()
    resp = logs(
        http,
        alloc_id,
        tail_lines="1000",
        filter="1",
        exclude="2",
        limit_bytes="5000",
        format="ndjson",
        follow="true",
    )
    assert resp.status_code == 200 and time.monotonic() - started < 20
    assert sum(len(r["Line"]) + 1 for r in records(resp)) <= 5000
