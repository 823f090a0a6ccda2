"""``dialup-admin simulate-line`` as a command: a process other programs use."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

from tests.support.modem import Terminal
from tests.support.tool import REPO, TOOL, RunCli, run_tool


def test_simulate_line_serves_until_sigterm(root: Path, run: RunCli) -> None:
    (root / "dev").mkdir()
    (root / "var" / "lock").mkdir(parents=True)
    proc = subprocess.Popen(
        [*TOOL, "--root", str(root), "--json", "simulate-line", "--line", "/dev/ttyV0=11", "--line", "/dev/ttyV1=12",
         "--bps", "57600", "--ring-interval", "0.2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO,
    )
    try:
        assert proc.stdout is not None
        text = ""
        while True:
            ln = proc.stdout.readline().decode()
            assert ln, proc.stderr.read() if proc.stderr else ""
            text += ln
            if ln.startswith("}"):
                break
        ports = json.loads(text)
        assert ports["11"]["port"] == str(root / "dev" / "ttyV0")
        assert os.readlink(root / "dev" / "ttyV0") == ports["11"]["pty"]
        res = run("test-modem", str(root / "dev" / "ttyV0"))
        assert res.exit_code == 0, res.output
        with Terminal(ports["11"]["port"]) as server, Terminal(ports["12"]["port"]) as client:
            server.command("ATS0=1")
            client.type("ATDT11")
            client.expect("CONNECT 57600")
            server.expect("CONNECT 57600")
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert b"12 CONNECT 57600" in err  # events go to stderr when --json owns stdout
    assert not os.path.lexists(root / "dev" / "ttyV0")
    assert not os.path.lexists(root / "dev" / "ttyV1")


def test_simulate_line_bad_input(root: Path) -> None:
    res = run_tool("--root", str(root), "simulate-line", "--line", "ttyV0=11")
    assert res.returncode == 2 and b"write /dev/ttyV0=NUMBER" in res.stderr
    res = run_tool("--root", str(root), "simulate-line", "--line", "/dev/ttyV0=1x")
    assert res.returncode == 2 and b"bad phone number '1x'" in res.stderr
    res = run_tool("--root", str(root), "simulate-line", "--line", "11", "--dead", "12")
    assert res.returncode == 2 and b"no --line has that number" in res.stderr
    res = run_tool("--root", str(root), "simulate-line", "--line", "11", "--line", "21", "--direct", "11-99")
    assert res.returncode == 2 and b"direct pair 11-99: 99 is not a number on this line" in res.stderr
    res = run_tool("--root", str(root), "simulate-line", "--line", "11", "--direct", "11")
    assert res.returncode == 2 and b"bad --direct '11'" in res.stderr


def test_simulate_line_dry_run_creates_nothing(root: Path, run: RunCli) -> None:
    (root / "dev").mkdir()
    res = run("simulate-line", "--line", "/dev/ttyV0=11", "--dry-run")
    assert res.exit_code == 0
    assert f"would simulate a modem with number 11 on symlink {root}/dev/ttyV0" in res.stdout
    assert not list((root / "dev").iterdir())
