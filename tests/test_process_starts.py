"""One way to start a process: only system/commands.py does it, and tests can see every start.

The source is read with ast (nothing imported): outside ``system/`` no module imports
subprocess or starts a program any other way; inside it only ``commands.py`` does.
Then commands' own variants run real programs, and ``recording()`` shows what a real
``setup-server`` in a --root tree starts.
"""

from __future__ import annotations

import ast
import os
import time
from pathlib import Path

import pytest

from accounts_helpers import make_db
from conftest import RunCli
from dialup_admin.errors import UserError
from dialup_admin.system import commands

PKG = Path(__file__).resolve().parent.parent / "dialup_admin"
RUNNER = "system/commands.py"

# Modules whose names start programs when imported from or called through.
_START_MODULES = {"subprocess", "multiprocessing", "pexpect.popen_spawn", "pexpect.pxssh", "pexpect.replwrap"}
_CALLS = {
    "os": {"fork", "forkpty", "system", "popen", "posix_spawn", "posix_spawnp", "execv", "execve", "execvp",
           "execvpe", "execl", "execle", "execlp", "execlpe", "spawnv", "spawnve", "spawnvp", "spawnvpe",
           "spawnl", "spawnle", "spawnlp", "spawnlpe"},
    "pexpect": {"spawn", "spawnu", "run", "runu", "popen_spawn", "pxssh", "replwrap"},
    "pty": {"fork", "spawn"},
    "asyncio": {"create_subprocess_exec", "create_subprocess_shell"},
}


