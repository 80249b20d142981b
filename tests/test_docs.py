"""The README's promises: its two opening commands, and that CI runs the test command it names."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def code_blocks(text: str) -> list[str]:
    return [m.group(1).strip() for m in re.finditer(r"```sh\n(.*?)```", text, re.S)]


def test_readme_opens_with_the_two_commands() -> None:
    blocks = code_blocks((ROOT / "README.md").read_text())
    assert blocks[0] == "pip install . && outrider agent --dev"
    assert blocks[1].startswith("pip install '.[test]'") and "pytest" in blocks[1]


def _ci_lines() -> list[str]:
    """The lines CI runs: .ci/run's own, with each ``bash ci/<step>.sh`` it calls spliced in."""
    lines: list[str] = []
    for line in (ROOT / ".ci" / "run").read_text().splitlines():
        line = line.strip()
        step = re.fullmatch(r"bash (ci/[\w.-]+\.sh)", line)
        if step:
            lines += [s.strip() for s in (ROOT / step.group(1)).read_text().splitlines()]
        else:
            lines.append(line)
    return lines


def test_ci_runs_the_readme_test_command() -> None:
    test_command = code_blocks((ROOT / "README.md").read_text())[1]
    assert test_command in _ci_lines()


def test_every_ci_step_is_a_script_a_person_can_run() -> None:
    steps = re.findall(r"^bash (ci/\S+)$", (ROOT / ".ci" / "run").read_text(), re.M)
    assert steps and all((ROOT / step).is_file() for step in steps)
    assert sorted(steps) == sorted(f"ci/{p.name}" for p in (ROOT / "ci").glob("*.sh"))


def test_every_config_flag_is_documented() -> None:
    from outrider.cli.main import _parser

    readme = (ROOT / "README.md").read_text()
    agent = _parser()._subparsers._group_actions[0].choices["agent"]  # type: ignore[union-attr]
    flags = [
        opt
        for action in agent._actions
        for opt in action.option_strings
        if opt.startswith("--") and opt != "--help"
    ]
    missing = [flag for flag in flags if f"`{flag}" not in readme]
    assert not missing, f"flags missing from the README's configuration table: {missing}"


def test_the_command_line_examples_are_real_commands() -> None:
    """Every command of the README's "Command line" block names real commands and flags (``-h`` parses them)."""
    import shlex
    import subprocess
    import sys

    section = (ROOT / "README.md").read_text().split("## Command line\n", 1)[1]
    block = code_blocks(section)[0]
    commands = [line.split("#", 1)[0].split("| ")[-1].strip() for line in block.splitlines()]
    assert len(commands) == 10
    for command in commands:
        words = shlex.split(command)
        assert words[0] == "outrider", command
        result = subprocess.run(
            [sys.executable, "-m", "outrider", *words[1:], "-h"], capture_output=True, text=True, timeout=30
        )
        assert result.returncode == 0, f"{command}: {result.stderr}"
        assert result.stdout.startswith("Usage: outrider "), command
