"""How long ppp-go's steps take end to end: dial (chat, LCP, PAP, IPCP) and hangup, with
real pppd in user-mode Linux guests through the modem simulator (ring interval 0.5 s,
CONNECT after 0.3 s of "training", no line-speed throttling).

Run as root from the repository top: ``.venv/bin/python -m bench.client_dial_lab [runs]``.
Prints one line per run and the median; the figures are the guest's uptime clock.
"""

from __future__ import annotations

import re
import statistics
import sys
import tempfile
from pathlib import Path

from tests.support.client import lab_dial

TIMED_CLIENT = """
printf '%s\\n' "$PASSWORD" | {tool} setup-client --device /dev/ttyS1 --number 11 --password-stdin >/dev/null
s0=$(lab_uptime); {tool} status >/dev/null; s1=$(lab_uptime)
echo "timing start-up $s0 $s1"
t0=$(lab_uptime); {tool} dial >/dev/null; t1=$(lab_uptime)
{tool} hangup >/dev/null; t2=$(lab_uptime)
echo "timing dial $t0 $t1 hangup $t2"
"""


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    dials, hangups = [], []
    for i in range(runs):
        with tempfile.TemporaryDirectory() as d:
            run = lab_dial(Path(d), client_script=TIMED_CLIENT)
        m = re.search(r"timing dial (\S+) (\S+) hangup (\S+)", run.client_output)
        if m is None:
            print(f"run {i + 1}: failed\n{run.client_output}")
            continue
        t0, t1, t2 = map(float, m.groups())
        s = re.search(r"timing start-up (\S+) (\S+)", run.client_output)
        startup = float(s.group(2)) - float(s.group(1)) if s else float("nan")
        dials.append(t1 - t0)
        hangups.append(t2 - t1)
        print(f"run {i + 1}: dial to link up {t1 - t0:.2f} s, hangup {t2 - t1:.2f} s "
              f"(a tool command that does nothing much, 'status' with no link: {startup:.2f} s)")
    if dials:
        print(f"median of {len(dials)}: dial {statistics.median(dials):.2f} s, hangup {statistics.median(hangups):.2f} s")


if __name__ == "__main__":
    main()
