"""The command line on a terminal (a real pseudo-terminal): colour there and only there, never with
NO_COLOR, a progress line while a job starts, and Ctrl-C typed at the keyboard: exit 130, no traceback."""

from __future__ import annotations

import os
import pty
import select
import signal
import sys
import time
from collections.abc import Callable

import pytest

from tests.cli.support import cli_env, register, run
from tests.conftest import AgentProcess
from tests.runner import jobspecs as J

pytestmark = pytest.mark.functional

BOLD = b"\x1b[1m"
GREEN = b"\x1b[32m"


class Terminal:
    """A command run under a pseudo-terminal that is its controlling terminal, as in an interactive shell."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        pid, fd = pty.fork()
        if pid == 0:  # the child: exec at once, nothing else
            os.execvpe(sys.executable, [sys.executable, "-m", "outrider", *args], env)
        self.pid = pid
        self.fd = fd
        self.output = b""
        self.status: int | None = None

    def read_until(self, done: Callable[[bytes], bool], timeout: float = 30) -> bytes:
        deadline = time.monotonic() + timeout
        while not done(self.output):
            left = deadline - time.monotonic()
            if left <= 0:
                os.kill(self.pid, signal.SIGKILL)
                raise AssertionError(f"timed out; the terminal shows: {self.output!r}")
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:  # EIO: the child closed the terminal
                    chunk = b""
                if not chunk:
                    break
                self.output += chunk
        return self.output

    def type(self, data: bytes) -> None:
        os.write(self.fd, data)

    def wait(self, timeout: float = 30) -> int:
        """Read to the end of the output, then reap the command; its exit code."""
        self.read_until(lambda _: False, timeout)
        _, status = os.waitpid(self.pid, 0)
        os.close(self.fd)
        self.status = os.waitstatus_to_exitcode(status)
        return self.status


def on_terminal(args: list[str], env: dict[str, str]) -> tuple[int, bytes]:
    term = Terminal(args, env)
    code = term.wait()
    return code, term.output


def terminal_env(agent: AgentProcess, **extra: str) -> dict[str, str]:
    return cli_env(agent, TERM="xterm", **extra)


@pytest.fixture(scope="module")
def running(agent: AgentProcess) -> str:
    script = "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.1; done"
    register(agent, J.job("on-terminal", J.sh("t", script), type_="service"))
    return "on-terminal"


def test_colour_on_a_terminal_only(agent: AgentProcess, running: str) -> None:
    code, shown = on_terminal(["job", "status"], terminal_env(agent))
    assert code == 0
    assert BOLD + b"ID" in shown and GREEN + b"running" in shown
    piped = run("job", "status", agent=agent, env={"TERM": "xterm"})
    assert b"\x1b[" not in piped.stdout and b"running" in piped.stdout


@pytest.mark.parametrize("how", [{"NO_COLOR": "1"}, {"NOMAD_CLI_NO_COLOR": "1"}, "-no-color", "--no-color"])
def test_no_color_wins_on_a_terminal(agent: AgentProcess, running: str, how: dict[str, str] | str) -> None:
    env = terminal_env(agent, **how) if isinstance(how, dict) else terminal_env(agent)
    args = ["job", "status"] + ([how] if isinstance(how, str) else [])
    code, shown = on_terminal(args, env)
    assert code == 0 and b"running" in shown
    assert b"\x1b[" not in shown


def test_force_color_in_a_pipe(agent: AgentProcess, running: str) -> None:
    assert GREEN + b"running" in run("job", "status", "-force-color", agent=agent).stdout


def test_errors_are_red_on_a_terminal(agent: AgentProcess) -> None:
    code, shown = on_terminal(["alloc", "status", "ffff0000"], terminal_env(agent))
    assert code == 1
    assert b"\x1b[31mError:\x1b[0m no allocation matches prefix 'ffff0000'" in shown


@pytest.mark.parametrize("streams", [["-stdout"], []], ids=["stdout", "both"])
def test_ctrl_c_while_following_exits_130_without_traceback(
    agent: AgentProcess, running: str, streams: list[str]
) -> None:
    with agent.client() as http:
        alloc_id = http.get(f"/v1/job/{running}/allocations").json()[0]["ID"]
    term = Terminal(["alloc", "logs", "-f", *streams, alloc_id], terminal_env(agent))
    term.read_until(lambda shown: shown.count(b"tick") >= 3)
    term.type(b"\x03")  # the terminal turns it into SIGINT for the foreground process group
    assert term.wait() == 128 + signal.SIGINT
    assert b"Traceback" not in term.output and b"KeyboardInterrupt" not in term.output


def test_ctrl_c_while_a_job_stops_leaves_it_stopping(agent: AgentProcess) -> None:
    register(
        agent,
        J.job("interrupted", J.sh("t", "trap '' INT TERM; while true; do sleep 0.1; done"), type_="service"),
    )
    term = Terminal(["job", "stop", "interrupted"], terminal_env(agent))
    term.read_until(lambda shown: b"Stopping job" in shown)
    term.type(b"\x03")
    assert term.wait() == 130
    assert b"Traceback" not in term.output
    with agent.client() as http:
        assert http.get("/v1/job/interrupted").json()["Stop"] is True


def test_progress_line_on_a_terminal_only(agent: AgentProcess) -> None:
    # A task that ignores its kill signal: stopping it waits out its kill timeout (2 s), with a progress line.
    stubborn = "trap '' INT TERM; while true; do sleep 0.1; done"
    for job_id in ("stubborn-tty", "stubborn-pipe"):
        register(agent, J.job(job_id, J.sh("t", stubborn), type_="service"))
    code, shown = on_terminal(["job", "stop", "stubborn-tty"], terminal_env(agent))
    assert code == 0
    assert b"\r\x1b[Kwaiting for 1 allocation(s) to stop" in shown
    assert b'Job "stubborn-tty" stopped: 1 allocation(s) stopped' in shown
    piped = run("job", "stop", "stubborn-pipe", agent=agent, env={"TERM": "xterm"})
    assert piped.returncode == 0 and b'Job "stubborn-pipe" stopped' in piped.stdout
    assert b"waiting" not in piped.stdout + piped.stderr and b"\r" not in piped.stdout + piped.stderr
