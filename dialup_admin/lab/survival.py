"""What keeps a dial-in server answering for months, done to a lab server guest with a real init.

Operations on a :class:`~dialup_admin.lab.scenario.Lab` whose server guest runs
systemd or sysvinit as PID 1 (``Lab(init=...)``): kill mgetty and time the init's
respawn, look at a line's service (unit enabled/active, or inittab line and mgetty's
parent), run ``doctor`` in the guest, time a boot until mgetty answers. The e2e tests
(``tests/test_e2e_init_survival.py``) and ``bench/init_survival.py`` are made of them.

Times are measured inside the guest (``/proc/uptime``, polled every 0.05 s), so the
host's step overhead is not in them.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dialup_admin.errors import UserError
from dialup_admin.lab.scenario import Lab


@dataclass(frozen=True)
class LineState:
    """A server line as its init sees it, and its mgetty processes."""

    tty: str
    enabled: bool
    """systemd: the unit is enabled; sysvinit: /etc/inittab has its respawn line."""
    active: str
    """systemd: ``ActiveState/SubState``; sysvinit: ``running`` or ``stopped``."""
    pids: tuple[int, ...]
    """The mgetty (or pppd it became) processes on the line, by pid."""
    parent: str
    """Who runs it: ``mgetty@ttyS1.service`` (its cgroup) or ``PID 1 (init)``; empty when none."""


# The processes whose stdin is the line: mgetty, or the pppd it became when a call came in
# (mgetty opens the port as its stdin; exec keeps the pid). One find, no fork per process.
_HOLDERS = ("find /proc -mindepth 3 -maxdepth 3 -path '/proc/[0-9]*/fd/0' -lname /dev/{tty} 2>/dev/null "
            "| cut -d/ -f3 | while read p; do grep -qxE 'mgetty|pppd' /proc/$p/comm 2>/dev/null && echo $p; done")


def _waits(lab: Lab, tty: str) -> str:
    return f"c=$(grep -c 'waiting\\.\\.\\.' {shlex.quote(lab.mgetty_log[tty])} 2>/dev/null); echo ${{c:-0}}"


def mgetty_pid(lab: Lab, tty: str) -> int | None:
    assert lab.server is not None
    r = lab.server.run(f"mgetty-pid-{tty}", f"pgrep -f 'mgetty {tty} ' || true", timeout=30, check=False)
    pids = [int(w) for w in r.output.split() if w.isdigit()]
    return pids[0] if pids else None


def line_state(lab: Lab, tty: str) -> LineState:
    """How the server guest's init keeps ``tty``: enabled or not, running or not, by whom."""
    return line_states(lab, [tty])[tty]


def line_states(lab: Lab, ttys: Sequence[str], *, then: str = "", again: bool = False) -> dict[str, LineState]:
    """:func:`line_state` for several lines in one step; with ``again``: after running ``then``,
    look once more (the second look's states are keyed ``TTY+``)."""
    assert lab.server is not None
    if lab.init == "systemd":
        one = """echo "{tty} enabled $(systemctl is-enabled mgetty@{tty}.service 2>/dev/null || true)"
echo "{tty} active $(systemctl show -p ActiveState --value mgetty@{tty}.service)/$(systemctl show -p SubState --value mgetty@{tty}.service)"
for pid in $(HOLDERS); do echo "{tty} pid $pid $(sed -n 's,^0::,,p' /proc/$pid/cgroup)"; done
"""
    else:
        one = """grep -Eq '^[^#][^:]*:[0-9]*:respawn:.* {tty} ' /etc/inittab && echo "{tty} enabled yes" || echo "{tty} enabled no"
for pid in $(HOLDERS); do echo "{tty} pid $pid PPid $(awk '/^PPid:/ {{ print $2 }}' /proc/$pid/status)"; done
"""
    look = "".join(one.replace("HOLDERS", _HOLDERS).format(tty=tty) for tty in ttys)
    script = look + (f"{then}\n" + look.replace(" enabled ", "+ enabled ").replace(" active ", "+ active ")
                     .replace(" pid $pid", "+ pid $pid") if again else "")
    r = lab.server.run(f"state-{'-'.join(ttys)}", script, timeout=120)
    raw: dict[str, dict[str, Any]] = {}
    for line in r.output.splitlines():
        name, _, rest = line.partition(" ")
        key, _, value = rest.partition(" ")
        entry = raw.setdefault(name, {"enabled": False, "active": "", "pids": [], "parent": ""})
        if key == "enabled":
            entry["enabled"] = value.strip() in ("enabled", "yes")
        elif key == "active":
            entry["active"] = value.strip()
        elif key == "pid":
            pid, _, who = value.partition(" ")
            entry["pids"].append(int(pid))
            entry["parent"] = who.strip().rsplit("/", 1)[-1] if lab.init == "systemd" else (
                "PID 1 (init)" if who.strip() == "PPid 1" else who.strip())
    out: dict[str, LineState] = {}
    for name, e in raw.items():
        active = e["active"] if lab.init == "systemd" else ("running" if e["pids"] else "stopped")
        out[name] = LineState(name.rstrip("+"), e["enabled"], active, tuple(e["pids"]), e["parent"])
    for tty in ttys:
        out.setdefault(tty, LineState(tty, False, "", (), ""))
        if again:
            out.setdefault(f"{tty}+", LineState(tty, False, "", (), ""))
    return out


