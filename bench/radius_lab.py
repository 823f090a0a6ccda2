"""Dial to IP with RADIUS against local accounts, in the UML lab (the real pppd, mgetty, FreeRADIUS).

From the caller's modem seeing ATD to ``dial`` having the link up with its addresses:

- local accounts: ``dialup-admin lab --calls N`` (pppd checks pap-secrets' ``@login``,
  i.e. PAM and /etc/shadow, on the dial-in server);
- RADIUS: ``dialup-admin lab --radius`` calls 1 and 2 (pppd's radius.so asks FreeRADIUS
  on another guest over the guest network), and call 5, made while the primary RADIUS
  server is gone (radius.so waits out its 2 tries of 3 s, then the backup answers).

Prints the medians side by side. Takes about 5 minutes per run (--radius boots 4 guests).
Run from the repository top: ``.venv/bin/python -m bench.radius_lab [runs]``.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys

from tests.support.tool import REPO, TOOL


def lab(*args: str) -> dict[str, object]:
    proc = subprocess.run([*TOOL, "--json", "lab", *args], capture_output=True, text=True, cwd=REPO, timeout=1200)
    if proc.returncode != 0:
        raise SystemExit(f"lab {' '.join(args)} failed: {proc.stderr[-2000:]}")
    data: dict[str, object] = json.loads(proc.stdout)
    return data


def times(report: dict[str, object], numbers: tuple[int, ...]) -> list[float]:
    calls = report["calls"]
    assert isinstance(calls, list)
    return [float(c["atd_to_ip"]) for c in calls if c["number"] in numbers and c.get("atd_to_ip") is not None]


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    local: list[float] = []
    radius: list[float] = []
    backup: list[float] = []
    for i in range(runs):
        local += times(lab("--calls", "2", "--transfer", "0"), (1, 2))
        report = lab("--radius")
        radius += times(report, (1, 2))
        backup += times(report, (5,))
        print(f"run {i + 1}: local {local[-2:]}, RADIUS {radius[-2:]}, RADIUS via the backup {backup[-1:]} (s)")

    def med(x: list[float]) -> str:
        return f"{statistics.median(x):.2f} s (n={len(x)})" if x else "-"

    print(f"dial to IP, median: local accounts {med(local)} | RADIUS {med(radius)} | "
          f"RADIUS with the primary down {med(backup)}")


if __name__ == "__main__":
    main()
