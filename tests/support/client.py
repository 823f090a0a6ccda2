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
LOGS = Path(__file__).resolve().parents[1] / "data" / "pppd-logs"


def ppp_go(remote_message: str, dns: tuple[str, ...]) -> list[str]:
    """The lines ``dial`` prints on a good call to number 11, in order (ppp-go's stages), with
    the server pppd's PAP message and the DNS servers it hands out (primary, secondary)."""
    return [
        "Dialing 11...",
        "Modem: CONNECT",
        "Serial connection established.",
        "Using interface ppp0",
        "Connect: ppp0 <--> /dev/ttyS1",
        f"Remote message: {remote_message}",
        "PAP authentication succeeded",
        "Deflate (15) compression enabled",
        "local  IP address 192.168.32.2",
        "remote IP address 192.168.32.1",
        *(f"{rank} DNS address {addr}" for rank, addr in zip(("primary  ", "secondary"), dns)),
    ]


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


# --- the lab: real pppd in user-mode Linux guests, dialing through the simulator --------

LAB_SERVER = """
printf 'ATS0=1\\r' > /dev/ttyS1
sleep 0.3
: > /etc/ppp/options
if [ -e pap-secrets ]; then cp pap-secrets /etc/ppp/pap-secrets; else printf 'ppp\\t*\\t"ppp"\\t*\\n' > /etc/ppp/pap-secrets; fi
pppd /dev/ttyS1 57600 nodetach local silent auth +pap noipv6 192.168.32.1:192.168.32.2 ms-dns 192.168.32.1 ms-dns 192.168.32.3 &
pid=$!
echo started > server-ready
wait $pid
echo "server pppd exit $?"
"""

LAB_CLIENT = """
printf '%s\\n' "$PASSWORD" | {tool} setup-client --device /dev/ttyS1 --number 11 --password-stdin >/dev/null
{tool} dial $DIAL_FLAGS; echo "dial exit $?"
{tool} status
{tool} --json status > status.json
busybox ping -c 2 -w 10 192.168.32.1 >/dev/null && echo "ping ok"
{tool} stats
{tool} stats -z
{tool} hangup; echo "hangup exit $?"
{tool} status
"""


@dataclass
class LabRun:
    client_output: str
    client_status: int
    client_syslog: str
    server_output: str
    events: list[str]
    folder: Path


def lab_dial(folder: Path, *, password: str = "ppp", server: bool = True, verbose: bool = False,
             server_secrets: str | None = None, client_script: str = LAB_CLIENT) -> LabRun:
    """Boot a server guest (bare pppd answering with PAP, when ``server``) and a client
    guest that runs ``client_script`` (setup-client, dial, status, stats, ping, hangup); on one
    phone line."""
    from dialup_admin.lab import Guest
    from dialup_admin.lab.guest import tool_command

    client_script = client_script.format(tool=tool_command())
    env = {"PASSWORD": password, "DIAL_FLAGS": "-v" if verbose else ""}
    server_output = ""
    with PhoneLine({SERVER: None, CALLER: None}, ring_interval=0.5) as sim:
        client = Guest("client", client_script, serial=[sim.pty(CALLER)], folder=folder / "client", env=env)
        if server:
            srv = Guest("server", LAB_SERVER, serial=[sim.pty(SERVER)], folder=folder / "server")
            if server_secrets is not None:
                (folder / "server").mkdir(parents=True, exist_ok=True)
                (folder / "server" / "pap-secrets").write_text(server_secrets)
            with srv:
                srv.wait_for_file("server-ready", timeout=60)
                with client:
                    res = client.wait(timeout=120)
                sres = srv.wait(timeout=60)
                server_output = sres.output
        else:
            with client:
                res = client.wait(timeout=120)
        events = list(sim.events)
    return LabRun(res.output, res.status, res.syslog, server_output, events, folder)
