"""mgetty kept alive by a real init: systemd and sysvinit as PID 1 of the lab's server guest.

One long scenario per init (both run at once, each in its own lab), every step done
the way an admin would, the survivals followed by calls that go through:

1. ``setup-server --tty ttyS1`` (``--init auto``) picks the init by itself and starts
   mgetty through it; ``pgrep`` shows mgetty run by PID 1's service. A wrong
   ``--init`` is refused in one line with nothing written.
2. (a) mgetty killed with SIGKILL: the init starts it again; the next call comes in.
3. (d) during that call, ``setup-server --tty ttyS1 --tty ttyS2``: only ttyS2's mgetty
   starts; the call on ttyS1 carries on (same pppd, pings go through); doctor: all ok.
4. (b) the caller vanishes mid-call (its pppd killed, the line left up); meanwhile
5. (e) ``setup-server --tty ttyS1``: ttyS2's mgetty stops and stays stopped;
6. (b) the server's pppd gives up on the caller (LCP echo), mgetty answers; a call.
7. (f) ``rollback``: ttyS2 is back, running; ``rollback`` again: the state before (d),
   ttyS1 untouched; a call.
8. A line without hardware (``--tty ttyS3``, open fails): the apply fails with the
   unit's status line or mgetty's log, and everything is rolled back.
9. doctor after the line is disabled by hand: an error with the fix; after the fix, ok.
10. (c) the server guest is powered off through its init and booted again on the
    same disk: mgetty answers without any command; a call.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from dialup_admin.lab import survival
from dialup_admin.lab.agent import StepResult
from dialup_admin.lab.scenario import Call, Lab, User
from tests.support.e2e import Record
from tests.support.lab import init_missing, needs_uml

pytestmark = [pytest.mark.e2e, needs_uml, pytest.mark.timeout(1500)]

INITS = ("systemd", "sysvinit")
DREAMCAST = User("dreamcast", "Dream-Pass-2000")
ECHO_FAILED = "No response to [0-9]+ echo-requests|Serial link appears to be disconnected"


class Survival:
    """The scenario's steps on one lab; counts mgetty's starts per line to wait for the next."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self.starts = {"ttyS1": 0, "ttyS2": 0}
        self.calls = 0
        self.server_line = 0
        self.current: Call | None = None

    def restarted(self, tty: str) -> None:
        """Wait until mgetty on ``tty`` has started once more and waits for a call."""
        self.starts[tty] += 1
        self.lab.wait_mgetty(tty, self.starts[tty])

    def tool(self, name: str, args: str, check: bool = True) -> StepResult:
        assert self.lab.server is not None
        return self.lab.tool(self.lab.server, name, args, check=check, timeout=240)

    def sh(self, name: str, script: str, check: bool = True) -> StepResult:
        assert self.lab.server is not None
        return self.lab.step(self.lab.server, name, script, check=check, timeout=240)

    def dial(self, line: int = 0) -> Call:
        """A call to server line ``line`` (0: ttyS1 on 11, 1: ttyS2 on 12), up and pinged."""
        if line != self.server_line:
            self.lab.setup_client("client", DREAMCAST, server_line=line, new_password=True)
            self.server_line = line
        self.calls += 1
        call = Call(self.calls, "client", DREAMCAST.name)
        if self.calls > 1:
            self.lab.drain("client")
        self.lab.dial("client", call)
        self.lab.ping("client", call, count=1)
        return call

    def hangup(self, call: Call, tty: str = "ttyS1") -> Call:
        self.lab.tool(self.lab.client(), "hangup", "hangup")
        self.lab.port_closed("client")
        call.ok = True
        self.restarted(tty)
        return call

    def call(self, line: int = 0) -> Call:
        return self.hangup(self.dial(line), f"ttyS{line + 1}")

    # -- the phases ----------------------------------------------------------------------

    def setup(self) -> dict[str, Any]:
        self.lab.setup_server([DREAMCAST], ["ttyS1"])  # ends with pgrep and the service check
        self.starts["ttyS1"] = 1
        assert self.lab.server is not None
        pgrep = self.lab.server.steps[-1]
        self.lab.setup_client("client", DREAMCAST)
        return {"pgrep": (self.lab.server.guest.folder / f"out-{pgrep.number}").read_text(),
                "state": survival.line_state(self.lab, "ttyS1")}

    def refuse(self) -> StepResult:
        wrong = "inittab" if self.lab.init == "systemd" else "systemd"
        return self.sh("refuse", f"""
touch -d '-1 second' /run/before-refusal
{self.lab.tool_cmd} setup-server --tty ttyS1 --init {wrong} > /run/out 2> /run/err; echo "exit $?"
echo "stderr: $(cat /run/err)"; echo "stderr lines: $(wc -l < /run/err)"; echo "stdout: $(cat /run/out)"
echo "changed in /etc: $(find /etc -newer /run/before-refusal | wc -l)"
""")

    def kill(self) -> dict[str, Any]:
        old, new, seconds = survival.kill_mgetty(self.lab, "ttyS1")
        self.starts["ttyS1"] += 1
        return {"old": old, "new": new, "seconds": seconds}

    def add_during_call(self) -> dict[str, Any]:
        call = self.dial()
        before = survival.line_state(self.lab, "ttyS1")
        setup = self.tool("setup-server-add", "setup-server --tty ttyS1 --tty ttyS2")
        self.restarted("ttyS2")
        states = survival.line_states(self.lab, ["ttyS1", "ttyS2"])
        ping = self.lab.ping("client", call, count=3)  # the call on ttyS1 still carries data
        doctor = survival.doctor(self.lab)
        self.current = call
        return {"call": call, "setup": setup, "before": before, "after": states["ttyS1"], "ttyS2": states["ttyS2"],
                "ping": ping, "doctor": doctor}

    def vanish(self) -> Call:
        """(b) The caller of the call in progress vanishes: its pppd killed, the line left up."""
        assert self.current is not None
        self.lab.vanish("client")
        self.lab.say("== The caller is gone; the line stays up: the server's LCP echo must notice")
        return self.current

    def remove(self) -> dict[str, Any]:
        """(e), while the server's pppd on ttyS1 still waits for the vanished caller."""
        setup = self.tool("setup-server-remove", "setup-server --tty ttyS1")
        states = survival.line_states(self.lab, ["ttyS2"], then="sleep 4", again=True)
        return {"setup": setup, "gone": states["ttyS2"], "later": states["ttyS2+"]}

    def answered_again(self) -> dict[str, Any]:
        """(b) continued: the server's pppd gives up on the vanished caller; mgetty answers the next call."""
        self.lab.server_log(ECHO_FAILED, timeout=120)
        echo = [ln for ln in self.lab.server_syslog().splitlines() if re.search(ECHO_FAILED, ln)]
        self.restarted("ttyS1")
        return {"echo": echo, "call": self.call()}

    def rollback(self) -> dict[str, Any]:
        first = self.tool("rollback-1", "rollback")
        self.restarted("ttyS2")
        back = survival.line_states(self.lab, ["ttyS1", "ttyS2"])
        second = self.tool("rollback-2", "rollback")
        states = survival.line_states(self.lab, ["ttyS1", "ttyS2"], then="sleep 1")
        return {"first": first, "back": back["ttyS2"], "second": second, "gone": states["ttyS2"],
                "ttyS1": back["ttyS1"], "ttyS1-after": states["ttyS1"], "call": self.call()}

    def bad_line(self) -> dict[str, Any]:
        sums = ("md5sum /etc/inittab /etc/mgetty/mgetty.config /etc/dialup-admin/server.json "
                "/etc/systemd/system/getty.target.wants/* 2>/dev/null; ls /etc/systemd/system/getty.target.wants 2>&1")
        s1 = survival.line_state(self.lab, "ttyS1")
        result = self.sh("setup-server-bad", f"""
{{ {sums}; }} > /run/sums-before
{self.lab.tool_cmd} setup-server --tty ttyS1 --tty ttyS3; echo "exit $?"
{{ {sums}; }} > /run/sums-after
cmp /run/sums-before /run/sums-after && echo "every file as before" || diff /run/sums-before /run/sums-after
""")
        states = survival.line_states(self.lab, ["ttyS1", "ttyS3"], then="sleep 2")
        return {"result": result, "ttyS1": s1, "ttyS1-after": states["ttyS1"], "ttyS3": states["ttyS3"]}

    def disabled_by_hand(self) -> dict[str, Any]:
        if self.lab.init == "systemd":
            self.sh("disable", "systemctl disable --now mgetty@ttyS1.service")
        else:
            self.sh("disable", "sed -i '/^S1:/d' /etc/inittab && telinit q && sleep 2")
        broken = survival.doctor(self.lab)
        fix = next(f["fix"] for f in survival.findings(broken, "service") if f["level"] == "error")
        if fix.startswith("systemctl "):
            self.sh("fix", fix)
        else:
            assert "--force" in fix, fix
            self.tool("fix", "setup-server --tty ttyS1 --force")
        self.restarted("ttyS1")
        return {"broken": broken, "fix": fix, "fixed": survival.doctor(self.lab)}

    def reboot(self) -> dict[str, Any]:
        seconds = self.lab.reboot_server()
        self.starts = {"ttyS1": 1, "ttyS2": 0}  # a new boot: mgetty's log is new
        answering = survival.answering_uptime(self.lab, "ttyS1")
        self.lab.start_uart()
        pgrep = self.lab.show_mgetty(["ttyS1"])
        return {"seconds": seconds, "answering": answering, "pgrep": pgrep.output, "call": self.call()}


