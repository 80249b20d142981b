"""Content sniffing (Go's DetectContentType), native against pure."""

from __future__ import annotations

import random
from types import ModuleType
from typing import Any

import pytest

from bench.micro._twins import record, twins
from outrider.fs import sniff, sniff_py

SAMPLES = [
    b"<!DOCTYPE html><html><head><title>x</title></head></html>",
    b"\x89PNG\r\n\x1a\n" + bytes(100),
    b"2024-05-01T10:00:00Z INFO request served in 3ms\n" * 10,
    b'{"level":"info","msg":"hello"}\n' * 12,
    b"%PDF-1.7\n",
    b"\x1f\x8b\x08\x00" + bytes(200),
    b"<?xml version='1.0'?><a/>",
    random.Random(3).randbytes(512),
]


@pytest.mark.parametrize("impl", twins(sniff.IMPLEMENTATIONS, "sniff"))
def test_detect_content_type(benchmark: Any, impl: ModuleType) -> None:
    benchmark.group = "sniff: 8 typical heads"
    detect = impl.detect_content_type

    def all_samples() -> list[str]:
        return [detect(s) for s in SAMPLES]

    out = benchmark(all_samples)
    record(benchmark, out, [sniff_py.detect_content_type(s) for s in SAMPLES])
