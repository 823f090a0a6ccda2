"""A healthy dial-in server as a --root tree (for doctor), and pppd's hook environment."""

from __future__ import annotations

import json
import os
import socket
import struct
import subprocess
from pathlib import Path
from typing import Any

from dialup_admin.core import sessions
from tests.support.accounts import make_db
from tests.support.ns import private_mounts

MGETTY_PID = 4100


def le_hex(addr: str) -> str:
    """An IPv4 address the way /proc/net prints it."""
    return "%08X" % struct.unpack("<I", socket.inet_aton(addr))[0]


def fake_process(root: Path, pid: int, argv: list[str], comm: str | None = None) -> None:
    d = root / "proc" / str(pid)
    d.mkdir(parents=True, exist_ok=True)
    (d / "comm").write_text((comm or Path(argv[0]).name)[:15] + "\n")
    (d / "cmdline").write_bytes(b"\0".join(a.encode() for a in argv) + b"\0")


def fake_routes(root: Path, routes: list[tuple[str, str, str, str]]) -> None:
    """/proc/net/route rows: (iface, destination, gateway, mask)."""
    head = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
    rows = "".join(f"{i}\t{le_hex(d)}\t{le_hex(g)}\t0001\t0\t0\t0\t{le_hex(m)}\t0\t0\t0\n" for i, d, g, m in routes)
    (root / "proc/net").mkdir(parents=True, exist_ok=True)
    (root / "proc/net/route").write_text(head + rows)


def fake_udp(root: Path, listeners: list[tuple[str, int]]) -> None:
    head = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
    rows = "".join(f"  {n}: {le_hex(a)}:{p:04X} 00000000:0000 07 00000000:00000000 00:00000000 00000000     0  0 1\n"
                   for n, (a, p) in enumerate(listeners))
    (root / "proc/net").mkdir(parents=True, exist_ok=True)
    (root / "proc/net/udp").write_text(head + rows)


def healthy_tree(root: Path, run: Any, *extra: str) -> None:
    """setup-server + one user, plus the kernel and processes a working server shows."""
    make_db(root)
    res = run("setup-server", "--tty", "ttyS1", "--init", "inittab", "--mgetty", "/sbin/mgetty", *extra)
    assert res.exit_code == 0, res.output
    res = run("adduser", "dreamcast", "--password-stdin", input="correct horse battery\n")
    assert res.exit_code == 0, res.output
    (root / "dev").mkdir(exist_ok=True)
    (root / "dev/ppp").write_bytes(b"")
    (root / "sys/module/ppp_async").mkdir(parents=True)
    (root / "sys/module/ppp_generic").mkdir(parents=True)
    (root / "sys/class/net/eth0").mkdir(parents=True)
    fake_process(root, 1, ["/sbin/init"])
    fake_process(root, MGETTY_PID, ["/sbin/mgetty", "ttyS1", "-D", "/dev/ttyS1"])
    fake_routes(root, [("eth0", "10.1.0.0", "0.0.0.0", "255.255.255.0"), ("eth0", "0.0.0.0", "10.1.0.1", "0.0.0.0")])
    fake_udp(root, [("0.0.0.0", 53)])
    (root / "proc/sys/net/ipv4").mkdir(parents=True)
    (root / "proc/sys/net/ipv4/ip_forward").write_text("0\n")


def doctor_json(run: Any) -> tuple[int, dict[str, Any]]:
    res = run("doctor", "--json")
    return res.exit_code, json.loads(res.stdout)


def problems(data: dict[str, Any]) -> list[tuple[str, str]]:
    return [(f["check"], f["level"]) for f in data["findings"] if f["level"] != "ok"]


def pppd_env(**over: str) -> dict[str, str]:
    """The environment pppd gives ip-up/ip-down (pppd(8), SCRIPTS), and nothing else."""
    env = {"PPPD_PID": "4242", "IFNAME": "ppp0", "DEVICE": "/dev/ttyS1", "PEERNAME": "dreamcast",
           "IPLOCAL": "192.168.32.1", "IPREMOTE": "192.168.32.2", "SPEED": "57600", "ORIG_UID": "0",
           "PPPLOGNAME": "root", "LINKNAME": "", "CALL_FILE": ""}
    env.update(over)
    return env


def run_hook(script: Path, env: dict[str, str], shell: str | None = None) -> None:
    """Run a hook as pppd does: its argv, its environment only, stdio on /dev/null."""
    args = [env["IFNAME"], env["DEVICE"], env["SPEED"], env["IPLOCAL"], env["IPREMOTE"], ""]
    cmd = [shell, str(script)] if shell else [str(script)]
    subprocess.run(cmd + args, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=True, timeout=30)


def local_hook(tmp: Path, event: str) -> tuple[Path, Path]:
    """The real hook script, writing its records into ``tmp`` instead of /var/log."""
    records = tmp / "rec" / "sessions.log"
    script = tmp / f"{event}.sh"
    script.write_text(sessions.hook_script(event, str(records)))
    os.chmod(script, 0o755)
    return script, records


# Run in a private mount namespace with a tmpfs on /var/log: the program, then what it left
# there. Records and marker files land on that tmpfs; the host's /var/log and /etc are untouched.
_REPORT = r'''
set -e
( unset PATH; exec "$@" ) || echo "exit $?" >&2   # pppd gives hooks no PATH
for f in /var/log/dialup-admin/sessions.log /var/log/admin-ran; do
  [ -e "$f" ] && { echo "== $f $(stat -c '%a %U:%G' "$f") $(stat -c '%a' "$(dirname "$f")")"; cat "$f"; }
done
true
'''


def run_private(binds: list[tuple[Path, str]], argv: list[str], env: dict[str, str]) -> str:
    """Run ``argv`` with ``env`` only (as pppd runs hooks) in a private mount namespace; return
    what it left in /var/log: ``== PATH MODE OWNER DIRMODE`` then the file, per file."""
    full = dict(env)
    full.setdefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
    proc = subprocess.run(private_mounts(["sh", "-c", _REPORT, "sh", *argv], binds, tmpfs=["/var/log"]), env=full,
                          capture_output=True, timeout=60)
    assert proc.returncode == 0 and not proc.stderr, proc.stderr.decode()
    return proc.stdout.decode()