def starts(source: str) -> list[str]:
    """Each way ``source`` could start a process: imports of starting modules, calls of starters.

    Calls are ``module.name(...)`` (through any alias) and names imported from a module.
    """
    found: list[str] = []
    alias: dict[str, str] = {}  # local name -> module it stands for (import os as o)
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name in _START_MODULES or a.name.split(".")[0] in _START_MODULES:
                    found.append(f"line {node.lineno}: import {a.name}")
                alias[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for a in node.names:
                if node.module in _START_MODULES or node.module.split(".")[0] in _START_MODULES or \
                        a.name in _CALLS.get(node.module, ()) or f"{node.module}.{a.name}" in _START_MODULES:
                    found.append(f"line {node.lineno}: from {node.module} import {a.name}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and isinstance(node.func.value, ast.Name):
            module = alias.get(node.func.value.id, node.func.value.id)
            if node.func.attr in _CALLS.get(module, ()):
                found.append(f"line {node.lineno}: {node.func.value.id}.{node.func.attr}()")
    return found


def modules() -> dict[str, list[str]]:
    return {str(f.relative_to(PKG)): starts(f.read_text()) for f in sorted(PKG.rglob("*.py"))}


def test_only_the_runner_starts_processes() -> None:
    offenders = {mod: how for mod, how in modules().items() if how and mod != RUNNER}
    assert offenders == {}, "start programs through dialup_admin.system.commands"


def test_the_runner_is_where_the_starts_are() -> None:
    # The check sees the real thing: the runner's own starts are found.
    how = " ".join(modules()[RUNNER])
    for needle in ("import subprocess", "pexpect.spawn", "os.fork", "os.execv"):
        assert needle in how


@pytest.mark.parametrize("source", [
    "import subprocess",
    "import subprocess as sp",
    "from subprocess import run",
    "import multiprocessing.pool",
    "import os\nos.system('x')",
    "import os as o\no.execv('/bin/x', ['x'])",
    "from os import fork",
    "from os import execvp as ex",
    "import os\nos.posix_spawn('/bin/x', ['x'], {})",
    "import os\nos.popen('x')",
    "import pexpect\npexpect.spawn('x')",
    "import pexpect\npexpect.run('x')",
    "from pexpect import spawn",
    "from pexpect.popen_spawn import PopenSpawn",
    "import pexpect.popen_spawn",
    "import pty\npty.fork()",
    "import asyncio\nasyncio.create_subprocess_exec('x')",
])
def test_the_check_catches(source: str) -> None:
    assert starts(source), source


@pytest.mark.parametrize("source", [
    "import os\nos.kill(1, 0)",
    "import pexpect.fdpexpect\npexpect.fdpexpect.fdspawn(3)",  # over a port already open: no process
    "import pexpect\nx = pexpect.EOF",
    "import pexpect\nisinstance(x, pexpect.spawn)",  # naming the class starts nothing
    "import signal\nsignal.signal(1, 2)",
])
def test_the_check_lets_pass(source: str) -> None:
    assert starts(source) == []


# --- the runner's variants, on real programs ----------------------------------------------------


def test_run_captures_and_reports_one_line() -> None:
    assert commands.run(["sh", "-c", "read x; echo got $x"], stdin=b"secret\n").stdout == b"got secret\n"
    with pytest.raises(UserError, match=r"^sh -c failed \(exit 3\): bad$"):
        commands.run(["sh", "-c", "echo bad >&2; exit 3"])
    with pytest.raises(commands.TimedOut, match=r"^sh did not finish within 0 s$"):
        commands.run(["sh", "-c", "sleep 30"], timeout=0.3)
    with pytest.raises(UserError, match="^no-such-program-here not found$"):
        commands.run(["no-such-program-here"])


def test_stream_passes_lines_as_they_come(tmp_path: Path) -> None:
    # The program waits for a file only the callback creates: this ends only if lines arrive live.
    flag = tmp_path / "seen"
    seen: list[bytes] = []

    def on_line(line: bytes) -> None:
        seen.append(line)
        flag.touch()

    with open(tmp_path / "log", "wb") as log:
        rc = commands.stream(["sh", "-c", f"read pw; echo one; while [ ! -e {flag} ]; do sleep 0.05; done; "
                                          f"echo two >&2; printf \"$pw\"; exit 4"],
                             cwd=tmp_path, log=log, on_line=on_line, stdin=b"no-newline\n", timeout=60)
    assert rc == 4
    assert seen == [b"one\n", b"two\n", b"no-newline"]
    assert (tmp_path / "log").read_bytes() == b"one\ntwo\nno-newline"


def test_stream_timeout_kills_the_program(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    with pytest.raises(commands.TimedOut, match=r"^sh did not finish within 1 s$"):
        commands.stream(["sh", "-c", f"echo $$ > {pidfile}; exec sleep 60"], on_line=lambda _: None, timeout=1)
    pid = int(pidfile.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # killed and reaped


def test_background_wait_and_stop(tmp_path: Path) -> None:
    bg = commands.background(["sh", "-c", "echo hello; exec sleep 60"], stdout="pipe")
    try:
        deadline = time.monotonic() + 30
        out = b""
        while b"\n" not in out and time.monotonic() < deadline:
            out += os.read(bg.stdout_fd, 100)
        assert out == b"hello\n"
        assert bg.wait(timeout=0.1) is None and bg.returncode is None
    finally:
        assert bg.stop(grace=5) == -15  # SIGTERM
    with open(tmp_path / "out", "wb") as f:
        done = commands.background(["sh", "-c", "echo to-file; echo err >&2; exit 2"], stdout=f, stderr="stdout")
    assert done.wait(timeout=30) == 2
    assert (tmp_path / "out").read_bytes() == b"to-file\nerr\n"


# --- tests see every command the tool runs ------------------------------------------------------


def test_recording_sees_every_program_setup_server_and_adduser_start(root: Path, run: RunCli) -> None:
    if os.geteuid() != 0:
        pytest.skip("useradd --prefix needs root")
    make_db(root)
    with commands.recording() as started:
        res = run("setup-server", "--tty", "ttyS1", "--init", "none", "--mgetty", "/sbin/mgetty")
        assert res.exit_code == 0, res.output
        res = run("adduser", "alice", "--password-stdin", input="Rec0rded-Secret\n")
        assert res.exit_code == 0, res.output
    assert [(s.how, s.program) for s in started] == [
        ("run", "groupadd"), ("run", "useradd"), ("run", "useradd"),  # group ppp, users ppp and fax
        ("run", "useradd"), ("run", "chpasswd"),  # alice, her password
    ]
    for s in started:
        # Each one was told the --root tree (nothing ran against this machine's accounts),
        # and no password travelled in an argv.
        assert str(root) in s.argv and not any("Rec0rded-Secret" in a for a in s.argv), s
    assert commands.observers == []  # the recorder leaves nothing behind
