"""The general options and the exit codes: NOMAD_* variables against flags, both dash spellings, flags
before or after the command, a refused connection, usage errors, and a reader that goes away."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

import pytest

from outrider import __version__
from tests.cli.support import cli_env, err, fails, ok, register, run
from tests.conftest import AgentProcess
from tests.runner import jobspecs as J

pytestmark = pytest.mark.functional


def closed_address() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture(scope="module")
def job_in_default(agent: AgentProcess) -> str:
    register(agent, J.job("global-demo", J.sh("t", "exec sleep 120"), type_="service"))
    return "global-demo"


def test_address_from_the_environment_and_from_flags(agent: AgentProcess, job_in_default: str) -> None:
    dead = closed_address()
    assert job_in_default in ok("job", "status", agent=agent)
    for spelling in (["-address", agent.url], [f"-address={agent.url}"], ["--address", agent.url]):
        # The flag beats NOMAD_ADDR, after the command or before it.
        assert job_in_default in ok("job", "status", *spelling, env={"NOMAD_ADDR": dead})
        assert job_in_default in ok(*spelling, "job", "status", env={"NOMAD_ADDR": dead})
    # After the command beats before it.
    assert job_in_default in ok("-address", dead, "job", "status", "-address", agent.url)


def test_a_refused_connection_names_the_address() -> None:
    dead = closed_address()
    text = fails("alloc", "logs", "0b8b9e37", env={"NOMAD_ADDR": dead})
    assert text.startswith(f"Error: cannot connect to {dead}: connection refused\n")
    assert "NOMAD_ADDR" in text
    text = fails("job", "status", "-address", "127.0.0.1:1")
    assert "cannot connect to http://127.0.0.1:1: connection refused" in text
    assert "invalid agent address" in fails("job", "status", "-address", "ftp://x")


def test_namespace_from_the_environment_and_flag(agent: AgentProcess, job_in_default: str) -> None:
    assert ok("job", "status", agent=agent, env={"NOMAD_NAMESPACE": "elsewhere"}) == "No running jobs\n"
    assert ok("job", "status", "-namespace", "elsewhere", agent=agent) == "No running jobs\n"
    shown = ok("job", "status", "--namespace=default", agent=agent, env={"NOMAD_NAMESPACE": "elsewhere"})
    assert job_in_default in shown
    assert job_in_default in ok("job", "status", "-region", "global", agent=agent)


def test_version_spellings() -> None:
    for spelling in ("--version", "-version", "version"):
        assert ok(spelling).startswith(f"Outrider v{__version__}\nnative core: ")


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (("alloc", "logs"), "Missing argument 'ALLOC'"),
        (("alloc", "logs", "-bogus", "x"), "No such option '-bogus'"),
        (("nope",), "No such command 'nope'"),
        (("alloc", "logs", "-n", "many", "x"), "'many' is not a valid integer"),
        (("acl", "token", "create", "-type", "root"), "'root' is not one of 'client', 'management'"),
        ((), "Usage: outrider"),
    ],
)
def test_usage_errors_exit_2(args: tuple[str, ...], text: str) -> None:
    assert text in fails(*args, code=2)


def test_json_on_read_commands_is_json(agent: AgentProcess, job_in_default: str) -> None:
    for args in (
        ("job", "status"),
        ("job", "status", job_in_default),
        ("node", "status"),
        ("node", "meta", "read"),
    ):
        json.loads(ok(*args, "-json", agent=agent))


def test_a_reader_that_goes_away_ends_the_command_quietly(agent: AgentProcess) -> None:
    code = "import sys\nfor i in range(20000): sys.stdout.write(f'{i:08d}' * 8 + '\\n')"
    alloc = register(agent, J.job("chatty", J.python("w", code)))[0]
    from tests.cli.support import wait_dead

    wait_dead(agent, alloc["ID"])
    proc = subprocess.Popen(
        [sys.executable, "-m", "outrider", "alloc", "logs", alloc["ID"]],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=cli_env(agent),
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert len(proc.stdout.read(100)) == 100
    proc.stdout.close()
    assert proc.wait(30) == 1
    assert proc.stderr.read() == b""
    proc.stderr.close()


def test_errors_go_to_stderr_and_nothing_to_stdout(agent: AgentProcess) -> None:
    result = run("alloc", "status", "ffff0000", agent=agent)
    assert result.returncode == 1 and result.stdout == b""
    assert err(result).startswith("Error: no allocation matches prefix 'ffff0000'\nHint: ")
