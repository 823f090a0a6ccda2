"""``dialup-admin detect`` over simulated, silent, garbage-talking and locked ports."""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from dialup_admin.modem import detect
from dialup_admin.modem.simulator import PhoneLine
from dialup_admin.paths import Paths
from tests.support.modem import garbage_port, live_lock, silent_port
from tests.support.tool import RunCli


def test_detect_finds_modems_among_bad_ports(run: RunCli, tmp_path: Path, root: Path, lock_dir: Path) -> None:
    ports = tmp_path / "ports"
    ports.mkdir()
    numbers = {str(10 + i): ports / f"ttyV{i}" for i in range(3)}
    with contextlib.ExitStack() as stack:
        line = stack.enter_context(PhoneLine(numbers))
        silent = stack.enter_context(silent_port())
        noisy = stack.enter_context(garbage_port())
        os.symlink(silent, ports / "ttyV7")
        os.symlink(noisy, ports / "ttyV8")
        pid = stack.enter_context(live_lock(lock_dir, "ttyV2"))
        res = run("--json", "detect", "--port", str(ports / "ttyV*"), "--timeout", "0.3")
        assert res.exit_code == 0, res.output
        data = json.loads(res.stdout)
        by_name = {os.path.basename(p["port"]): p for p in data["ports"]}
        assert by_name["ttyV0"]["status"] == "modem" and by_name["ttyV0"]["speed"] == 115200
        assert by_name["ttyV0"]["identity"]["ATI3"].startswith("dialup-admin simulated modem")
        assert by_name["ttyV0"]["device"] == line.pty("10")
        assert by_name["ttyV1"]["status"] == "modem"
        assert by_name["ttyV2"]["status"] == "locked" and f"pid {pid} (sleep)" in by_name["ttyV2"]["detail"]
        assert by_name["ttyV7"]["status"] == "silent"
        assert by_name["ttyV8"]["status"] == "garbage"
        assert not any(ev.startswith("12 port opened") for ev in line.events)  # the locked one is never opened
        assert (lock_dir / "LCK..ttyV2").exists()
        assert sorted(p.name for p in lock_dir.iterdir()) == ["LCK..ttyV2"]


def test_detect_never_touches_the_console(run: RunCli, tmp_path: Path, root: Path, lock_dir: Path) -> None:
    active = root / "sys" / "class" / "tty" / "console" / "active"
    active.parent.mkdir(parents=True)
    active.write_text("tty0 ttyV0\n")
    with PhoneLine({"11": tmp_path / "ttyV0"}) as line:
        res = run("detect", "--port", line.port("11"))
        assert res.exit_code == 1
        assert "console: the kernel's console: not probed" in res.stdout
        assert "no modem found" in res.stderr
        assert not any("port opened" in ev for ev in line.events)


def test_parallel_probing_costs_one_timeout_not_one_per_port(tmp_path: Path) -> None:
    (tmp_path / "var" / "lock").mkdir(parents=True)
    with contextlib.ExitStack() as stack:
        silents = [stack.enter_context(silent_port()) for _ in range(8)]
        report = detect.detect(Paths(tmp_path), silents, speeds=(115200, 9600), timeout=0.2)
    assert [p.status for p in report.ports] == ["silent"] * 8
    # 8 ports x 2 speeds x 0.2 s would be 3.2 s one after the other; the bound is generous.
    assert report.seconds < 3.0


def test_default_candidates_prefer_by_id_and_need_a_uart(tmp_path: Path) -> None:
    paths = Paths(tmp_path)
    dev = tmp_path / "dev"
    (dev / "serial" / "by-id").mkdir(parents=True)
    for name in ("ttyS0", "ttyS1", "ttyS10", "ttyUSB0", "ttyACM0"):
        (dev / name).write_text("")
    (dev / "serial" / "by-id" / "usb-Zoom_V92-if00").symlink_to(dev / "ttyUSB0")
    for tty, uart in (("ttyS0", "4"), ("ttyS1", "0"), ("ttyS10", "4")):
        t = tmp_path / "sys" / "class" / "tty" / tty
        t.mkdir(parents=True)
        (t / "type").write_text(uart + "\n")
    names = [os.path.relpath(n, dev) for n, _ in detect.candidates(paths)]
    assert names == ["serial/by-id/usb-Zoom_V92-if00", "ttyACM0", "ttyS0", "ttyS10"]


def test_no_port_matches(run: RunCli, tmp_path: Path, lock_dir: Path) -> None:
    res = run("detect", "--port", str(tmp_path / "nothing*"))
    assert res.exit_code == 1 and "no port matches" in res.stderr


def test_warns_about_programs_that_grab_ports(tmp_path: Path) -> None:
    import shutil
    import subprocess
    import time

    fake = tmp_path / "pppd"  # a sleep that calls itself pppd
    shutil.copy("/bin/sleep", fake)
    proc = subprocess.Popen([str(fake), "30"])
    try:
        # Wait for the exec (it can take seconds on a loaded machine), then look.
        deadline = time.monotonic() + 60
        while Path(f"/proc/{proc.pid}/comm").read_text().strip() != "pppd":
            assert time.monotonic() < deadline, "the fake pppd never ran"
            time.sleep(0.01)
        warnings = detect.conflicting_processes()
    finally:
        proc.kill()
        proc.wait()
    assert f"pppd is running (pid {proc.pid}): 30" in warnings
