"""End to end on the real stack: dial-to-IP time, ping RTT and random-data throughput.

One lab (user-mode Linux guests, the modem simulator at full speed, real mgetty, pppd
and chat, set up by dialup-admin) and ``CALLS`` calls per variant, the variants taking
turns call by call so a busy machine slows them alike. The variants change only the
caller's peers file (/etc/ppp/peers/dialup, rendered by setup-client), for this bench:

- ``stock``: pppd's own LCP timers (restart 3 s, 10 ConfReqs), no lcp-* lines;
- ``rendered``: the file exactly as setup-client wrote it;
- ``restart-1``: ``lcp-restart 1`` and ``lcp-max-configure 30`` (as patient: 30 s).

Why the restart timer matters: the caller's pppd sends its first LCP ConfReq right
after CONNECT, while mgetty is still reading the line to recognise PPP (AutoPPP); that
frame is consumed by mgetty, and the pppd it starts never sees it. The caller resends
only when its restart timer fires.

Run as root from the repository top: ``.venv/bin/python -m bench.e2e [CALLS] [BYTES]``.
Prints one line per call, then the medians per variant.
"""

from __future__ import annotations

import statistics
import sys
import time

from dialup_admin.lab.scenario import Call, Lab, User
from dialup_admin.lab.transfer import MIB

PEERS = "/etc/ppp/peers/dialup"
VARIANTS = {
    "stock": f"sed '/^lcp-restart/d; /^lcp-max-configure/d' /run/peers.rendered > {PEERS}",
    "rendered": f"cp /run/peers.rendered {PEERS}",
    "restart-1": f"sed '/^lcp-restart/d; /^lcp-max-configure/d' /run/peers.rendered > {PEERS}\n"
                 f"printf 'lcp-restart 1\\nlcp-max-configure 30\\n' >> {PEERS}",
}
USER = User("bench", "Bench-Pass-123")


def median(values: list[float | None]) -> str:
    got = [v for v in values if v is not None]
    return f"{statistics.median(got):7.2f}" if got else "      -"


def main() -> int:
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    size = int(sys.argv[2]) if len(sys.argv) > 2 else MIB
    results: dict[str, list[Call]] = {v: [] for v in VARIANTS}
    start = time.monotonic()
    with Lab(keep=False) as lab:
        lab.setup_server([USER])
        lab.setup_client("client", USER)
        lab.step(lab.client(), "keep-rendered", f"cp {PEERS} /run/peers.rendered", show=False)
        print(f"{calls} call(s) per variant, {size} random bytes each way per call; logs in {lab.folder}")
        print(f"{'variant':10} {'call':>4} {'ATD->IP s':>10} {'CONNECT->IP s':>14} {'dial step s':>12} "
              f"{'RTT ms':>7} {'up kB/s':>8} {'down kB/s':>9}")
        n = 0
        for _ in range(calls):
            for variant, script in VARIANTS.items():
                n += 1
                lab.step(lab.client(), f"variant-{variant}", script, show=False)
                if n > 1:
                    lab.wait_mgetty("ttyS1", n)
                call = lab.call(Call(n, "client", USER.name), transfer=size) if size else lab.call(
                    Call(n, "client", USER.name), transfer=0)
                results[variant].append(call)
                print(f"{variant:10} {n:4} {call.atd_to_ip or 0:10.2f} {call.connect_to_ip or 0:14.2f} "
                      f"{call.dial_seconds or 0:12.2f} {call.rtt_ms or 0:7.2f} {call.up_kbs or 0:8.0f} "
                      f"{call.down_kbs or 0:9.0f}", flush=True)
        lab.ok = True
    print("\nmedians")
    print(f"{'variant':10} {'ATD->IP s':>10} {'CONNECT->IP s':>14} {'dial step s':>12} {'RTT ms':>7} "
          f"{'up kB/s':>8} {'down kB/s':>9}")
    for variant, got in results.items():
        print(f"{variant:10} {median([c.atd_to_ip for c in got]):>10} {median([c.connect_to_ip for c in got]):>14} "
              f"{median([c.dial_seconds for c in got]):>12} {median([c.rtt_ms for c in got]):>7} "
              f"{median([c.up_kbs for c in got]):>8} {median([c.down_kbs for c in got]):>9}")
    print(f"\ntotal {time.monotonic() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
