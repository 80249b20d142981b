"""Frame encoding: one body over both implementations, identical bytes, decodable as Nomad's clients do."""

from __future__ import annotations

import base64
import json
from types import ModuleType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from outrider.stream import framer
from outrider.stream.framer import HEARTBEAT, IMPLEMENTATIONS, MAX_FRAME_DATA, json_string
from tests.frames import split_frames
from tests.twins import pick

HYPOTHESIS = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
XSS = b"<script>alert(document.domain);</script>"


@pytest.fixture(scope="module", params=["native", "pure"])
def impl(request: pytest.FixtureRequest) -> ModuleType:
    return pick(IMPLEMENTATIONS, request.param, "framer")


def test_reference_example_is_byte_exact(impl: ModuleType) -> None:
    # Nomad's command/agent/fs_endpoint_test.go: TestHTTP_FS_Stream_NoFollow_XSS.
    out = impl.encode_frames(XSS, json_string("alloc/logs/web.stdout.0"), "", 40)
    assert out == (
        b'{"Data":"PHNjcmlwdD5hbGVydChkb2N1bWVudC5kb21haW4pOzwvc2NyaXB0Pg==",'
        b'"File":"alloc/logs/web.stdout.0","Offset":40}'
    )


def test_event_only_frames_omit_empty_fields(impl: ModuleType) -> None:
    assert (
        impl.encode_frames(b"", b'"f"', "file truncated", 0) == b'{"File":"f","FileEvent":"file truncated"}'
    )
    assert impl.encode_frames(b"", b'"f"', "file deleted", 75) == (
        b'{"File":"f","FileEvent":"file deleted","Offset":75}'
    )
    assert impl.encode_frames(b"", b"", "file deleted", 0) == b'{"FileEvent":"file deleted"}'


def test_no_data_and_no_event_writes_nothing(impl: ModuleType) -> None:
    # An empty frame would be indistinguishable from a heartbeat.
    assert impl.encode_frames(b"", b'"f"', "", 10) == b""
    assert impl.HEARTBEAT == HEARTBEAT == b"{}"


def test_large_data_splits_with_true_end_offsets(impl: ModuleType) -> None:
    # Nomad's streamFile advances the offset before sending: the reference stamps the last
    # 8192 bytes with 262144; the true end is 204800.
    data = bytes(range(256)) * 800
    frames = split_frames(impl.encode_frames(data, b'"f"', "", len(data)))
    assert [f["Offset"] for f in frames] == [65536, 131072, 196608, 204800]
    assert b"".join(base64.b64decode(str(f["Data"])) for f in frames) == data
    assert all(len(base64.b64decode(str(f["Data"]))) <= MAX_FRAME_DATA for f in frames)


def test_event_goes_on_first_frame_only(impl: ModuleType) -> None:
    data = b"x" * (MAX_FRAME_DATA + 1)
    frames = split_frames(impl.encode_frames(data, b'"f"', "file truncated", 1000 + len(data)))
    assert [f.get("FileEvent") for f in frames] == ["file truncated", None]
    assert [f["Offset"] for f in frames] == [1000 + MAX_FRAME_DATA, 1000 + len(data)]


@pytest.mark.parametrize("event", ['a"b', "a\\b", "tab\there", "é", "\x7f"])
def test_events_needing_escapes_are_refused(impl: ModuleType, event: str) -> None:
    with pytest.raises(ValueError):
        impl.encode_frames(b"x", b'"f"', event, 1)


def test_end_offset_before_data_start_is_refused(impl: ModuleType) -> None:
    with pytest.raises(ValueError):
        impl.encode_frames(b"abc", b'"f"', "", 2)


@HYPOTHESIS
@given(
    data=st.binary(max_size=3 * MAX_FRAME_DATA + 7) | st.builds(lambda n: b"z" * n, st.integers(0, 200_000)),
    name=st.text(max_size=40),
    event=st.sampled_from(["", "file truncated", "file deleted"]),
    gap=st.integers(0, 2**62),
    kind=st.sampled_from(["bytes", "bytearray", "memoryview"]),
)
def test_native_and_pure_are_identical(data: bytes, name: str, event: str, gap: int, kind: str) -> None:
    if "native" not in IMPLEMENTATIONS:
        pytest.skip("native outrider._native.framer is not built (python setup.py build_ext --inplace)")
    payload = {"bytes": bytes, "bytearray": bytearray, "memoryview": memoryview}[kind](data)
    file_json = json_string(name) if name else b""
    end = len(data) + gap
    native = IMPLEMENTATIONS["native"].encode_frames(payload, file_json, event, end)
    pure = IMPLEMENTATIONS["pure"].encode_frames(payload, file_json, event, end)
    assert type(native) is bytes and native == pure
    frames = split_frames(pure)
    if data:
        assert b"".join(base64.b64decode(str(f["Data"])) for f in frames) == data
        assert frames[-1].get("Offset", 0) == end
        assert all(f.get("File", "") == json.loads(file_json or b'""') for f in frames)
    else:
        fields = {"File": json.loads(file_json or b'""'), "FileEvent": event, "Offset": end}
        assert frames == ([{k: v for k, v in fields.items() if v}] if event else [])


# -- File names: Go's JSON string rules (nomad/structs/handlers.go) --------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("alloc/logs/web.stdout.0", b'"alloc/logs/web.stdout.0"'),
        ("<a>&b", b'"<a>&b"'),  # HTML characters stay as they are
        ('q"b\\s', b'"q\\"b\\\\s"'),
        ("\n\r\t\b\f\x01\x1f\x7f", b'"\\n\\r\\t\\b\\f\\u0001\\u001f\x7f"'),
        ("line\u2028para\u2029", b'"line\\u2028para\\u2029"'),
        ("caf\u00e9", '"caf\u00e9"'.encode()),
        (b"bad\xff\xfe".decode("utf-8", "surrogateescape"), b'"bad\\ufffd\\ufffd"'),
        ("lone\ud800", b'"lone\\ufffd"'),
        ("", b'""'),
    ],
)
def test_json_string_matches_go(name: str, expected: bytes) -> None:
    assert json_string(name) == expected


@HYPOTHESIS
@given(st.text())
def test_json_string_round_trips_valid_text(name: str) -> None:
    encoded = json_string(name)
    expected = "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in name)
    assert json.loads(encoded) == expected
    assert b"\xe2\x80\xa8" not in encoded and b"\xe2\x80\xa9" not in encoded


def test_selector_exports_the_active_encoder() -> None:
    assert framer.encode_frames in {m.encode_frames for m in IMPLEMENTATIONS.values()}
