"""Benchmarks for the lab's user-mode Linux guests: boot time, the tool's start-up
inside a guest, and PPP link-up between two guests over a plain pty pair.

Prints figures; asserts nothing. Run: .venv/bin/python -m bench.lab_guest [rounds]
"""

from __future__ import annotations

import re
import statistics
import sys
import time
from pathlib import Path

from dialup_admin.lab import Guest
from tests.support.lab import run_ppp_pair

TOOL = Path(sys.executable).parent / "dialup-admin"

TOOL_TIMING = f"""
t0=$(lab_uptime)
{TOOL} --version >/dev/null
awk -v t0="$t0" -v t1="$(lab_uptime)" 'BEGIN {{ printf "tool %.3f\\n", t1 - t0 }}'
"""


def summary(samples: list[float], unit: str = "s") -> str:
    return (
        f"median {statistics.median(samples):5.2f} {unit}  min {min(samples):5.2f}  "
        f"max {max(samples):5.2f}  (n={len(samples)})"
    )


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    boots, totals, tools, boots_bare = [], [], [], []
    for _ in range(rounds):
        result = Guest("bench", TOOL_TIMING).run(timeout=60)
        assert result.boot_seconds is not None
        boots.append(result.boot_seconds)
        totals.append(result.seconds)
        tools.append(float(re.findall(r"tool ([0-9.]+)", result.output)[0]))
        bare = Guest("bare", "true", modules=False, writable=()).run(timeout=60)
        assert bare.boot_seconds is not None
        boots_bare.append(bare.boot_seconds)
    print(f"guest boot to command (PPP modules, overlays):     {summary(boots)}")
    print(f"guest boot to command (no modules, no overlays):   {summary(boots_bare)}")
    print(f"guest start to power-off, dialup-admin --version:  {summary(totals)}")
    print(f"dialup-admin --version inside the guest:           {summary(tools)}")

    links, rtts, walls = [], [], []
    for _ in range(rounds):
        t0 = time.monotonic()
        server_result, client_result = run_ppp_pair()
        out = server_result.check().output
        client_result.check()
        walls.append(time.monotonic() - t0)
        links.append(float(re.findall(r"link up after ([0-9.]+) s", out)[0]))
        rtts.append(float(re.findall(r"min/avg/max = [0-9.]+/([0-9.]+)/", out)[0]))
    print(f"pppd start to ppp0 up (both sides at once):        {summary(links)}")
    print(f"ping RTT over PPP at 57600 (avg of 3):            {summary(rtts, 'ms')}")
    print(f"two guests, link, 3+3 pings, hang-up, wall:        {summary(walls)}")


if __name__ == "__main__":
    main()
