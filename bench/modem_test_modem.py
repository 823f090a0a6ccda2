"""Wall time of ``test-modem`` on a responsive simulated modem.

Prints: in-process run_selftest() times (median/min/max over N runs), with and
without a dial to a second modem that auto-answers, and the whole command
(``python -m dialup_admin test-modem``, interpreter start-up included).

    .venv/bin/python -m bench.modem_test_modem [N]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from dialup_admin.modem.selftest import run_selftest
from dialup_admin.modem.simulator import PhoneLine
from dialup_admin.paths import Paths
from tests.support.modem import Terminal


def figures(samples: list[float]) -> str:
    return (
        f"median {statistics.median(samples) * 1000:7.1f} ms   min {min(samples) * 1000:7.1f} ms   "
        f"max {max(samples) * 1000:7.1f} ms   (n={len(samples)})"
    )


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "var" / "lock").mkdir(parents=True)
        paths = Paths(root)
        with PhoneLine({"11": root / "ttyV0", "12": root / "ttyV1"}) as line:
            plain: list[float] = []
            for _ in range(n):
                t0 = time.monotonic()
                rep = run_selftest(paths, line.port("11"))
                plain.append(time.monotonic() - t0)
                assert rep.ok, rep.error
            print(f"test-modem (12 steps, in-process):        {figures(plain)}")
            with Terminal(line.port("12")) as callee:
                callee.command("ATS0=1")
                dial: list[float] = []
                for _ in range(max(3, n // 5)):
                    t0 = time.monotonic()
                    rep = run_selftest(paths, line.port("11"), dial="12")
                    dial.append(time.monotonic() - t0)
                    assert rep.ok, rep.error
                    callee.expect("NO CARRIER")
            print(f"test-modem --dial (connect, +++, ATH0):    {figures(dial)}")
            print("  (the dial run includes 2 x 1.1 s of +++ guard time, as a real modem needs)")
            whole: list[float] = []
            for _ in range(max(3, n // 4)):
                t0 = time.monotonic()
                proc = subprocess.run(
                    [sys.executable, "-m", "dialup_admin", "--root", str(root), "test-modem", line.port("11")],
                    capture_output=True,
                )
                whole.append(time.monotonic() - t0)
                assert proc.returncode == 0, proc.stderr
            print(f"dialup-admin test-modem (whole command):   {figures(whole)}")


if __name__ == "__main__":
    main()
