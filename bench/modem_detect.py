"""``detect`` over many ports: parallel against one-by-one probing.

Two scenes, as in the issue: wvdialconf's (1 simulated modem + 16 silent ports:
measured 30.6 s with wvdialconf, 1.7 s per silent port) and 16 simulated modems
plus 16 silent ports. Default probe settings (3 speeds, 0.25 s per speed).

    .venv/bin/python -m bench.modem_detect
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from pathlib import Path

from dialup_admin.modem.detect import detect
from dialup_admin.modem.simulator import PhoneLine
from dialup_admin.paths import Paths
from tests.support.modem import silent_port


def scene(modems: int, silent: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        root = Path(tmp)
        (root / "var" / "lock").mkdir(parents=True)
        line = stack.enter_context(PhoneLine({str(100 + i): None for i in range(modems)}))
        ports = list(line.ports.values()) + [stack.enter_context(silent_port()) for _ in range(silent)]
        for parallel in (True, False):
            t0 = time.monotonic()
            rep = detect(Paths(root), ports, parallel=parallel)
            took = time.monotonic() - t0
            found = len(rep.modems)
            assert found == modems, [p.status for p in rep.ports]
            how = "parallel  " if parallel else "one by one"
            print(f"  {modems:2d} modems + {silent:2d} silent ports, {how}: {took:6.2f} s ({found} modems found)")


def main() -> None:
    print("detect (3 speeds x 0.25 s per silent port):")
    scene(1, 0)
    scene(1, 16)
    scene(16, 16)
    print("  wvdialconf, for comparison (issue 4): 3.1 s for 1 modem, 30.6 s for 1 modem + 16 silent ports")


if __name__ == "__main__":
    main()
