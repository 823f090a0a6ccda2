"""The systemd journal, for pppd's lines on machines without a syslog file. Reading only."""

from __future__ import annotations

import os
import select
from types import TracebackType

from dialup_admin.system import commands

ARGS = ("-o", "short-iso", "-t", "pppd", "--no-pager", "-q")


def available() -> bool:
    return commands.which("journalctl") is not None


def pppd_text() -> str:
    """pppd's journal lines in ``short-iso`` form (empty when there is no journal)."""
    if not available():
        return ""
    proc = commands.run(("journalctl", *ARGS), check=False, timeout=60)
    return proc.stdout.decode(errors="replace") if proc.returncode == 0 else ""


class Follow:
    """``journalctl -f`` for pppd, read without blocking; the process is ended on close."""

    def __init__(self) -> None:
        exe = commands.require("journalctl")
        self.proc = commands.background([exe, "-f", "-n", "0", *ARGS], stdout="pipe")
        self.fd = self.proc.stdout_fd
        os.set_blocking(self.fd, False)
        self.partial = b""

    def read(self, timeout: float) -> str:
        """Whole lines that arrived within ``timeout`` seconds."""
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if ready:
            try:
                self.partial += os.read(self.fd, 65536)
            except BlockingIOError:
                pass
        cut = self.partial.rfind(b"\n") + 1
        out, self.partial = self.partial[:cut], self.partial[cut:]
        return out.decode(errors="replace")

    def close(self) -> None:
        self.proc.stop(grace=5)

    def __enter__(self) -> "Follow":
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
