"""setup-server with direct lines (TTY:direct): answer instead of mgetty, in the same init machinery."""

from __future__ import annotations

import ipaddress
import json
import os
from pathlib import Path

import pytest

from dialup_admin.core.plan import apply
from dialup_admin.core.server import ServerOptions, plan_server
from dialup_admin.core.state import load_server
from dialup_admin.model import DirectSettings, MgettySettings, Server, allocate_lines
from dialup_admin.paths import Paths
from dialup_admin.system.mgetty import detect
from tests.support.ops import doctor_json, fake_process, healthy_tree, problems
from tests.support.tool import RunCli, run_tool
from tests.support.trees import snapshot

GOLDEN = Path(__file__).parent / "golden" / "server-direct"
TOOL = "/usr/local/bin/dialup-admin"


def _apply_mixed(root: Path, init: str) -> None:
    paths = Paths(root)
    net = ipaddress.IPv4Network("192.168.32.0/24")
    server = Server(lines=allocate_lines(["ttyS1", "ttyACM0"], net, direct=["ttyACM0"]), pool=net,
                    mgetty=MgettySettings(), direct=DirectSettings(dial_tone="425", number="5551234"))
    opts = ServerOptions(init=init, mgetty=detect(paths, "/sbin/mgetty"), pppd="/usr/sbin/pppd", tool=TOOL)
    apply(plan_server(paths, server, opts))


@pytest.mark.parametrize("init", ["inittab", "systemd"])
def test_golden_mixed_lines(root: Path, init: str) -> None:
    _apply_mixed(root, init)
    names = ["etc/inittab"] if init == "inittab" else [
        "etc/systemd/system/dialup-answer@.service", "etc/systemd/system/mgetty@.service"]
    for name in [*names, "etc/mgetty/mgetty.config", "etc/ppp/options.ttyACM0"]:
        golden = GOLDEN / name.replace("/", "__")
        if os.environ.get("UPDATE_GOLDEN"):
            golden.parent.mkdir(exist_ok=True)
            golden.write_bytes((root / name).read_bytes())
        assert (root / name).read_bytes() == golden.read_bytes(), name
    if init == "systemd":
        wants = root / "etc/systemd/system"
        assert os.readlink(wants / "multi-user.target.wants/dialup-answer@ttyACM0.service") == \
            "/etc/systemd/system/dialup-answer@.service"
        assert (wants / "getty.target.wants/mgetty@ttyS1.service").is_symlink()
        assert not (wants / "getty.target.wants/mgetty@ttyACM0.service").exists()
    else:
        assert f"A0:2345:respawn:{TOOL} answer ttyACM0" in (root / "etc/inittab").read_text().splitlines()
    state = load_server(Paths(root))
    assert state is not None and [ln.direct for ln in state.lines] == [False, True]
    assert state.direct == DirectSettings(dial_tone="425", number="5551234")
    # mgetty does not answer the direct line; its pppd reads the same per-line options
    assert "port ttyACM0" not in (root / "etc/mgetty/mgetty.config").read_text()


