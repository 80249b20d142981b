"""The external load tools and peers: nginx, wrk and curl, installed from Debian when missing."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

LUA_DIR = Path(__file__).parent / "lua"
_SBIN = ("/usr/sbin", "/sbin")
_PACKAGES = {"nginx": "nginx", "wrk": "wrk", "curl": "curl"}


class ToolError(RuntimeError):
    """A tool is missing and cannot be installed, or it failed."""


def which(name: str) -> str | None:
    """Find ``name`` on PATH or in the sbin directories (nginx lives there)."""
    found = shutil.which(name)
    if found:
        return found
    for folder in _SBIN:
        candidate = os.path.join(folder, name)
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def ensure_tools(names: tuple[str, ...] = ("nginx", "wrk", "curl")) -> dict[str, str]:
    """Return the path of every tool, installing the missing ones with apt-get (as root)."""
    missing = [name for name in names if which(name) is None]
    if missing:
        if os.geteuid() != 0 or shutil.which("apt-get") is None:
            raise ToolError(
                f"missing {', '.join(missing)}; install the Debian packages "
                f"({' '.join(_PACKAGES[m] for m in missing)}) or run the suite as root"
            )
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, timeout=600)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", *(_PACKAGES[m] for m in missing)],
            check=True,
            env=env,
            timeout=600,
            stdout=subprocess.DEVNULL,
        )
    paths = {name: which(name) for name in names}
    absent = [name for name, path in paths.items() if path is None]
    if absent:
        raise ToolError(f"{', '.join(absent)} still missing after apt-get install")
    return {name: path for name, path in paths.items() if path is not None}


@dataclass(frozen=True)
class WrkResult:
    """Totals of one wrk run."""

    requests: int
    seconds: float
    bytes: int
    errors: dict[str, int]
    latency_us: dict[str, int]

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def failed(self) -> int:
        return sum(self.errors.values())


def wrk_script(workspace_root: Path, *parts: str) -> Path:
    """Concatenate ``bench/lua/<part>.lua`` files (plus the summary) into one wrk script."""
    target = workspace_root / ("wrk-" + "-".join(parts or ("plain",)) + ".lua")
    if not target.exists():
        texts = [(LUA_DIR / f"{part}.lua").read_text() for part in (*parts, "summary")]
        target.write_text("\n".join(texts))
    return target


def run_wrk(
    wrk: str,
    url: str,
    seconds: float,
    connections: int,
    script: Path,
    args: tuple[str, ...] = (),
    threads: int = 1,
) -> WrkResult:
    """Run wrk for ``seconds`` against ``url``; wrk stops by itself, and a timeout guards it."""
    # One wrk thread leaves the other core to the server under test (the machine has two).
    cmd = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",  # wrk takes whole seconds only
        "--timeout",
        "10s",
        "-s",
        str(script),
        url,
    ]
    if args:
        cmd += ["--", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30)
    for line in proc.stdout.splitlines():
        if line.startswith("WRK_JSON "):
            data = json.loads(line[len("WRK_JSON ") :])
            return WrkResult(
                requests=data["requests"],
                seconds=data["duration_us"] / 1e6,
                bytes=data["bytes"],
                errors=data["errors"],
                latency_us=data["latency_us"],
            )
    raise ToolError(f"wrk gave no summary (exit {proc.returncode}): {proc.stderr.strip() or proc.stdout}")


@dataclass(frozen=True)
class Download:
    """One body fetched by curl and thrown away."""

    status: int
    size: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.size / self.seconds if self.seconds else 0.0


def curl_download(curl: str, url: str, timeout: float = 120.0) -> Download:
    """Fetch ``url`` with curl, discarding the body; curl is a C client, so this measures the server."""
    proc = subprocess.run(
        [curl, "-s", "-o", "/dev/null", "-w", "%{http_code} %{size_download} %{time_total}", url],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    try:
        code, size, total = proc.stdout.split()
        return Download(int(code), int(size), float(total))
    except ValueError:
        raise ToolError(f"curl failed (exit {proc.returncode}): {proc.stderr.strip()}") from None
