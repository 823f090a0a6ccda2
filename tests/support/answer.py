"""Helpers for the answer tests: ``dialup-admin answer`` as a process on a simulated direct pair,
and a stand-in pppd that records what it was given (argv, its port, the bytes that follow CONNECT)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.processes import stop_process
from tests.support.tool import REPO, TOOL

# Runs in place of pppd: exec'd by answer with the port on stdin and stdout, it records its
# argv, pid, port and session, and every byte the caller sends in the next seconds.
RECORDER = """#!{python}
import json, os, select, sys, time
data = b""
end = time.monotonic() + float(os.environ.get("RECORD_SECONDS", "1"))
while time.monotonic() < end:
    if select.select([0], [], [], 0.05)[0]:
        chunk = os.read(0, 4096)
        if not chunk:
            break
        data += chunk
with open({out!r} + ".tmp", "w") as fh:
    json.dump({{"argv": sys.argv, "pid": os.getpid(), "tty": os.ttyname(0), "same_port": os.path.samestat(
        os.fstat(0), os.fstat(1)), "sid": os.getsid(0), "ctty_pgrp": os.tcgetpgrp(0), "data": data.hex()}}, fh)
os.rename({out!r} + ".tmp", {out!r})
"""

# The caller's first LCP Configure-Request as pppd sends it (async HDLC framing, escaped).
LCP_FRAME = bytes.fromhex("7eff7d23c0217d217d217d207d347d227d267d207d207d207d207d257d2a") + b"~"


def recorder(folder: Path) -> tuple[Path, Path]:
    """Write the stand-in pppd into ``folder``; returns (its path, where it writes its record)."""
    out = folder / "pppd-record.json"
    path = folder / "fake-pppd"
    path.write_text(RECORDER.format(python=sys.executable, out=str(out)))
    path.chmod(0o755)
    return path, out


@dataclass
class AnswerProc:
    proc: subprocess.Popen[bytes]
    root: Path
    tty: str

    @property
    def log_file(self) -> Path:
        return self.root / "var/log/dialup-admin" / f"answer-{self.tty}.log"

    def log(self) -> str:
        return self.log_file.read_text() if self.log_file.exists() else ""

    def wait_log(self, text: str, count: int = 1, timeout: float = 30) -> str:
        end = time.monotonic() + timeout
        while True:
            got = self.log()
            if got.count(text) >= count:
                return got
            if self.proc.poll() is not None:
                raise AssertionError(f"answer exited {self.proc.returncode} before {text!r}:\n{got}\n{self.stderr()}")
            if time.monotonic() > end:
                raise AssertionError(f"no {text!r} (x{count}) in answer's log within {timeout} s:\n{got}")
            time.sleep(0.05)

    def stderr(self) -> str:
        if self.proc.poll() is None or self.proc.stderr is None:
            return ""
        return self.proc.stderr.read().decode(errors="replace")

    def wait(self, timeout: float = 30) -> int:
        return self.proc.wait(timeout=timeout)


@contextmanager
def answering(root: Path, port: str, *args: str, env: dict[str, str] | None = None) -> Iterator[AnswerProc]:
    """``dialup-admin --root ROOT answer PORT ARGS...`` in its own session; stopped (SIGTERM, by pid) at the end."""
    (root / "var/lock").mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([*TOOL, "--root", str(root), "answer", port, *args], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
                            env={**os.environ, **(env or {})})
    ap = AnswerProc(proc, root, os.path.basename(port))
    try:
        yield ap
    finally:
        stop_process(proc)


def record(out: Path, timeout: float = 20) -> dict[str, Any]:
    end = time.monotonic() + timeout
    while not out.exists():
        if time.monotonic() > end:
            raise AssertionError("the stand-in pppd wrote no record")
        time.sleep(0.05)
    data: dict[str, Any] = json.loads(out.read_text())
    return data
