"""Helpers of the micro-benchmarks: every test body runs on each twin (``native``, ``pure``).

Run them with ``python -m pytest bench/micro --benchmark-only`` (or through
``python -m bench``); they are never part of the test suite.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest

from outrider import _impl


def twins(impls: dict[str, ModuleType], native_name: str) -> list[Any]:
    """``pytest.param`` per implementation, ids ``native``/``pure``; a native module that is not built is skipped."""
    params = []
    for name in ("native", "pure"):
        if name in impls:
            params.append(pytest.param(impls[name], id=name))
        else:
            why = _impl.missing_extensions().get(native_name, "not built")
            params.append(
                pytest.param(
                    None, id=name, marks=pytest.mark.skip(reason=f"outrider._native.{native_name}: {why}")
                )
            )
    return params


def record(benchmark: Any, result: object, reference: object) -> None:
    """Record, then demand, that this twin's output equals the pure twin's."""
    benchmark.extra_info["identical_to_pure"] = result == reference
    assert result == reference
