"""Stream frame encoding (base64 JSON frames), native against pure."""

from __future__ import annotations

import random
from types import ModuleType
from typing import Any

import pytest

from bench.micro._twins import record, twins
from outrider.stream import framer, framer_py

DATA = random.Random(1).randbytes(1 << 20)
FILE = framer_py.json_string("alloc/logs/web.stdout.0")


@pytest.mark.parametrize("size", [64, 4096, 65536, 1 << 20], ids=lambda s: f"{s}B")
@pytest.mark.parametrize("impl", twins(framer.IMPLEMENTATIONS, "framer"))
def test_encode_frames(benchmark: Any, impl: ModuleType, size: int) -> None:
    benchmark.group = f"framer: encode_frames {size} B"
    data = DATA[:size]
    out = benchmark(impl.encode_frames, data, FILE, "", 1_000_000 + size)
    record(benchmark, out, framer_py.encode_frames(data, FILE, "", 1_000_000 + size))