def test_a_direct_line_with_the_cli(root: Path, run: RunCli) -> None:
    res = run("setup-server", "--tty", "ttyACM0:direct", "--tty", "ttyS1", "--init", "inittab", "--no-accounts",
              "--dial-tone", "425")
    assert res.exit_code == 0, res.output
    assert "ttyACM0: server 192.168.32.1, caller 192.168.32.2 (direct line: dialup-admin answer)" in res.output
    inittab = (root / "etc/inittab").read_text()
    assert " answer ttyACM0" in inittab and "S1:2345:respawn:" in inittab
    # Re-running without the options keeps them; the same setup is nothing to change.
    res = run("setup-server", "--tty", "ttyACM0:direct", "--tty", "ttyS1", "--init", "inittab", "--no-accounts")
    assert "Nothing to change" in res.output
    data = json.loads((root / "etc/dialup-admin/server.json").read_text())
    assert data["direct"]["dial_tone"] == "425" and data["lines"][0]["direct"] is True
    # answer reads what setup-server recorded
    proc = run_tool("--root", str(root), "answer", "ttyACM0", "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert b"dial tone 425 Hz, any number, dial timeout 60 s, connect timeout 30 s" in proc.stdout
    assert b"/usr/sbin/pppd auth -chap +pap login debug" in proc.stdout
    proc = run_tool("--root", str(root), "answer", "ttyACM0", "--dry-run", "--no-dial-tone")
    assert b"no dial tone (blind-dialing callers)" in proc.stdout


def test_only_direct_lines_need_no_mgetty(root: Path, run: RunCli) -> None:
    res = run("setup-server", "--tty", "ttyACM0:direct", "--init", "none", "--no-accounts", "--no-dial-tone")
    assert res.exit_code == 0, res.output
    assert not (root / "etc/mgetty").exists()
    assert "keep answer running yourself on the direct lines" in res.output and " answer ttyACM0" in res.output
    assert json.loads((root / "etc/dialup-admin/server.json").read_text())["direct"]["dial_tone"] is None


def test_a_line_changes_kind_under_systemd(root: Path, run: RunCli) -> None:
    wants = root / "etc/systemd/system"
    assert run("setup-server", "--tty", "ttyS1", "--init", "systemd", "--no-accounts").exit_code == 0
    assert (wants / "getty.target.wants/mgetty@ttyS1.service").is_symlink()
    before = (root / "etc/ppp/options.ttyS1").read_text()
    res = run("setup-server", "--tty", "ttyS1:direct", "--init", "systemd", "--no-accounts")
    assert res.exit_code == 0, res.output
    assert not (wants / "getty.target.wants/mgetty@ttyS1.service").exists()
    assert (wants / "multi-user.target.wants/dialup-answer@ttyS1.service").is_symlink()
    assert (root / "etc/ppp/options.ttyS1").read_text() == before  # the same addresses
    res = run("setup-server", "--tty", "ttyS1", "--init", "systemd", "--no-accounts")
    assert not (wants / "multi-user.target.wants/dialup-answer@ttyS1.service").exists()
    assert (wants / "getty.target.wants/mgetty@ttyS1.service").is_symlink()


def test_rollback_undoes_a_direct_line(root: Path, run: RunCli) -> None:
    assert run("setup-server", "--tty", "ttyS1", "--init", "inittab", "--no-accounts").exit_code == 0
    before = snapshot(root / "etc")
    assert run("setup-server", "--tty", "ttyS1:direct", "--init", "inittab", "--no-accounts").exit_code == 0
    assert " answer ttyS1" in (root / "etc/inittab").read_text()
    assert run("rollback").exit_code == 0
    assert snapshot(root / "etc") == before


def test_setup_server_warns_about_a_modem_test_modem_found_without_voice(root: Path, run: RunCli) -> None:
    rec = root / "var/lib/dialup-admin/voice-ttyACM0.json"
    rec.parent.mkdir(parents=True)
    rec.write_text(json.dumps({"voice": False, "summary": "AT+FCLASS=8 -> ERROR"}))
    res = run("setup-server", "--tty", "ttyACM0:direct", "--init", "none", "--no-accounts")
    assert "note: ttyACM0: test-modem --voice found no voice mode on this modem (AT+FCLASS=8 -> ERROR); " \
           "answer will fail: use --no-dial-tone" in res.output
    res = run("setup-server", "--tty", "ttyACM0:direct", "--init", "none", "--no-accounts", "--no-dial-tone")
    assert "found no voice mode" not in res.output


# --- doctor on direct lines ------------------------------------------------------------------


def direct_tree(root: Path, run: RunCli, *extra: str) -> None:
    """A healthy server with an mgetty line and a direct line whose answer process waits."""
    healthy_tree(root, run, "--tty", "ttyACM0:direct", *extra)
    fake_process(root, ANSWER_PID, ["/usr/bin/python3", "/usr/local/bin/dialup-admin", "answer", "ttyACM0"],
                 comm="dialup-admin")
    (root / "var/lock").mkdir(parents=True, exist_ok=True)
    (root / "var/lock/LCK..ttyACM0").write_text("%10d\n" % ANSWER_PID)


ANSWER_PID = 5100


def test_doctor_on_a_healthy_direct_line(root: Path, run: RunCli) -> None:
    direct_tree(root, run)
    status, data = doctor_json(run)
    assert problems(data) == [] and status == 0, problems(data)
    found = {f["check"]: f["message"] for f in data["findings"] if f["message"].find("ttyACM0") >= 0}
    assert found["answer-service"] == "answer is started by inittab on ttyACM0"
    assert found["answer-running"] == "answer waits for a call on ttyACM0"
    assert "test-modem --voice /dev/ttyACM0" in found["voice-mode"]


def test_doctor_during_a_direct_call(root: Path, run: RunCli) -> None:
    direct_tree(root, run)
    os.rename(root / f"proc/{ANSWER_PID}", root / "proc/gone")
    fake_process(root, ANSWER_PID, ["/usr/sbin/pppd", "auth", "-chap", "+pap", "login", "debug"])  # exec'd
    _, data = doctor_json(run)
    assert ("answer-running", "ok") in [(f["check"], f["level"]) for f in data["findings"]]
    assert not [p for p in problems(data) if p[0] in ("port-locked", "answer-running", "other-pppd")]


def test_doctor_direct_line_findings(root: Path, run: RunCli) -> None:
    direct_tree(root, run)
    import shutil

    shutil.rmtree(root / f"proc/{ANSWER_PID}")
    (root / "var/lock/LCK..ttyACM0").unlink()
    fake_process(root, 5200, ["/sbin/mgetty", "ttyACM0", "-D", "/dev/ttyACM0"])
    rec = root / "var/lib/dialup-admin/voice-ttyACM0.json"
    rec.parent.mkdir(parents=True, exist_ok=True)
    rec.write_text(json.dumps({"voice": False, "summary": "AT+FCLASS=8 -> ERROR"}))
    inittab = (root / "etc/inittab").read_text()
    (root / "etc/inittab").write_text(inittab.replace(" answer ttyACM0", " answr ttyACM0"))
    _, data = doctor_json(run)
    got = problems(data)
    for want in [("answer-running", "error"), ("direct-mgetty", "error"), ("voice-mode", "error"),
                 ("answer-service", "error")]:
        assert want in got, got
    text = run("doctor").output
    assert "fix: setup-server --tty TTY:direct --no-dial-tone" in text


def test_a_direct_line_with_radius_fallback_runs_the_wrapper(root: Path, run: RunCli, tmp_path: Path) -> None:
    (root / "etc").mkdir(exist_ok=True)
    (root / "etc/hostname").write_text("nas1\n")
    secret = tmp_path / "radius.secret"
    secret.write_text("Pool-Secret-42\n")
    secret.chmod(0o600)
    res = run("setup-server", "--tty", "ttyACM0:direct", "--init", "none", "--no-accounts", "--radius", "127.0.0.1",
              "--radius-secret-file", str(secret), "--radius-fallback", "local")
    assert res.exit_code == 0, res.output
    data = json.loads((root / "etc/dialup-admin/server.json").read_text())
    assert data["answer_pppd"] == "/etc/ppp/radius/pppd"  # what login.config would name: the same checks
    assert "plugin radius.so" in (root / "etc/ppp/radius/options.ttyACM0").read_text()
    proc = run_tool("--root", str(root), "answer", "ttyACM0", "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert b"then run /etc/ppp/radius/pppd auth -chap +pap login debug on it" in proc.stdout
