"""setup-server and the machine's init: the refusals, and the rendered units checked by systemd itself.

The running init is this machine's: the refusal tests expect what fits it (systemd as
PID 1 or not, an /etc/inittab or not) and run with --dry-run, so nothing could be
written even if the check were missing. Under --root nothing is checked: a tree is an
image being prepared for another machine's init.

The units ``setup-server`` renders go through the real ``systemd-analyze verify``
(which loads them the way PID 1 would, without needing systemd to run here).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from dialup_admin.errors import BadInput
from dialup_admin.paths import Paths
from dialup_admin.system import services
from tests.support.tool import RunCli, run_tool

SYSTEMD_PID1 = Path("/run/systemd/system").is_dir()
root_only = pytest.mark.skipif(os.geteuid() != 0, reason="setup-server on the running machine needs root")


def _refusal(*args: str) -> tuple[int, str, str]:
    proc = run_tool("setup-server", "--tty", "ttyS1", *args, "--dry-run")
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


@root_only
def test_init_systemd_where_systemd_is_not_pid1_is_refused_in_one_line() -> None:
    if SYSTEMD_PID1:
        pytest.skip("systemd is PID 1 on this machine")
    code, out, err = _refusal("--init", "systemd")
    assert code == 2 and out == ""
    assert err.startswith("dialup-admin: error: --init systemd: systemd is not running here (PID 1 is ")
    assert err.count("\n") == 1 and "use --init inittab or --init none" in err
    assert services.pid1().split()[0] in err  # names what was found


@root_only
def test_init_inittab_where_no_init_reads_one_is_refused_in_one_line() -> None:
    if not SYSTEMD_PID1 and Path("/etc/inittab").is_file():
        pytest.skip("this machine's init reads /etc/inittab")
    code, out, err = _refusal("--init", "inittab")
    assert code == 2 and out == "" and err.count("\n") == 1
    if SYSTEMD_PID1:
        assert "--init inittab: PID 1 is systemd, which does not read /etc/inittab; use --init systemd" in err
    else:
        assert "--init inittab: there is no /etc/inittab here (PID 1 is " in err


def test_check_init_leaves_a_root_tree_alone(tmp_path: Path) -> None:
    for init in ("systemd", "inittab", "none"):
        services.check_init(Paths(tmp_path), init)  # an image: its init is not running here


def test_check_init_names_pid1(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services, "systemd_running", lambda paths: False)
    monkeypatch.setattr(services, "pid1", lambda: "init (/usr/sbin/init)")
    with pytest.raises(BadInput, match=r"^--init systemd: systemd is not running here \(PID 1 is init "
                                       r"\(/usr/sbin/init\), no /run/systemd/system\)"):
        services.check_init(Paths(), "systemd")


# -- the rendered units, through systemd-analyze verify ---------------------------------------


def _analyze() -> str:
    found = shutil.which("systemd-analyze")
    if found is None:
        pytest.skip("systemd-analyze is not installed (apt-get install systemd)")
    return found


def _verify(unit_dir: Path, unit: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_analyze(), "verify", "--man=no", str(unit_dir / unit)], capture_output=True, text=True,
                          timeout=120)


def _ours(proc: subprocess.CompletedProcess[str], unit_dir: Path) -> list[str]:
    """Complaints about our files (systemd-analyze also reads the machine's units and may warn about them)."""
    return [ln for ln in (proc.stderr + proc.stdout).splitlines() if str(unit_dir) in ln or "mgetty@" in ln]


def test_the_mgetty_unit_passes_systemd_analyze_verify(root: Path, run: RunCli, tmp_path: Path) -> None:
    (root / "lib/systemd").mkdir(parents=True)
    (root / "lib/systemd/systemd").write_bytes(b"")
    mgetty = shutil.which("mgetty", path="/usr/sbin:/sbin")
    if mgetty is None:
        pytest.skip("mgetty is not installed (apt-get install mgetty): verify checks ExecStart= exists")
    res = run("setup-server", "--tty", "ttyS1", "--mgetty", mgetty)
    assert res.exit_code == 0, res.output
    units = tmp_path / "units"
    units.mkdir()
    shutil.copy(root / "etc/systemd/system/mgetty@.service", units / "mgetty@.service")
    proc = _verify(units, "mgetty@ttyS1.service")
    assert proc.returncode == 0 and not _ours(proc, units), proc.stderr
    # The check has teeth: the same unit with a relative ExecStart= is refused.
    broken = units / "mgetty@.service"
    broken.write_text(broken.read_text().replace(f"ExecStart={mgetty}", "ExecStart=sbin/mgetty"))
    proc = _verify(units, "mgetty@ttyS1.service")
    assert proc.returncode != 0 and _ours(proc, units), proc.stderr
