"""The command line as a whole: registry, help texts, shared options, error lines."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from dialup_admin.cli import COMMAND_MODULES, REGISTRY, cli, load_module_commands
from tests.support.tool import run_tool


def all_commands() -> dict[str, tuple[str, str]]:
    out = {}
    for module in COMMAND_MODULES:
        for name, cmd in load_module_commands(module).items():
            out[name] = (module, (cmd.help or "").strip().splitlines()[0])
    return out


def test_registry_lists_every_command_with_its_help() -> None:
    assert REGISTRY == all_commands()


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_command_has_help(name: str) -> None:
    res = CliRunner().invoke(cli, [name, "--help"])
    assert res.exit_code == 0, res.output
    assert "Usage: " in res.output and "--dry-run" in res.output


def test_version_and_help() -> None:
    proc = run_tool("--version")
    assert proc.returncode == 0 and proc.stdout.startswith(b"dialup-admin, version ")
    assert b"setup-server" in run_tool("--help").stdout


def test_unknown_command() -> None:
    proc = run_tool("no-such-command")
    assert proc.returncode == 2 and b"No such command" in proc.stderr
