"""logs TTY: mgetty's file and pppd's syslog lines for one line, merged by time; -f follows."""

from __future__ import annotations

import datetime as dt
import select
import signal
import subprocess
from pathlib import Path

from dialup_admin.core import logs
from dialup_admin.paths import Paths
from tests.support.tool import REPO, TOOL, RunCli

NOW = dt.datetime(2026, 11, 24, 12, 0, 0)

# As mgetty 1.2.1 writes them (format "%02d/%02d %02d:%02d:%02d %s %s", the infix is the tty's tail).
MGETTY = """
--
11/24 03:45:01 yS1  mgetty: stable release 1.2.1
11/24 03:45:01 yS1   user id: 0, pid: 812, parent pid: 1
11/24 03:50:00 yS1  waiting for RING
11/24 03:50:05 yS1   got: [0d][0a]RING[0d][0a] ** found **
11/24 03:50:05 yS1   send: ATA[0d]
11/24 03:50:20 yS1   got: CONNECT 33600 ** found **
11/24 03:50:21 yS1  AutoPPP mode detected (7e ff 03 c0 21)
11/24 03:50:21 ##### data dev=ttyS1, pid=812, caller='none', conn='33600', name='', cmd='/usr/sbin/pppd', user='/AutoPPP/'
"""

SYSLOG = """\
Nov 24 03:50:21 dialup pppd[900]: pppd 2.4.9 started by root, uid 0
Nov 24 03:50:21 dialup pppd[900]: Using interface ppp0
Nov 24 03:50:21 dialup pppd[900]: Connect: ppp0 <--> /dev/ttyS1
Nov 24 03:50:22 dialup pppd[955]: Connect: ppp1 <--> /dev/ttyS3
Nov 24 03:50:23 dialup cron[77]: (root) CMD (true)
Nov 24 03:50:24 dialup pppd[900]: user dreamcast logged in
Nov 24 03:50:24 dialup pppd[900]: local  IP address 192.168.32.1
Nov 24 03:50:24 dialup pppd[900]: remote IP address 192.168.32.2
Nov 24 04:00:24 dialup pppd[900]: Connection terminated.
Nov 24 04:00:24 dialup pppd[900]: Connect time 10.0 minutes.
"""


def tree(root: Path) -> None:
    (root / "var/log/mgetty").mkdir(parents=True)
    (root / "var/log/mgetty/mg_ttyS1.log").write_text(MGETTY)
    (root / "var/log/syslog").write_text(SYSLOG)


def test_merged_in_time_order(root: Path) -> None:
    tree(root)
    lines = logs.collect(Paths(root), "ttyS1", "/var/log/mgetty/mg_ttyS1.log", NOW)
    text = [ln.format() for ln in lines]
    assert text[0] == "2026-11-24 03:45:01 mgetty       mgetty: stable release 1.2.1"
    # pppd's first lines come before it names the tty, and still belong to it.
    i = text.index("2026-11-24 03:50:21 pppd[900]    pppd 2.4.9 started by root, uid 0")
    assert "AutoPPP mode detected" in text[i - 2] and "##### data dev=ttyS1" in text[i - 1]
    assert text[-1].endswith("pppd[900]    Connect time 10.0 minutes.")
    assert not any("ttyS3" in t or "cron" in t for t in text)
    assert [ln.time for ln in lines] == sorted(ln.time for ln in lines)


def test_iso_syslog_and_journal_forms() -> None:
    iso = ("2026-11-24T03:50:21.123456+00:00 dialup pppd[900]: Connect: ppp0 <--> /dev/ttyS1\n"
           "2026-11-24T03:50:24+0000 dialup pppd[900]: remote IP address 192.168.32.2\n")
    got = logs.pppd_lines_for(logs.parse_syslog(iso, NOW), "ttyS1")
    assert [(ln.time.second, ln.source) for ln in got] == [(21, "pppd[900]"), (24, "pppd[900]")]


def test_a_tty_name_is_not_a_prefix_match() -> None:
    text = "Nov 24 03:50:21 h pppd[1]: Connect: ppp0 <--> /dev/ttyS10\n"
    assert logs.pppd_lines_for(logs.parse_syslog(text, NOW), "ttyS1") == []


