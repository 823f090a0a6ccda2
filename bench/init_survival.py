"""How fast a real init gets mgetty answering again, in the lab's server guest.

For each init (systemd, sysvinit as PID 1; and the lab's own shell respawn loop, the
``--init none`` way, for the respawn figure) one lab is set up with
``setup-server --tty ttyS1``, then:

* respawn: ``kill -9`` mgetty, until the new mgetty says ``waiting...`` (ready for a
  RING); systemd waits ``RestartSec=1`` first, sysvinit respawns at once;
* boot-to-answering: the guest's kernel starting (UML starts it within a few
  hundredths of a second) until mgetty waits for a RING, with no command given;
* reboot-to-answering: the power-off request (``systemctl poweroff`` / ``shutdown -h
  -P now``) until the rebooted guest's mgetty waits for a RING.

Times come from the guest's uptime clock where they can (polled every 0.05 s) and the
host's monotonic clock across the reboot. Prints medians; asserts nothing.
Run as root: ``.venv/bin/python -m bench.init_survival [rounds]`` (default 3).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path

from dialup_admin.lab import survival
from dialup_admin.lab.scenario import Lab, User

USER = User("dreamcast", "Bench-Pass-1")


def median(samples: list[float]) -> str:
    if not samples:
        return "-"
    return f"{statistics.median(samples):6.2f} s (n={len(samples)}, {min(samples):.2f}-{max(samples):.2f})"


def measure(init: str, rounds: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"respawn": [], "boot": [], "reboot": []}
    with tempfile.TemporaryDirectory(prefix=f"bench-init-{init}-") as d:
        with Lab(Path(d), init=init) as lab:
            lab.setup_server([USER])
            for _ in range(rounds):
                out["respawn"].append(survival.kill_mgetty(lab, "ttyS1")[2])
            if init != "none":
                for _ in range(rounds):
                    to_ready = lab.reboot_server()
                    assert lab.server is not None
                    ready_uptime = float((lab.server.guest.folder / "ready").read_text())
                    answering = survival.answering_uptime(lab, "ttyS1")
                    out["boot"].append(answering)
                    out["reboot"].append(to_ready - ready_uptime + answering)
                    lab.start_uart()
            lab.ok = True
    return out


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    results = {init: measure(init, rounds) for init in ("systemd", "sysvinit", "none")}
    print(f"{'':34} {'systemd':32} {'sysvinit':32} {'none (lab shell loop)':32}")
    rows = (("respawn after SIGKILL to answering", "respawn"), ("boot to answering", "boot"),
            ("reboot to answering", "reboot"))
    for title, key in rows:
        print(f"{title:34} " + " ".join(f"{median(results[i][key]):32}" for i in ("systemd", "sysvinit", "none")))


if __name__ == "__main__":
    main()
