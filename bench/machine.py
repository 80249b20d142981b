"""Describe the machine and the software versions a run measured, for the report's "Reproducing" part."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
from typing import Any

import psutil

from outrider import _impl

PACKAGES = (
    "outrider",
    "hypercorn",
    "uvicorn",
    "uvloop",
    "starlette",
    "orjson",
    "pytest-benchmark",
)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _tool_version(cmd: list[str]) -> str:
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "missing"
    text = (proc.stdout + proc.stderr).strip().splitlines()
    return text[0] if text else "unknown"


def describe(tools: dict[str, str]) -> dict[str, Any]:
    """CPU, cores, memory, kernel, Python, package and tool versions, and which native modules load."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    native = {
        name: "native" if _impl.load_native(name) is not None else "pure (not built)"
        for name in _impl.NATIVE_MODULES
    }
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "packages": versions,
        "nginx": _tool_version([tools["nginx"], "-v"]) if "nginx" in tools else "missing",
        "wrk": _tool_version([tools["wrk"], "-v"]) if "wrk" in tools else "missing",
        "native_modules": native,
    }


def one_line(machine: dict[str, Any]) -> str:
    return (
        f"{machine['cpu']}, {machine['cores']} cores, {machine['memory_gib']} GiB RAM, "
        f"Linux {machine['kernel']}, Python {machine['python']}"
    )
