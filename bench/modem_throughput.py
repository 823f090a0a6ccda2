"""Simulator throughput: bridged data at full speed, and how closely ``--bps`` holds.

A call is set up between two simulated modems; one side writes, the other reads.
Full speed: MB/s one way and both ways at once. Throttled: the measured line rate
(bits per second at 10 bits per byte, as 8N1 on the wire) against the configured one.

    .venv/bin/python -m bench.modem_throughput
"""

from __future__ import annotations

import os
import threading
import time

from dialup_admin.modem.simulator import PhoneLine
from tests.support.modem import Terminal


def connect(line: PhoneLine) -> tuple[Terminal, Terminal]:
    caller, callee = Terminal(line.port("12")), Terminal(line.port("11"))
    callee.command("ATS0=1")
    caller.type("ATDT11")
    caller.expect("CONNECT")
    callee.expect(rb"CONNECT \d+\r\n")
    caller.expect(b"\n")
    return caller, callee


def pump(src: int, dst: int, size: int) -> tuple[float, float]:
    """Write ``size`` bytes on src, read them on dst; return (first byte, last byte) times."""
    block = bytes(range(256)) * 256
    sent = [0]

    def writer() -> None:
        while sent[0] < size:
            sent[0] += os.write(src, block[: min(len(block), size - sent[0])])

    th = threading.Thread(target=writer)
    got = 0
    first = 0.0
    th.start()
    while got < size:
        chunk = os.read(dst, 65536)
        if got == 0:
            first = time.monotonic()
        got += len(chunk)
    last = time.monotonic()
    th.join()
    return first, last


def full_speed() -> None:
    size = 32 * 1024 * 1024
    with PhoneLine({"11": None, "12": None}) as line:
        caller, callee = connect(line)
        t0 = time.monotonic()
        _, last = pump(caller.fd, callee.fd, size)
        print(f"full speed, one way:   {size / (last - t0) / 1e6:7.1f} MB/s  ({size >> 20} MiB in {last - t0:.2f} s)")
        res: dict[str, float] = {}
        t0 = time.monotonic()
        a = threading.Thread(target=lambda: res.__setitem__("a", pump(caller.fd, callee.fd, size)[1]))
        b = threading.Thread(target=lambda: res.__setitem__("b", pump(callee.fd, caller.fd, size)[1]))
        a.start()
        b.start()
        a.join()
        b.join()
        took = max(res.values()) - t0
        print(f"full speed, both ways: {2 * size / took / 1e6:7.1f} MB/s total ({took:.2f} s)")
        caller.close()
        callee.close()


def throttled(bps: int, seconds: float = 3.0) -> None:
    size = int(bps / 10 * seconds)
    with PhoneLine({"11": None, "12": None}, bps=bps) as line:
        caller, callee = connect(line)
        first, last = pump(caller.fd, callee.fd, size)
        # The first byte arrives after one byte time; count the bytes after it.
        measured = (size - 1) * 10 / (last - first)
        err = (measured - bps) / bps * 100
        print(f"--bps {bps:6d}: measured {measured:9.0f} bps ({err:+5.1f} %) over {last - first:.2f} s, {size} bytes")
        caller.close()
        callee.close()


def main() -> None:
    full_speed()
    for bps in (2400, 9600, 33600, 57600, 115200):
        throttled(bps)


if __name__ == "__main__":
    main()
