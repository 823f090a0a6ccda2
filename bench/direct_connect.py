"""Benchmark: CONNECT to IP for a stock pppd caller (chat, pppd's default LCP timers), on a direct
line against an mgetty line.

On a direct line ``dialup-admin answer`` execs pppd on the port the moment the modem says
CONNECT, having read nothing after that line: the server's pppd sends the first LCP
Configure-Request, which the caller (waiting up to connect-delay, 1 s, for one) answers at
once. On an mgetty line mgetty reads the caller's first LCP frame to recognise PPP
(AutoPPP) and eats it; the caller sends it again only after its LCP restart timer (3 s).
Real pppd in user-mode Linux guests through the modem simulator (no line-speed limit),
the same stock caller in both (its peers file and chat script: dialup_admin/lab/direct.py).
"CONNECT to IP" is read off the line (the lab's PPP monitor: both sides have acknowledged
IPCP); "to updetach" adds the caller's pppd detaching and the lab noticing (what a
script running ``pppd ... updetach`` waits). The simulator's events also tell who spoke
first after CONNECT, and when.

Prints figures; asserts nothing. Run as root from the repository top:
``.venv/bin/python -m bench.direct_connect [calls]`` (default 5 calls each).
"""

from __future__ import annotations

import re
import statistics
import sys

from dialup_admin.lab import direct
from dialup_admin.lab.scenario import CLIENT_NUMBERS, SERVER_NUMBERS, Call, Lab, User

USER = User("dreamcast", "Bench-Password-1")
_FIRST = re.compile(r"^(\d+) first data ([0-9.]+) s after CONNECT")


def first_frames(lab: Lab, since: int) -> dict[str, float]:
    """Seconds from CONNECT to each side's first data, for the call whose events start at ``since``."""
    out: dict[str, float] = {}
    for _, text in lab.events[since:]:
        m = _FIRST.match(text)
        if m and m.group(1) not in out:
            out[m.group(1)] = float(m.group(2))
    return out


def one_call(lab: Lab, n: int, number: str) -> dict[str, float]:
    since = len(lab.events)
    call = direct.stock_call(lab, Call(n, lab.client_names[0], USER.name, caller="stock"), USER, 0, number=number)
    assert call.connect_to_ip is not None and call.atd_to_ip is not None and call.connect_to_ipcp is not None
    first = first_frames(lab, since)
    return {"connect_to_ipcp": call.connect_to_ipcp, "connect_to_ip": call.connect_to_ip, "atd_to_ip": call.atd_to_ip,
            "server_first": first.get(SERVER_NUMBERS[0], float("nan")),
            "caller_first": first.get(CLIENT_NUMBERS[0], float("nan"))}


def direct_line(calls: int) -> list[dict[str, float]]:
    lab = Lab(direct=True)
    lab.dial_number = direct.NUMBER
    out = []
    with lab:
        direct.setup_server(lab, [USER])
        for i in range(calls):
            direct.wait_tone(lab, i + 1)
            out.append(one_call(lab, i + 1, direct.NUMBER))
        lab.ok = True
    return out


def mgetty_line(calls: int) -> list[dict[str, float]]:
    lab = Lab()
    out = []
    with lab:
        lab.setup_server([USER])
        for i in range(calls):
            if i:
                lab.wait_mgetty(lab.ttys[0], i + 1)
            out.append(one_call(lab, i + 1, SERVER_NUMBERS[0]))
        lab.ok = True
    return out


def cell(values: list[float]) -> str:
    return f"{statistics.median(values):5.2f} ({min(values):.2f}-{max(values):.2f})"


def main() -> None:
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    results = {"direct line: dialup-admin answer -> pppd": direct_line(calls),
               "mgetty line: mgetty AutoPPP -> pppd": mgetty_line(calls)}
    print(f"Stock pppd caller (chat, pppd's default LCP timers), {calls} calls each; median (min-max) seconds")
    cols = (("connect_to_ipcp", "CONNECT to IP"), ("connect_to_ip", "... to updetach"), ("atd_to_ip", "ATD to IP"),
            ("server_first", "server's 1st frame"))
    print(f"  {'':<42}" + "".join(f"{label:<20}" for _, label in cols))
    for label, runs in results.items():
        print(f"  {label:<42}" + "".join(f"{cell([r[key] for r in runs]):<20}" for key, _ in cols))
    print("  (server's 1st frame: seconds from CONNECT to its pppd's first LCP frame; "
          "a stock caller waits up to 1 s, pppd's connect-delay, for it)")


if __name__ == "__main__":
    main()