def test_lines_without_a_year_never_land_in_the_future() -> None:
    new_year = dt.datetime(2027, 1, 1, 0, 5)
    (ln,) = logs.parse_mgetty("12/31 23:59:59 yS1  waiting for RING\n", new_year)
    assert ln.time == dt.datetime(2026, 12, 31, 23, 59, 59)


def test_cli(root: Path, run: RunCli) -> None:
    tree(root)
    res = run("logs", "ttyS1")
    assert res.exit_code == 0 and "pppd[900]" in res.output and "mgetty" in res.output
    assert len(run("logs", "/dev/ttyS1", "-n", "2").output.splitlines()) == 2
    res = run("logs", "ttyS2")
    assert res.exit_code == 1 and res.output.count("\n") == 1 and "no log lines for ttyS2" in res.output
    assert run("logs", "tty/../S1").exit_code == 2


def test_follower_shows_new_lines_once(root: Path) -> None:
    tree(root)
    f = logs.Follower(Paths(root), "ttyS1", "/var/log/mgetty/mg_ttyS1.log")
    assert f.poll(NOW) == []
    with open(root / "var/log/syslog", "a") as fh:
        fh.write("Nov 24 05:00:00 dialup pppd[1200]: pppd 2.4.9 started by root, uid 0\n")
        fh.write("Nov 24 05:00:01 dialup pppd[1200]: Connect: ppp0 <--> /dev/ttyS1\n")
        fh.write("Nov 24 05:00:02 dialup pppd[1200]: half a li")  # still being written
    with open(root / "var/log/mgetty/mg_ttyS1.log", "a") as fh:
        fh.write("11/24 05:00:00 yS1  AutoPPP mode detected\n")
    got = [ln.format() for ln in f.poll(NOW)]
    assert [g[20:] for g in got] == ["mgetty       AutoPPP mode detected",
                                     "pppd[1200]   pppd 2.4.9 started by root, uid 0",
                                     "pppd[1200]   Connect: ppp0 <--> /dev/ttyS1"]
    with open(root / "var/log/syslog", "a") as fh:
        fh.write("ne\n")
    assert [ln.text for ln in f.poll(NOW)] == ["half a line"]
    assert f.poll(NOW) == []


def readline(proc: subprocess.Popen[str], timeout: float = 30) -> str:
    """One line of the command's output, or "" when none comes within ``timeout`` (never hangs)."""
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    return proc.stdout.readline() if ready else ""


def test_follow_command_until_interrupted(root: Path) -> None:
    tree(root)
    proc = subprocess.Popen([*TOOL, "--root", str(root), "logs", "ttyS1", "-f", "-n", "1"], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert "Connect time 10.0 minutes." in readline(proc)
        with open(root / "var/log/mgetty/mg_ttyS1.log", "a") as fh:
            fh.write("11/24 05:10:00 yS1  waiting for RING\n")
        assert readline(proc).endswith("mgetty       waiting for RING\n")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


ANSWER = """\
2026-11-24 03:49:58.120 [700] started on ttyS1, a direct line: dial tone 350+440 Hz, any number
2026-11-24 03:49:58.630 [700] dial tone on (350+440 Hz)
2026-11-24 03:50:18.002 [700] digits 5551234
2026-11-24 03:50:18.300 [700] answering
2026-11-24 03:50:20.700 [700] CONNECT 33600
2026-11-24 03:50:20.701 [700] pppd pid 900: /usr/sbin/pppd auth -chap +pap login debug
"""


def test_a_direct_lines_answer_log_is_merged_with_pppd(root: Path) -> None:
    (root / "var/log/dialup-admin").mkdir(parents=True)
    (root / "var/log/dialup-admin/answer-ttyS1.log").write_text(ANSWER)
    (root / "var/log/syslog").write_text(SYSLOG)
    lines = logs.collect(Paths(root), "ttyS1", "/var/log/mgetty/mg_ttyS1.log", NOW,
                         answer_log="/var/log/dialup-admin/answer-ttyS1.log")
    text = [ln.format() for ln in lines]
    assert text[1] == "2026-11-24 03:49:58 answer[700]  dial tone on (350+440 Hz)"
    i = text.index("2026-11-24 03:50:20 answer[700]  pppd pid 900: /usr/sbin/pppd auth -chap +pap login debug")
    assert text[i + 1] == "2026-11-24 03:50:21 pppd[900]    pppd 2.4.9 started by root, uid 0"