def kill_mgetty(lab: Lab, tty: str, timeout: float = 90) -> tuple[int, int, float]:
    """``kill -9`` mgetty on ``tty`` and wait for the init's new one to wait for a call.

    Returns (old pid, new pid, seconds from the kill to the new mgetty's ``waiting...``).
    """
    assert lab.server is not None
    lab.say(f"server$ kill -9 $(pgrep -f 'mgetty {tty} ')  (the init must start it again)")
    r = lab.step(lab.server, f"kill-mgetty-{tty}", f"""
old=$(pgrep -f 'mgetty {tty} ') || {{ echo "no mgetty on {tty}"; exit 1; }}
before=$({_waits(lab, tty)})
read t0 rest < /proc/uptime
kill -9 $old
lab_until {int(timeout)}
while :; do
    now=$({_waits(lab, tty)})
    [ "$now" -gt "$before" ] && break
    lab_expired && {{ echo "mgetty on {tty} did not come back within {int(timeout)} s"; exit 1; }}
    busybox usleep 50000
done
read t1 rest < /proc/uptime
new=$(pgrep -f 'mgetty {tty} ')
awk -v a="$t0" -v b="$t1" -v o="$old" -v n="$new" 'BEGIN {{ printf "mgetty %s killed; new mgetty %s waits for a call after %.2f s\\n", o, n, b - a }}'
""", title=f"kill -9 mgetty on {tty}; wait for the new one", timeout=timeout + 60)
    m = re.search(r"mgetty (\d+) killed; new mgetty (\d+) waits for a call after ([0-9.]+) s", r.output)
    if not m:
        raise UserError(f"could not read the respawn time: {r.output.strip()}")
    return int(m.group(1)), int(m.group(2)), float(m.group(3))


def answering_uptime(lab: Lab, tty: str, timeout: float = 120) -> float:
    """Guest uptime at which mgetty on ``tty`` first said ``waiting...`` this boot (waits for it)."""
    assert lab.server is not None
    r = lab.server.run(f"answering-{tty}", f"""
lab_until {int(timeout)}
until [ "$({_waits(lab, tty)})" -ge 1 ]; do
    lab_expired && {{ echo "mgetty on {tty} never waited for a call"; exit 1; }}
    busybox usleep 50000
done
read t rest < /proc/uptime
echo "answering at $t"
""", timeout=timeout + 60)
    m = re.search(r"answering at ([0-9.]+)", r.output)
    if not m:
        raise UserError(f"could not read when mgetty answered: {r.output.strip()}")
    return float(m.group(1))


def doctor(lab: Lab) -> dict[str, Any]:
    """``dialup-admin doctor --json`` in the server guest (any exit status); its findings by check."""
    assert lab.server is not None
    r = lab.tool(lab.server, "doctor", "--json doctor", check=False, show=False)
    start = r.output.find("{")
    if start < 0:
        raise UserError(f"doctor printed no JSON: {r.output.strip()[-300:]}")
    data: dict[str, Any] = json.JSONDecoder().raw_decode(r.output[start:])[0]
    data["exit"] = r.status
    return data


def findings(report: dict[str, Any], check: str) -> list[dict[str, str]]:
    return [f for f in report.get("findings", []) if f.get("check") == check]