PHASES: list[tuple[str, Callable[[Survival], object]]] = [
    ("setup", Survival.setup),
    ("refuse", Survival.refuse),
    ("kill", Survival.kill),
    ("add", Survival.add_during_call),
    ("vanish", Survival.vanish),
    ("remove", Survival.remove),
    ("answered", Survival.answered_again),
    ("rollback", Survival.rollback),
    ("bad-line", Survival.bad_line),
    ("disabled", Survival.disabled_by_hand),
    ("reboot", Survival.reboot),
]


def _run_one(init: str, folder: Path, rec: Record) -> None:
    with Lab(folder, lines=2, init=init, say=lambda text: print(f"[{init}] {text}", flush=True)) as lab:
        s = Survival(lab)
        for name, phase in PHASES:
            rec.phase(name, lambda phase=phase: phase(s))  # type: ignore[misc]
        rec.phases["syslog"] = lab.server_syslog()
        lab.ok = rec.error is None


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Record]:
    """Both inits' scenarios, at once (each lab is mostly waiting on its guests)."""
    out: dict[str, Record] = {}
    threads = []
    for init in INITS:
        rec = Record(tmp_path_factory.mktemp(f"survival-{init}"))
        out[init] = rec
        if init_missing(init) is not None:
            continue
        t = threading.Thread(target=_run_one, args=(init, rec.folder, rec), name=f"survival-{init}")
        t.start()
        threads.append(t)
    for t in threads:
        t.join()
    return out


