"""Choose between the native core and its pure-Python twins.

Each hot path has two implementations with identical behaviour: a compiled
module ``outrider._native.<name>`` and a pure-Python reference. Selectors call
:func:`load_native` and fall back to the twin when the extension is missing
(a loud warning, never a crash) or when ``OUTRIDER_PURE=1`` forces the twin.
"""

from __future__ import annotations

import importlib
import logging
import os
from types import ModuleType

log = logging.getLogger("outrider.core")

NATIVE_MODULES = (
    "filemode",
    "framer",
    "inotify",
    "linescan",
    "listing",
    "readat",
    "safe_open",
    "sniff",
    "tail",
)
"""Every module of the native core (``outrider._native.<name>``), each with a pure-Python twin."""

_missing: dict[str, str] = {}
_TRUE = {"1", "true", "yes", "on"}


def pure_forced() -> bool:
    """True when ``OUTRIDER_PURE`` asks for the pure-Python twins."""
    return os.environ.get("OUTRIDER_PURE", "").strip().lower() in _TRUE


def load_native(name: str) -> ModuleType | None:
    """Import ``outrider._native.<name>``; return None (and remember why) when it is not built."""
    try:
        return importlib.import_module(f"outrider._native.{name}")
    except Exception as exc:
        # A module that fails while initialising is as unusable as a missing one:
        # fall back to the twin and let warn_if_degraded() say so loudly.
        _missing[name] = f"{type(exc).__name__}: {exc}"
        return None


def select(name: str, pure: ModuleType) -> tuple[ModuleType, dict[str, ModuleType]]:
    """Return the active implementation and the map of all importable ones.

    The map always has ``"pure"`` and has ``"native"`` when the extension imports,
    whatever ``OUTRIDER_PURE`` says, so tests can run both side by side.
    """
    native = load_native(name)
    impls: dict[str, ModuleType] = {"pure": pure}
    if native is not None:
        impls["native"] = native
    active = pure if native is None or pure_forced() else native
    return active, impls


def missing_extensions() -> dict[str, str]:
    """Extensions that failed to import so far, with the import error."""
    return dict(_missing)


def fallbacks() -> dict[str, str]:
    """Every native module whose pure-Python twin is in use, with the reason; empty when none is."""
    if pure_forced():
        return dict.fromkeys(NATIVE_MODULES, "OUTRIDER_PURE is set")
    for name in NATIVE_MODULES:
        load_native(name)
    return {name: _missing[name] for name in NATIVE_MODULES if name in _missing}


def core_name() -> str:
    """``"cython"`` when every native module is in use, ``"pure-python"`` when none is, else ``"mixed"``."""
    fell_back = fallbacks()
    if not fell_back:
        return "cython"
    return "pure-python" if len(fell_back) == len(NATIVE_MODULES) else "mixed"


def warn_if_degraded() -> None:
    """Log a loud warning at start-up for each native module whose twin is in use."""
    if pure_forced():
        log.warning("native core disabled by OUTRIDER_PURE; using the pure-Python twins")
        return
    for name, why in fallbacks().items():
        log.warning(
            "native module outrider._native.%s is not available (%s); using its pure-Python twin. "
            "Reinstall with a C compiler to build the native core.",
            name,
            why,
        )
