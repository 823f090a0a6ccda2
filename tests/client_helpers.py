"""Helpers for the client tests: a phone line with a server modem that answers."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from dialup_admin.modem.simulator import PhoneLine

SERVER, CALLER = "11", "12"
LOGS = Path(__file__).parent / "data" / "pppd-logs"


@dataclass
class Line:
    """A running phone line: ``line`` the simulator, ``server_fd`` the answering side's port."""

    line: PhoneLine
    server_fd: int | None
    closed: list[bool] = field(default_factory=lambda: [False])

    @property
    def caller_port(self) -> str:
        return self.line.port(CALLER)

    def close_server(self) -> None:
        if self.server_fd is not None and not self.closed[0]:
            self.closed[0] = True
            os.close(self.server_fd)


@contextmanager
def phone_line(*, answer: bool = True, server_open: bool = True, dead: tuple[str, ...] = (),
               on_answer: Callable[[Line], None] | None = None) -> Iterator[Line]:
    """Numbers 11 (the server's modem) and 12 (ours). The server's port is opened and,
    with ``answer``, set to auto-answer (ATS0=1). ``on_answer`` runs in a thread once the
    server's modem has answered (to hang up, or to play a login prompt)."""
    with PhoneLine({SERVER: None, CALLER: None}, ring_interval=0.3, dead=dead) as sim:
        fd = None
        if server_open:
            fd = os.open(sim.port(SERVER), os.O_RDWR | os.O_NOCTTY)
            sim.wait_for(f"{SERVER} port opened")
            if answer:
                os.write(fd, b"ATS0=1\r")
                deadline = time.monotonic() + 10
                got = b""
                while b"OK" not in got and time.monotonic() < deadline:
                    got += os.read(fd, 100)
        ln = Line(sim, fd)
        thread = None
        if on_answer is not None:
            def run() -> None:
                try:
                    sim.wait_for(f"{SERVER} ANSWER", timeout=60)
                except TimeoutError:
                    return
                on_answer(ln)
            thread = threading.Thread(target=run, daemon=True)
            thread.start()
        try:
            yield ln
        finally:
            ln.close_server()
            if thread is not None:
                thread.join(timeout=5)
