"""Picking an implementation for a twin test: ``native`` or ``pure``.

When the native module is not built the ``native`` case is skipped with the
reason, except where ``OUTRIDER_REQUIRE_NATIVE=1`` (CI sets it): there a
missing extension is a failure, so a broken build cannot hide behind skips.
"""

from __future__ import annotations

import os
from types import ModuleType

import pytest

TWINS = ["native", "pure"]


def native_required() -> bool:
    return os.environ.get("OUTRIDER_REQUIRE_NATIVE", "") not in ("", "0")


def pick(impls: dict[str, ModuleType], which: str, name: str) -> ModuleType:
    """``impls[which]``, or skip (fail under OUTRIDER_REQUIRE_NATIVE) when it is not built."""
    if which in impls:
        return impls[which]
    reason = f"outrider._native.{name} is not built (python setup.py build_ext --inplace)"
    if native_required():
        pytest.fail(reason)
    pytest.skip(reason)


def both(impls: dict[str, ModuleType], name: str) -> tuple[ModuleType, ModuleType]:
    """``(native, pure)`` for cross-checks."""
    return pick(impls, "native", name), impls["pure"]
