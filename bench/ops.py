"""Benchmarks for doctor, session records and logs. Prints figures; asserts nothing.

Run: .venv/bin/python -m bench.ops
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from click.testing import CliRunner

from dialup_admin.cli import cli
from dialup_admin.core import logs, sessions
from dialup_admin.paths import Paths
from tests.support.ops import healthy_tree, local_hook, pppd_env


def median_ms(fn: object, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples) * 1000


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        up, records = local_hook(base, "ip-up")
        env = pppd_env()
        argv = [str(up), "ppp0", "/dev/ttyS1", "57600", "192.168.32.1", "192.168.32.2", ""]
        hook = median_ms(lambda: subprocess.run(argv, env=env, check=True), 50)
        print(f"ip-up hook (dash, one record):           {hook:7.1f} ms per call (median of 50)")

        n = 200
        records.unlink()
        t0 = time.perf_counter()
        procs = [subprocess.Popen(argv, env=pppd_env(PPPD_PID=str(10000 + i))) for i in range(n)]
        for p in procs:
            p.wait()
        burst = time.perf_counter() - t0
        recs, bad = sessions.parse_records(records.read_bytes())
        print(f"{n} hooks at once:                        {burst * 1000:7.1f} ms, "
              f"{len(recs)} whole records, {bad} torn")

        big = base / "big.log"
        one_up = "dialup-admin/1\tup\t1700000000\t{p}\tppp0\tttyS1\tdreamcast\t192.168.32.1\t192.168.32.2\n"
        one_down = ("dialup-admin/1\tdown\t1700000600\t{p}\tppp0\tttyS1\tdreamcast\t192.168.32.1\t192.168.32.2"
                    "\t600\t5000\t3000\n")
        big.write_text("".join(one_up.format(p=i) + one_down.format(p=i) for i in range(50000)))
        data = big.read_bytes()

        def parse_all() -> None:
            r, _ = sessions.parse_records(data)
            sessions.build_sessions(r, sessions.Live(Paths(base)), 0)

        ms = median_ms(parse_all, 3)
        print(f"sessions: 50000 calls ({len(data) // 1024} KiB) read:   {ms:7.1f} ms")

        root = base / "root"
        root.mkdir()

        def run(*a: str, input: str | None = None) -> object:
            return CliRunner().invoke(cli, ["--root", str(root), *a], input=input, catch_exceptions=False)

        healthy_tree(root, run)
        cmd = [sys.executable, "-m", "dialup_admin", "--root", str(root), "doctor"]
        doc = median_ms(lambda: subprocess.run(cmd, capture_output=True), 5)
        print(f"doctor on a healthy --root tree:         {doc:7.1f} ms (median of 5, whole process)")
        host = median_ms(lambda: subprocess.run([sys.executable, "-m", "dialup_admin", "doctor"],
                                                capture_output=True), 3)
        print(f"doctor on this machine:                  {host:7.1f} ms (median of 3)")

        syslog = "".join(f"Nov 24 03:{i // 60 % 60:02d}:{i % 60:02d} h pppd[{i // 20}]: "
                         f"{'Connect: ppp0 <--> /dev/ttyS1' if i % 20 == 0 else 'rcvd [LCP EchoReq id=0x1]'}\n"
                         for i in range(100000))
        (root / "var/log").mkdir(exist_ok=True)
        (root / "var/log/syslog").write_text(syslog)
        now = dt.datetime(2026, 11, 24, 12)
        ms = median_ms(lambda: logs.collect(Paths(root), "ttyS1", "/var/log/mgetty/mg_ttyS1.log", now), 3)
        print(f"logs: 100000 syslog lines merged:        {ms:7.1f} ms")
    os.sync()


if __name__ == "__main__":
    main()
