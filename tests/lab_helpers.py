"""Helpers for the lab tests: a plain pty pair (a null-modem cable, not the modem simulator)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from dialup_admin.lab.guest import UML_BINARY, UML_MODULES


def uml_available() -> bool:
    return shutil.which(UML_BINARY) is not None and UML_MODULES.is_dir() and shutil.which("busybox") is not None


needs_uml = pytest.mark.skipif(not uml_available(), reason="user-mode-linux (linux.uml) or busybox is not installed")


@contextmanager
def pty_pair(timeout: float = 10) -> Iterator[tuple[Path, Path]]:
    """Two host ptys wired back to back by socat; yields their paths (symlinks).

    Whatever one guest writes on its serial line the other reads, like a null-modem
    cable. socat is stopped (by its pid) and the directory removed on exit.
    """
    socat = shutil.which("socat")
    if socat is None:
        pytest.skip("socat is not installed")
    tmp = Path(tempfile.mkdtemp(prefix="dialup-pty-"))
    a, b = tmp / "a", tmp / "b"
    with open(tmp / "socat.log", "wb") as log:
        proc = subprocess.Popen(
            [socat, "-d", "-d", f"pty,raw,echo=0,link={a}", f"pty,raw,echo=0,link={b}"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + timeout
        while not (a.exists() and b.exists()):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"socat did not make the pty pair: {(tmp / 'socat.log').read_text()}")
            time.sleep(0.02)
        yield a, b
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)