@pytest.fixture(params=INITS)
def run(request: pytest.FixtureRequest, runs: dict[str, Record]) -> Record:
    init = str(request.param)
    reason = init_missing(init)
    if reason is not None:
        pytest.skip(reason)
    return runs[init]


def _init(run: Record) -> str:
    return "systemd" if "survival-systemd" in run.folder.name else "sysvinit"


def test_setup_server_starts_mgetty_through_pid1(run: Record) -> None:
    setup = run.get("setup")
    assert isinstance(setup, dict)
    pgrep = setup["pgrep"]
    assert re.search(r"^\d+ /s?bin/mgetty ttyS1 -D /dev/ttyS1$|^\d+ /usr/sbin/mgetty ttyS1 -D /dev/ttyS1$|"
                     r"^\d+ /usr/local/sbin/mgetty ttyS1 -D /dev/ttyS1$", pgrep, re.M), pgrep
    state = setup["state"]
    assert isinstance(state, survival.LineState)
    assert state.enabled and state.pids, run.why()
    if _init(run) == "systemd":
        assert state.active == "active/running" and state.parent == "mgetty@ttyS1.service"
        assert "mgetty@ttyS1.service: active/running, main PID" in pgrep
    else:
        assert state.parent == "PID 1 (init)"
        assert "child of PID 1 (init): S1:2345:respawn:" in pgrep


def test_a_wrong_init_is_refused_in_one_line_with_nothing_written(run: Record) -> None:
    result = run.get("refuse")
    assert isinstance(result, StepResult)
    out = result.output
    assert "exit 2" in out and "stderr lines: 1" in out and "changed in /etc: 0" in out, out
    if _init(run) == "systemd":
        assert "--init inittab: PID 1 is systemd, which does not read /etc/inittab; use --init systemd" in out
    else:
        assert "--init systemd: systemd is not running here (PID 1 is init (" in out


def test_a_mgetty_killed_with_sigkill_is_started_again(run: Record) -> None:
    kill = run.get("kill")
    assert isinstance(kill, dict)
    assert kill["new"] != kill["old"] and kill["seconds"] > 0
    add = run.get("add")
    assert kill["new"] in add["before"].pids  # the new mgetty answered the next call (it became pppd)
    assert isinstance(add, dict) and add["call"].local_ip == "192.168.32.2", run.why()  # and a call came in


