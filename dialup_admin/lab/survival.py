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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dialup_admin.errors import UserError
from dialup_admin.lab.scenario import Lab
from dialup_admin.render import render


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
    look = render("lab/line-state.sh.j2", init=lab.init, ttys=list(ttys), mark="")
    script = look + (f"{then}\n" + render("lab/line-state.sh.j2", init=lab.init, ttys=list(ttys), mark="+")
                     if again else "")
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
    script = render("lab/kill-mgetty.sh.j2", tty=tty, log=lab.mgetty_log[tty], timeout=int(timeout))
    r = lab.step(lab.server, f"kill-mgetty-{tty}", script, title=f"kill -9 mgetty on {tty}; wait for the new one",
                 timeout=timeout + 60)
    m = re.search(r"mgetty (\d+) killed; new mgetty (\d+) waits for a call after ([0-9.]+) s", r.output)
    if not m:
        raise UserError(f"could not read the respawn time: {r.output.strip()}")
    return int(m.group(1)), int(m.group(2)), float(m.group(3))


def answering_uptime(lab: Lab, tty: str, timeout: float = 120) -> float:
    """Guest uptime at which mgetty on ``tty`` first said ``waiting...`` this boot (waits for it)."""
    assert lab.server is not None
    script = render("lab/answering.sh.j2", tty=tty, log=lab.mgetty_log[tty], timeout=int(timeout))
    r = lab.server.run(f"answering-{tty}", script, timeout=timeout + 60)
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
