"""Helpers for the lab tests: a plain pty pair (a null-modem cable, not the modem simulator)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from dialup_admin.lab import Guest, GuestError, GuestResult, wait_all
from dialup_admin.lab.guest import UML_BINARY, UML_MODULES
from tests.support.processes import stop_process


def uml_available() -> bool:
    return shutil.which(UML_BINARY) is not None and UML_MODULES.is_dir() and shutil.which("busybox") is not None


needs_uml = pytest.mark.skipif(not uml_available(), reason="user-mode-linux (linux.uml) or busybox is not installed")


def init_missing(init: str) -> str | None:
    """Why a guest cannot boot ``init`` here (None: it can). The packages come from the lab's
    cache, filled by ``make test`` (python -m dialup_admin.lab.debs); tests never download."""
    from dialup_admin.errors import UserError
    from dialup_admin.lab import debs

    wanted = {"sysvinit": [debs.SYSVINIT], "systemd": [] if debs.host_has_udev() else [debs.UDEV]}.get(init, [])
    for package in wanted:
        try:
            debs.unpacked(package, fetch=False)
        except UserError as exc:
            return str(exc)
    return None


def needs_init(init: str) -> pytest.MarkDecorator:
    reason = init_missing(init)
    return pytest.mark.skipif(reason is not None, reason=reason or "")


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
        stop_process(proc, timeout=5)
        shutil.rmtree(tmp, ignore_errors=True)


# Hand-written minimal pppd options (mgetty and the tool's rendered files come later).
# The host's /etc/ppp/options (Debian: auth, crtscts, lock...) is emptied in the
# guest's private /etc so only these options count. Each side pings the other once
# it answers (lab_wait_ping: the two IPCPs finish at different moments), marks
# "pinged", and the server hangs up when the host says so (after both marks).
PPP_SERVER = """
: > /etc/ppp/options
pppd /dev/ttyS1 57600 nodetach local noauth noipv6 10.0.0.1:10.0.0.2 &
pid=$!
t0=$(lab_uptime)
lab_wait_iface ppp0 30 || { echo "no link"; kill $pid; exit 1; }
awk -v t0="$t0" -v t1="$(lab_uptime)" 'BEGIN { printf "link up after %.2f s\\n", t1 - t0 }'
lab_wait_ping 10.0.0.2 20 || { echo "no answer"; kill $pid; exit 2; }
busybox ping -c 3 -w 20 10.0.0.2 || { kill $pid; exit 2; }
lab_mark pinged
lab_wait_file hangup 60 || echo "the host did not say hang up"
kill $pid
wait $pid
echo "pppd exit $?"
"""

PPP_CLIENT = """
: > /etc/ppp/options
pppd /dev/ttyS1 57600 nodetach local noauth noipv6 noipdefault &
pid=$!
lab_wait_iface ppp0 30 || { echo "no link"; kill $pid; exit 1; }
ip -4 -o addr show dev ppp0
lab_wait_ping 10.0.0.1 20 || { echo "no answer"; kill $pid; exit 2; }
busybox ping -c 3 -w 20 10.0.0.1 || { kill $pid; exit 2; }
lab_mark pinged
wait $pid
echo "pppd exit $?"
"""


def run_ppp_pair(folder: Path | None = None, timeout: float = 90) -> tuple[GuestResult, GuestResult]:
    """Two guests, PPP over a socat pty pair, pings both ways, the server hangs up.

    On a guest failure, raises GuestError with both guests' output and syslog appended.
    """
    server_dir = folder / "server" if folder else None
    client_dir = folder / "client" if folder else None
    with pty_pair() as (line_a, line_b):
        server = Guest("server", PPP_SERVER, serial=[line_a], folder=server_dir)
        client = Guest("client", PPP_CLIENT, serial=[line_b], folder=client_dir)
        with server, client:
            try:
                server.wait_for_file("pinged", timeout=timeout)
                client.wait_for_file("pinged", timeout=timeout)
                server.put("hangup", "")
                server_result, client_result = wait_all([server, client], timeout=timeout)
            except GuestError as exc:
                server.keep = client.keep = True
                exc.log_lines += folder_logs(server.folder) + folder_logs(client.folder)
                raise
    return server_result, client_result


def folder_logs(folder: Path) -> list[str]:
    lines = []
    for name in ("output.log", "syslog.log"):
        path = folder / name
        text = path.read_text(errors="replace") if path.exists() else "(none)\n"
        lines += [f"{folder.name}/{name}: {line}" for line in text.splitlines()]
    return lines