def test_adding_a_line_starts_only_it_and_keeps_the_call(run: Record) -> None:
    add = run.get("add")
    assert isinstance(add, dict)
    out = add["setup"].output
    if _init(run) == "systemd":
        assert "run    systemctl start mgetty@ttyS2.service" in out, out
        assert "mgetty@ttyS1.service" not in out.replace("left running", ""), out  # no restart of ttyS1
    else:
        assert "run    telinit q" in out, out
    assert "check  mgetty runs on ttyS2 5 s later" in out
    assert "left running (a call may be in progress): ttyS1" in out
    # The call's pppd (mgetty became it) is the same process before and after: not dropped.
    assert add["before"].pids and add["after"].pids == add["before"].pids, (add["before"], add["after"])
    assert " 0% packet loss" in add["ping"].output
    assert add["ttyS2"].pids and add["ttyS2"].enabled
    doctor = add["doctor"]
    running = survival.findings(doctor, "mgetty-running")
    assert {f["level"] for f in running} == {"ok"}, running
    assert any("call is in progress on ttyS1" in f["message"] for f in running), running
    assert any("mgetty is running on ttyS2" in f["message"] for f in running), running


def test_a_removed_line_stops_and_stays_stopped(run: Record) -> None:
    remove = run.get("remove")
    assert isinstance(remove, dict)
    out = remove["setup"].output
    if _init(run) == "systemd":
        assert "remove /etc/systemd/system/getty.target.wants/mgetty@ttyS2.service" in out, out
        assert "run    systemctl stop mgetty@ttyS2.service" in out
    else:
        assert "run    telinit q" in out
    for state in (remove["gone"], remove["later"]):
        assert not state.pids and not state.enabled, state
    assert "left running (a call may be in progress): ttyS1" in out  # the vanished caller's line
    again = run.get("answered")
    assert isinstance(again, dict) and again["call"].ok


def test_rollback_puts_the_previous_services_back_running(run: Record) -> None:
    rb = run.get("rollback")
    assert isinstance(rb, dict)
    assert rb["back"].pids and rb["back"].enabled, rb["back"]  # rollback of (e): ttyS2 runs again
    assert not rb["gone"].pids and not rb["gone"].enabled, rb["gone"]  # rollback of (d)
    assert rb["ttyS1-after"].pids == rb["ttyS1"].pids and rb["ttyS1-after"].enabled  # ttyS1 untouched
    assert rb["call"].ok


def test_a_line_whose_mgetty_cannot_start_fails_the_apply_and_rolls_back(run: Record) -> None:
    bad = run.get("bad-line")
    assert isinstance(bad, dict)
    result = bad["result"]
    assert "exit 1" in result.output, result.output
    if _init(run) == "systemd":
        assert re.search(r"mgetty@ttyS3.service did not stay running: it (exited and was restarted \d+ time|is failed)"
                         r".*\(Active: ", result.output), result.output
    else:
        assert "mgetty is not running on ttyS3 5 s after telinit q" in result.output, result.output
    assert "cannot get terminal line dev=ttyS3" in result.output, result.output  # mgetty's own words
    assert "every file as before" in result.output
    assert not bad["ttyS3"].pids
    assert bad["ttyS1-after"].pids == bad["ttyS1"].pids  # the working line was not touched


def test_doctor_reports_a_line_disabled_by_hand_with_the_fix(run: Record) -> None:
    d = run.get("disabled")
    assert isinstance(d, dict)
    broken = d["broken"]
    assert broken["exit"] == 2
    service = [f for f in survival.findings(broken, "service") if f["level"] == "error"]
    running = [f for f in survival.findings(broken, "mgetty-running") if f["level"] == "error"]
    assert service and running, broken
    if _init(run) == "systemd":
        assert service[0]["message"] == "mgetty@ttyS1.service is not enabled"
        assert d["fix"] == "systemctl enable --now mgetty@ttyS1.service" == running[0]["fix"]
    else:
        assert service[0]["message"] == "/etc/inittab has no mgetty respawn line for ttyS1"
        assert "setup-server --force" in d["fix"] and running[0]["fix"] == d["fix"]
    fixed = d["fixed"]
    for check in ("service", "mgetty-running"):
        assert {f["level"] for f in survival.findings(fixed, check)} == {"ok"}, fixed


def test_a_caller_that_vanishes_is_noticed_and_the_line_answered_again(run: Record) -> None:
    run.get("vanish")
    v = run.get("answered")
    assert isinstance(v, dict)
    assert v["echo"], run.why()  # the server's LCP echo ended the call, not a hang-up
    assert v["call"].ok


def test_after_a_reboot_mgetty_answers_without_any_command(run: Record) -> None:
    r = run.get("reboot")
    assert isinstance(r, dict)
    assert r["answering"] > 0
    assert "/mgetty ttyS1 -D /dev/ttyS1" in r["pgrep"]
    assert r["call"].ok
    # The new boot's log folder holds the old boot's.
    assert (run.folder / "server" / "boot-1" / "console.log").exists()
