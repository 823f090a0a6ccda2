"""setup-server --radius under --root: the files pppd's radius.so reads, modes, faults, undo."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from tests.support.tool import RunCli, run_tool
from tests.support.trees import snapshot

GOLDEN = Path(__file__).parent / "golden" / "radius-nas"
BASE = ["setup-server", "--tty", "ttyS1", "--tty", "ttyS3", "--init", "inittab", "--mgetty", "/sbin/mgetty"]
RADIUS_FILES = ("etc/ppp/radius/radiusclient.conf", "etc/ppp/radius/servers", "etc/ppp/radius/dictionary",
                "etc/ppp/radius/port-id-map", "etc/ppp/options.ttyS1", "etc/ppp/options.ttyS3")


def secret_file(tmp_path: Path, data: bytes = b"Pool-Secret-42\n", mode: int = 0o600) -> str:
    p = tmp_path / "radius.secret"
    p.write_bytes(data)
    p.chmod(mode)
    return str(p)


@pytest.fixture
def named_root(root: Path) -> Path:
    (root / "etc").mkdir()
    (root / "etc/hostname").write_text("nas1\n")
    return root


def radius_args(tmp_path: Path, *extra: str) -> list[str]:
    return [*BASE, "--radius", "127.0.0.1", "--radius", "localhost:1814", "--radius-secret-file",
            secret_file(tmp_path), *extra]


def test_golden_files(named_root: Path, run: RunCli, tmp_path: Path) -> None:
    res = run(*radius_args(tmp_path))
    assert res.exit_code == 0, res.output
    assert "callers are checked by RADIUS: 127.0.0.1, localhost:1814 (as nas1)" in res.output
    for name in RADIUS_FILES:
        golden = GOLDEN / name.replace("/", "__")
        if os.environ.get("UPDATE_GOLDEN"):
            golden.parent.mkdir(exist_ok=True)
            golden.write_bytes((named_root / name).read_bytes())
        assert (named_root / name).read_bytes() == golden.read_bytes(), name
    modes = {name: stat.S_IMODE(os.stat(named_root / name).st_mode) for name in RADIUS_FILES}
    assert modes["etc/ppp/radius/radiusclient.conf"] == 0o600
    assert modes["etc/ppp/radius/servers"] == 0o600
    st = os.stat(named_root / "etc/ppp/radius/servers")
    assert (st.st_uid, st.st_gid) == (0, 0)
    state = json.loads((named_root / "etc/dialup-admin/server.json").read_text())
    assert state["radius"]["servers"] == ["127.0.0.1", "localhost:1814"]
    assert "Pool-Secret-42" not in json.dumps(state)
    # login.config is unchanged: pppd itself, radius.so comes from options.TTY.
    assert "/usr/sbin/pppd auth -chap +pap login debug" in (named_root / "etc/mgetty/login.config").read_text()


def test_plugin_lines_follow_pppd_rules(named_root: Path, run: RunCli, tmp_path: Path) -> None:
    """radius-config-file and map-to-ttyname exist only once the plugin is loaded: plugin comes first."""
    assert run(*radius_args(tmp_path)).exit_code == 0
    words = [ln.split()[0] for ln in (named_root / "etc/ppp/options.ttyS1").read_text().splitlines()
             if ln.strip() and not ln.startswith("#")]
    assert words.index("plugin") < words.index("radius-config-file") < words.index("map-to-ttyname")
    conf = (named_root / "etc/ppp/radius/radiusclient.conf").read_bytes()
    assert conf.endswith(b"\n")  # rc_read_config cuts the last byte of every line
    for line in conf.decode().splitlines():
        # rc_read_config: a comment only at column 0; every keyword has a value.
        assert line.startswith("#") or len(line.split("\t")) == 2, line


def test_second_run_keeps_radius_and_changes_nothing(named_root: Path, run: RunCli, tmp_path: Path) -> None:
    assert run(*radius_args(tmp_path)).exit_code == 0
    before = snapshot(named_root)
    res = run(*BASE)  # no --radius: kept, secret read back from the servers file
    assert res.exit_code == 0, res.output
    assert "Nothing to change" in res.output
    assert snapshot(named_root) == before


def test_diff_hides_the_secret(named_root: Path, run: RunCli, tmp_path: Path) -> None:
    res = run(*radius_args(tmp_path), "--dry-run", "--diff")
    assert res.exit_code == 0, res.output
    assert "+++ /etc/ppp/radius/servers" in res.output
    assert "Pool-Secret-42" not in res.output
    assert "127.0.0.1\t********" in res.output


def test_no_radius_removes_everything_and_rollback_restores(named_root: Path, run: RunCli, tmp_path: Path) -> None:
    assert run(*radius_args(tmp_path)).exit_code == 0
    with_radius = snapshot(named_root)
    res = run(*BASE, "--no-radius")
    assert res.exit_code == 0, res.output
    for name in RADIUS_FILES[:4]:
        assert not (named_root / name).exists(), name
    assert "plugin" not in (named_root / "etc/ppp/options.ttyS1").read_text()
    assert "radius" not in json.loads((named_root / "etc/dialup-admin/server.json").read_text())
    assert run("rollback").exit_code == 0
    after = snapshot(named_root)
    assert {k: v for k, v in after.items() if "journal" not in k} == \
        {k: v for k, v in with_radius.items() if "journal" not in k}


def test_fallback_local(named_root: Path, run: RunCli, tmp_path: Path) -> None:
    res = run(*radius_args(tmp_path, "--radius-fallback", "local"))
    assert res.exit_code == 0, res.output
    login = (named_root / "etc/mgetty/login.config").read_text()
    assert "/AutoPPP/ -\tppp\t/etc/ppp/radius/pppd auth -chap +pap login debug" in login
    wrapper = named_root / "etc/ppp/radius/pppd"
    assert stat.S_IMODE(wrapper.stat().st_mode) == 0o755
    text = wrapper.read_text()
    assert 'exec /usr/sbin/pppd "$@" file "/etc/ppp/radius/options.$line"' in text
    assert "-m dialup_admin.system.radius_probe /etc/ppp/radius/radiusclient.conf" in text
    assert "plugin radius.so" in (named_root / "etc/ppp/radius/options.ttyS1").read_text()
    assert "plugin" not in (named_root / "etc/ppp/options.ttyS1").read_text()
    # Back to plain RADIUS: the wrapper and its per-line files go, login.config names pppd again.
    res = run(*BASE, "--radius-fallback", "none")
    assert res.exit_code == 0, res.output
    assert not wrapper.exists() and not (named_root / "etc/ppp/radius/options.ttyS1").exists()
    assert "plugin radius.so" in (named_root / "etc/ppp/options.ttyS1").read_text()


def test_wrapper_is_valid_shell(named_root: Path, run: RunCli, tmp_path: Path) -> None:
    assert run(*radius_args(tmp_path, "--radius-fallback", "local")).exit_code == 0
    proc = run_tool("--version")  # the tool runs; now the wrapper parses under sh -n
    assert proc.returncode == 0
    import subprocess

    assert subprocess.run(["/bin/sh", "-n", str(named_root / "etc/ppp/radius/pppd")]).returncode == 0


FAULTS = [
    (b"Pool-Secret-42\n", 0o644, "readable or writable by others (mode 0644)"),
    (b"Pool-Secret-42\n", 0o640, "readable or writable by others (mode 0640)"),
    (b"Pool-Secret\n42\n", 0o600, "holds a line break"),
    (b"Pool-Secret\r\n", 0o600, "holds a line break"),
    (b"Pool-\0Secret-42", 0o600, "holds a NUL byte"),
    (b"Pool Secret 42\n", 0o600, "blanks, control or non-ASCII"),
    (b"", 0o600, "the file is empty"),
    (b"short\n", 0o600, "shorter than 8"),
    (b"x" * 49, 0o600, "keeps only 48"),
]


@pytest.mark.parametrize("data,mode,message", FAULTS, ids=[f[2] for f in FAULTS])
def test_bad_secret_file_refused(named_root: Path, tmp_path: Path, data: bytes, mode: int, message: str) -> None:
    before = snapshot(named_root)
    proc = run_tool("--root", str(named_root), *BASE, "--radius", "127.0.0.1", "--radius-secret-file",
                    secret_file(tmp_path, data, mode))
    err = proc.stderr.decode()
    assert proc.returncode != 0
    assert message in err, err
    assert len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err and "Pool-Secret" not in err
    assert snapshot(named_root) == before


BAD_INPUT = [
    (["--radius", "no-such-host.invalid"], "the name does not resolve"),
    (["--radius", "127.0.0.1", "--radius", "does-not-exist.invalid:1812"], "the name does not resolve"),
    (["--radius", "[::1]:1812"], "IPv4 only"),
    (["--radius", "127.0.0.1:0"], "bad --radius port"),
    (["--radius", "127.0.0.1:99999"], "bad --radius port"),
    (["--radius", "bad_host!"], "bad --radius host"),
    (["--radius", "127.0.0.1", "--radius", "127.0.0.1"], "given twice"),
    (["--radius", "127.0.0.1", "--no-radius"], "--no-radius turns RADIUS off"),
    (["--radius-fallback", "local"], "need --radius HOST"),
]


@pytest.mark.parametrize("args,message", BAD_INPUT, ids=[" ".join(a) for a, _ in BAD_INPUT])
def test_bad_radius_input(named_root: Path, tmp_path: Path, args: list[str], message: str) -> None:
    before = snapshot(named_root)
    proc = run_tool("--root", str(named_root), *BASE, *args, "--radius-secret-file", secret_file(tmp_path))
    err = proc.stderr.decode()
    assert proc.returncode != 0
    assert message in err, err
    assert len(err.strip().splitlines()) == 1, err
    assert snapshot(named_root) == before


def test_secret_needed_the_first_time(named_root: Path) -> None:
    before = snapshot(named_root)
    proc = run_tool("--root", str(named_root), *BASE, "--radius", "127.0.0.1")
    assert proc.returncode == 2
    assert b"--radius-secret-file FILE" in proc.stderr
    assert snapshot(named_root) == before


def test_missing_and_symlinked_secret_file(named_root: Path, tmp_path: Path) -> None:
    target = secret_file(tmp_path)
    link = tmp_path / "link.secret"
    link.symlink_to(target)
    for path, message in ((str(tmp_path / "nope"), "no such file"), (str(link), "symbolic link"),
                          (str(tmp_path), "not a regular file")):
        proc = run_tool("--root", str(named_root), *BASE, "--radius", "127.0.0.1", "--radius-secret-file", path)
        assert proc.returncode == 2 and message in proc.stderr.decode(), proc.stderr


def test_port_ids() -> None:
    from dialup_admin.radius.model import port_ids

    assert port_ids(["ttyS1", "ttyS3"]) == {"ttyS1": 1, "ttyS3": 3}
    assert port_ids(["ttyS1", "ttyUSB1"]) == {"ttyS1": 1, "ttyUSB1": 2}
    assert port_ids(["ttyS0", "modem"]) == {"ttyS0": 1, "modem": 2}
