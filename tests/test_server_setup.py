"""setup-server under --root: the guide's files, modes, plan/apply, idempotence, rollback."""

from __future__ import annotations

import ipaddress
import os
import stat
from pathlib import Path

import pytest

from dialup_admin.core.plan import RunCommand, apply
from dialup_admin.core.server import ServerOptions, plan_server
from dialup_admin.errors import UserError
from dialup_admin.formats import managed
from dialup_admin.model import MgettySettings, Server, allocate_lines
from dialup_admin.paths import Paths
from dialup_admin.system.mgetty import detect
from tests.support.tool import RunCli, run_tool
from tests.support.trees import snapshot

GOLDEN = Path(__file__).parent / "golden" / "server"

# The guide's lines, exactly ("Setting up the server: mgetty").
GUIDE_MGETTY_CONFIG = [
    "debug 9",
    "speed 57600",
    "data-only yes",
    "login-time 30",
    "answer-chat-timeout 60",
    "toggle-dtr yes",
]
GUIDE_AUTOPPP = "/AutoPPP/   -   ppp /usr/sbin/pppd auth -chap +pap login debug"
GUIDE_LOGIN = "*           -   -   /bin/login @"
GUIDE_INITTAB = "S1:2345:respawn:/usr/local/sbin/mgetty ttyS1 -D /dev/ttyS1"


