"""A real FreeRADIUS for the tests, on a private loopback, serving a --root tree.

:func:`freeradius_tree` copies Debian's stock /etc/freeradius/3.0 into ROOT (owners kept:
freerad), the way a fresh ``apt-get install freeradius`` leaves it; the tool then runs
with ``--root ROOT``. :class:`Radiusd` starts the real ``freeradius -f`` on it:

* in a network namespace of its own (a holder process keeps it across restarts), so it
  listens on the standard ports 1812/1813 (and Debian's inner-tunnel on 18120) without
  meeting the host's FreeRADIUS or anything else; programs that talk to it run in the
  same namespace through :meth:`Radiusd.argv` (``nsenter --net``);
* in a private mount namespace where ROOT's /etc/freeradius, /var/log/freeradius and
  /run are bind-mounted over the host's: FreeRADIUS reads the tool's files and writes
  its accounting, radutmp and pid file into ROOT; nothing on the host changes.

Processes are stopped by their pids.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import tempfile
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import pytest

from tests.support.ns import private_mounts
from tests.support.processes import stop_process

STOCK = Path("/etc/freeradius/3.0")


def need_freeradius() -> None:
    if not STOCK.joinpath("radiusd.conf").is_file() or shutil.which("freeradius", path="/usr/sbin:/usr/bin") is None:
        pytest.skip("FreeRADIUS is not installed (apt-get install freeradius freeradius-utils)")
    if os.geteuid() != 0:
        pytest.skip("the FreeRADIUS tests run it in a mount namespace: root needed")


@contextlib.contextmanager
def reachable_root() -> Iterator[Path]:
    """A --root tree that user freerad can reach: FreeRADIUS reads its files as freerad, also
    for "freeradius -C". (pytest's own temporary directories are 0700, and every pytest run
    as root resets them to 0700.) Removed afterwards."""
    base = Path(tempfile.mkdtemp(prefix="dialup-radius-test-"))
    os.chmod(base, 0o711)
    root = base / "root"
    root.mkdir()
    try:
        yield root
    finally:
        shutil.rmtree(base, ignore_errors=True)


def freeradius_tree(root: Path) -> Path:
    """Debian's stock FreeRADIUS configuration and state directories below ``root``."""
    need_freeradius()
    (root / "etc/freeradius").mkdir(parents=True, exist_ok=True)
    subprocess.run(["cp", "-a", str(STOCK), str(root / "etc/freeradius/3.0")], check=True)
    st = os.stat(STOCK)
    for d in ("var/log/freeradius", "run/freeradius"):
        (root / d).mkdir(parents=True, exist_ok=True)
        os.chown(root / d, st.st_uid, st.st_gid)
    # The lab's root (and the host's) also has these directories.
    os.chmod(root / "var/log/freeradius", 0o750)
    return root / "etc/freeradius/3.0"


class Radiusd:
    """``freeradius -f`` serving ``root`` (see the module doc); a context manager."""

    def __init__(self, root: Path, log: Path | None = None) -> None:
        self.root = root
        self.log = log or root.parent / "radiusd.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.holder: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def argv(self, *argv: str) -> list[str]:
        """``argv`` run in FreeRADIUS's network namespace (its loopback)."""
        assert self.holder is not None
        return ["nsenter", f"--net=/proc/{self.holder.pid}/ns/net", "--", *argv]

    def _namespace(self) -> None:
        if self.holder is not None and self.holder.poll() is None:
            return
        ok = subprocess.run(["unshare", "-m", "-n", "--propagation", "private", "true"], capture_output=True)
        if ok.returncode != 0:
            pytest.skip(f"no mount or network namespaces here: {ok.stderr.decode().strip()}")
        self.holder = subprocess.Popen(["unshare", "-n", "--", "sleep", "3600"], stdin=subprocess.DEVNULL,
                                       start_new_session=True)
        # Until unshare has run, the holder is still in our namespace: wait for its own.
        ours = os.readlink("/proc/self/ns/net")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if os.readlink(f"/proc/{self.holder.pid}/ns/net") != ours:
                    break
            except OSError:
                pass
            time.sleep(0.01)
        else:
            raise RuntimeError("the network namespace did not appear")
        subprocess.run(self.argv("ip", "link", "set", "lo", "up"), check=True, capture_output=True)

    def start(self, timeout: float = 60) -> Radiusd:
        self._namespace()
        binds = [(self.root / d, f"/{d}") for d in ("etc/freeradius", "var/log/freeradius", "run")]
        with open(self.log, "ab") as out:
            # -P: a pid file even in the foreground, as the init's FreeRADIUS has one.
            self.proc = subprocess.Popen(
                self.argv(*private_mounts(["/usr/sbin/freeradius", "-f", "-P", "-l", "stdout"], binds)),
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        pidfile = self.root / "run/freeradius/freeradius.pid"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"freeradius exited {self.proc.returncode}: {self.tail()}")
            if b"Ready to process requests" in self.log.read_bytes() and pidfile.exists():
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"freeradius did not get ready within {timeout} s: {self.tail()}")

    def tail(self, lines: int = 15) -> str:
        try:
            return " | ".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, timeout=15)

    def restart(self) -> Radiusd:
        self.stop()
        return self.start()

    def close(self) -> None:
        self.stop()
        if self.holder is not None and self.holder.poll() is None:
            os.kill(self.holder.pid, signal.SIGKILL)
            self.holder.wait()

    def __enter__(self) -> Radiusd:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        """Run a program in FreeRADIUS's network namespace."""
        return subprocess.run(self.argv(*argv), capture_output=True, text=True, timeout=120)

    def radtest(self, user: str, password: str, secret: str = "testing123", nas_port: int = 1,
                port: int = 1812) -> subprocess.CompletedProcess[str]:
        """FreeRADIUS's own radtest, from 127.0.0.1 (Debian's stock client "localhost").

        radtest takes the password and secret on its command line and nothing else:
        test values only."""
        return subprocess.run(self.argv("radtest", "-t", "pap", user, password, f"127.0.0.1:{port}", str(nas_port),
                                        secret), capture_output=True, text=True, timeout=60)

    def radclient(self, packet: str, kind: str, secret_file: Path, source: str = "127.0.0.1",
                  port: int = 1812, timeout: float = 3) -> subprocess.CompletedProcess[str]:
        """``radclient`` with the attributes on stdin, the secret read from a file (-S),
        sent from ``source`` (a loopback address: a client of the dialup-admin block)."""
        packet = f"Packet-Src-IP-Address = {source}\n{packet}"
        return subprocess.run(self.argv("radclient", "-x", "-r", "1", "-t", str(timeout), "-S", str(secret_file),
                                        f"127.0.0.1:{port}", kind), input=packet, capture_output=True, text=True,
                              timeout=60)
