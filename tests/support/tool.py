"""The tool as the tests run it: in a subprocess (real exit status, stderr apart) or in-process."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

REPO = Path(__file__).resolve().parents[2]
TOOL = [sys.executable, "-m", "dialup_admin"]

RunCli = Callable[..., Result]


class _BothStreams(Result):
    """click 8.1's result with stderr apart, whose ``output`` is both streams, as click 8.2's is."""

    @property
    def output(self) -> str:
        return self.stdout + (self.stderr if self.stderr_bytes is not None else "")


def cli_runner() -> CliRunner:
    """A runner that keeps stderr apart on every click: 8.1 (Debian 12) mixes it in unless told."""
    if "mix_stderr" in inspect.signature(CliRunner.__init__).parameters:
        return _SeparateRunner(**{"mix_stderr": False})  # type: ignore[arg-type]  # mypy checks the dict against every parameter
    return CliRunner()


class _SeparateRunner(CliRunner):
    def invoke(self, *args: Any, **kwargs: Any) -> Result:
        res = super().invoke(*args, **kwargs)
        res.__class__ = _BothStreams
        return res


def run_tool(*args: str, input: bytes | None = None, env: dict[str, str] | None = None,
             preexec: Callable[[], None] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[bytes]:
    """Run the real command in a subprocess (stderr separate, real exit status)."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run([*TOOL, *args], input=input, capture_output=True, env=full_env,
                          preexec_fn=preexec, timeout=timeout, cwd=REPO)