def active(text: str) -> list[str]:
    return [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


def fake_source_mgetty(root: Path) -> None:
    """A binary at the guide's path carrying the guide's compiled-in paths (as a source build does)."""
    b = root / "usr/local/sbin/mgetty"
    b.parent.mkdir(parents=True)
    b.write_bytes(b"\x7fELF\x00/usr/local/etc/mgetty+sendfax/mgetty.config\x00/var/log/mgetty.%s\x00/AutoPPP/\x00")
    b.chmod(0o755)


def test_guide_lines_source_build(root: Path, run: RunCli) -> None:
    fake_source_mgetty(root)
    res = run("setup-server", "--tty", "ttyS1", "--init", "inittab")
    assert res.exit_code == 0, res.output
    cfg = root / "usr/local/etc/mgetty+sendfax"
    assert active((cfg / "mgetty.config").read_text())[:6] == GUIDE_MGETTY_CONFIG
    login = active((cfg / "login.config").read_text())
    assert [ln.split() for ln in login] == [GUIDE_AUTOPPP.split(), GUIDE_LOGIN.split()]
    assert GUIDE_INITTAB in (root / "etc/inittab").read_text().splitlines()
    st = os.stat(cfg / "login.config")
    assert (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid) == (0o600, 0, 0)
    opts = active((root / "etc/ppp/options").read_text())
    assert opts[:4] == ["asyncmap 0", "mtu 1500", "mru 1500", "lcp-echo-interval 10"]
    # The guide's "disconnect /etc/ppp/ip-down" is left out on purpose (pppd runs ip-down itself).
    assert not any(ln.startswith("disconnect") for ln in opts)


def test_golden_debian_layout(root: Path, run: RunCli) -> None:
    res = run("setup-server", "--tty", "ttyS1", "--tty", "ttyS3", "--init", "inittab", "--mgetty", "/sbin/mgetty")
    assert res.exit_code == 0, res.output
    for name in ("etc/mgetty/mgetty.config", "etc/mgetty/login.config", "etc/inittab", "etc/ppp/options",
                 "etc/ppp/options.ttyS1", "etc/ppp/options.ttyS3", "etc/ppp/pap-secrets"):
        golden = GOLDEN / name.replace("/", "__")
        if os.environ.get("UPDATE_GOLDEN"):
            golden.write_bytes((root / name).read_bytes())
        assert (root / name).read_bytes() == golden.read_bytes(), name
    assert "S1:2345:respawn:/sbin/mgetty ttyS1 -D /dev/ttyS1" in (root / "etc/inittab").read_text()


@pytest.mark.parametrize("umask", [0o000, 0o077])
def test_modes_whatever_the_umask(root: Path, umask: int) -> None:
    proc = run_tool("--root", str(root), "setup-server", "--tty", "ttyS1", "--init", "inittab",
                    preexec=lambda: os.umask(umask) and None)
    assert proc.returncode == 0, proc.stderr
    want = {
        "etc/mgetty/mgetty.config": 0o644,
        "etc/mgetty/login.config": 0o600,
        "etc/ppp/pap-secrets": 0o600,
        "etc/ppp/options": 0o644,
        "etc/ppp/options.ttyS1": 0o644,
        "etc/inittab": 0o644,
        "etc/ppp": 0o755,
        "etc/mgetty": 0o755,
    }
    for name, mode in want.items():
        st = os.stat(root / name)
        assert stat.S_IMODE(st.st_mode) == mode, name
        assert (st.st_uid, st.st_gid) == (0, 0), name
    assert not list(root.rglob("*.tmp"))


def seed_admin_files(root: Path) -> None:
    """What an admin already has: own inittab lines (CRLF, no final newline, latin-1), own options."""
    (root / "etc/ppp").mkdir(parents=True)
    (root / "etc/inittab").write_bytes(b"id:2:initdefault:\r\n1:2345:respawn:/sbin/getty 38400 tty1\r\n# caf\xe9")
    (root / "etc/ppp/options").write_bytes(b"# admin's own\nlock\nnoipx\n")
    (root / "etc/ppp/pap-secrets").write_bytes(b'admin\t*\t"s3cret"\t*\n')
    os.chmod(root / "etc/ppp/pap-secrets", 0o600)


def test_dry_run_changes_nothing(root: Path, run: RunCli) -> None:
    seed_admin_files(root)
    before = snapshot(root)
    res = run("setup-server", "--tty", "ttyS1", "--init", "inittab", "--dry-run", "--diff")
    assert res.exit_code == 0
    assert "Plan for setup-server" in res.output and "+S1:2345:respawn:" in res.output
    assert "s3cret" not in res.output
    assert snapshot(root) == before


def test_second_run_has_nothing_to_change(root: Path, run: RunCli) -> None:
    seed_admin_files(root)
    assert run("setup-server", "--tty", "ttyS1", "--tty", "ttyS2", "--init", "inittab").exit_code == 0
    after_first = snapshot(root)
    res = run("setup-server", "--tty", "ttyS1", "--tty", "ttyS2", "--init", "inittab")
    assert res.exit_code == 0
    assert "Nothing to change" in res.output
    assert snapshot(root) == after_first


def test_admin_bytes_survive(root: Path, run: RunCli) -> None:
    seed_admin_files(root)
    original = (root / "etc/inittab").read_bytes()
    assert run("setup-server", "--tty", "ttyS1", "--init", "inittab").exit_code == 0
    data = (root / "etc/inittab").read_bytes()
    assert managed.split(data, "inittab", name="server").outside == original
    assert data.startswith(original)
    assert (root / "etc/ppp/options").read_bytes().startswith(b"# admin's own\nlock\nnoipx\n")
    assert b'admin\t*\t"s3cret"\t*\n' in (root / "etc/ppp/pap-secrets").read_bytes()


def test_hand_edited_block_refused_then_forced(root: Path, run: RunCli) -> None:
    assert run("setup-server", "--tty", "ttyS1", "--init", "inittab").exit_code == 0
    p = root / "etc/inittab"
    p.write_bytes(p.read_bytes().replace(b"-D /dev/ttyS1", b"-D /dev/ttyS1 -x9"))
    before = snapshot(root)
    res = run("setup-server", "--tty", "ttyS1", "--init", "inittab")
    assert res.exit_code != 0
    assert "edited by hand" in res.output and len(res.output.strip().splitlines()) == 1
    assert snapshot(root) == before
    assert run("setup-server", "--tty", "ttyS1", "--init", "inittab", "--force").exit_code == 0
    assert b"-x9" not in p.read_bytes()


def test_broken_markers_refused(root: Path, run: RunCli) -> None:
    assert run("setup-server", "--tty", "ttyS1", "--init", "inittab").exit_code == 0
    p = root / "etc/inittab"
    p.write_bytes(b"\n".join(ln for ln in p.read_bytes().split(b"\n") if not ln.startswith(b"# END")))
    before = snapshot(root)
    res = run("setup-server", "--tty", "ttyS1", "--init", "inittab")
    assert res.exit_code != 0 and "markers are broken" in res.output
    assert snapshot(root) == before


def test_lines_get_their_own_addresses_and_keep_them(root: Path, run: RunCli) -> None:
    assert run("setup-server", "--tty", "ttyS1", "--tty", "ttyS3", "--init", "none").exit_code == 0
    assert "192.168.32.1:192.168.32.2" in (root / "etc/ppp/options.ttyS1").read_text()
    assert "192.168.32.3:192.168.32.4" in (root / "etc/ppp/options.ttyS3").read_text()
    # ttyS1 leaves, ttyS0 arrives: ttyS3 keeps its pair, ttyS0 gets a free one, ttyS1's file goes.
    assert run("setup-server", "--tty", "ttyS0", "--tty", "ttyS3", "--init", "none").exit_code == 0
    assert "192.168.32.3:192.168.32.4" in (root / "etc/ppp/options.ttyS3").read_text()
    assert "192.168.32.1:192.168.32.2" in (root / "etc/ppp/options.ttyS0").read_text()
    assert not (root / "etc/ppp/options.ttyS1").exists()


def test_systemd_unit_enabled(root: Path, run: RunCli) -> None:
    (root / "lib/systemd").mkdir(parents=True)
    (root / "lib/systemd/systemd").write_bytes(b"")
    assert run("setup-server", "--tty", "ttyS1").exit_code == 0
    unit = root / "etc/systemd/system/mgetty@.service"
    assert "ExecStart=/sbin/mgetty %I -D /dev/%I" in unit.read_text()
    link = root / "etc/systemd/system/getty.target.wants/mgetty@ttyS1.service"
    assert os.readlink(link) == "/etc/systemd/system/mgetty@.service"
    assert not (root / "etc/inittab").exists()


def test_rollback_restores_the_tree(root: Path, run: RunCli) -> None:
    seed_admin_files(root)
    state = root / "var/lib/dialup-admin"
    before = snapshot(root)
    assert run("setup-server", "--tty", "ttyS1", "--init", "inittab").exit_code == 0
    assert run("setup-server", "--tty", "ttyS1", "--tty", "ttyS2", "--init", "inittab").exit_code == 0
    assert run("rollback").exit_code == 0
    assert not (root / "etc/ppp/options.ttyS2").exists()
    assert run("rollback").exit_code == 0
    after = {k: v for k, v in snapshot(root).items() if not k.startswith("var")}
    assert after == {k: v for k, v in before.items() if not k.startswith("var")}
    assert "Nothing to roll back" in run("rollback").output
    assert state.is_dir()


def _plan(root: Path, init: str = "inittab") -> tuple[Paths, Server, ServerOptions]:
    paths = Paths(root)
    net = ipaddress.IPv4Network("192.168.32.0/24")
    server = Server(lines=allocate_lines(["ttyS1", "ttyS3"], net), pool=net, mgetty=MgettySettings())
    opts = ServerOptions(init=init, mgetty=detect(paths, "/sbin/mgetty"), pppd="/usr/sbin/pppd")
    return paths, server, opts


@pytest.mark.parametrize("exc", [RuntimeError("boom"), KeyboardInterrupt()])
def test_fault_at_every_step_restores_everything(tmp_path: Path, exc: BaseException) -> None:
    for fresh in (True, False):
        probe = tmp_path / f"probe-{fresh}"
        probe.mkdir()
        if not fresh:
            seed_admin_files(probe)
        n = len(plan_server(*_plan(probe)).actions)
        assert n >= 7
        for k in range(n):
            root = tmp_path / f"r-{fresh}-{k}"
            root.mkdir()
            if not fresh:
                seed_admin_files(root)
            before = snapshot(root)
            plan = plan_server(*_plan(root))

            def fault(i: int, _a: object, k: int = k) -> None:
                if i == k:
                    raise exc

            with pytest.raises(type(exc)):
                apply(plan, on_step=fault)
            assert snapshot(root) == before, f"step {k}"


def test_failing_command_rolls_back(root: Path) -> None:
    seed_admin_files(root)
    before = snapshot(root)
    plan = plan_server(*_plan(root))
    plan.command(RunCommand(("false",), "a command that fails"))
    with pytest.raises(UserError):
        apply(plan)
    assert snapshot(root) == before


def test_concurrent_run_is_refused(root: Path, run: RunCli) -> None:
    from dialup_admin.system.files import RunLock

    with RunLock(Paths(root)):
        res = run("setup-server", "--tty", "ttyS1", "--init", "none")
    assert res.exit_code == 1 and "another dialup-admin run" in res.output
    assert not (root / "etc").exists()
