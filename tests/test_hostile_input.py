"""Issue 11 items 8 to 13: values the campaign got through, now refused in one line.

Each refusal: one line on stderr, a non-zero status that is not 70, nothing written.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.support.hostile import MGETTY, PW, copy_tree, ok, refusal, server_tree
from tests.support.tool import run_tool
from tests.support.trees import snapshot

@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return server_tree(tmp_path_factory.mktemp("input") / "root")


@pytest.fixture
def tree(base: Path, tmp_path: Path) -> Path:
    return copy_tree(base, tmp_path)


def setup(root: Path, *args: str, **kw: object) -> str:
    return refusal("--root", str(root), "setup-server", "--init", "none", "--mgetty", MGETTY, *args,
                   watch=(root,), **kw)  # type: ignore[arg-type]


# --- item 8: pools and pairs ------------------------------------------------------------

POOLS = ["127.0.0.0/8", "224.0.0.0/24", "240.0.0.0/24", "0.0.0.0/24", "0.0.0.0/0", "169.254.0.0/16",
         "255.255.255.0/24", "127.0.0.0/24", "239.255.255.0/24"]


@pytest.mark.parametrize("pool", POOLS)
def test_unusable_pools_are_refused(tree: Path, pool: str) -> None:
    err = setup(tree, "--tty", "ttyS3", "--pool", pool, expect="is not usable for callers")
    assert "use a private network such as 192.168.32.0/24" in err
    assert not (tree / "etc/ppp/options.ttyS3").exists()


@pytest.mark.parametrize("pair,what", [("192.168.32.0:192.168.32.1", "network address"),
                                       ("192.168.32.254:192.168.32.255", "broadcast address"),
                                       ("10.1.1.1:10.1.1.2", "outside the pool")])
def test_pairs_on_the_pools_network_or_broadcast_address_are_refused(tree: Path, pair: str, what: str) -> None:
    setup(tree, "--tty", f"ttyS3={pair}", expect=what)


def test_a_new_pool_names_the_static_addresses_it_leaves_outside(tree: Path) -> None:
    ok("--root", str(tree), "adduser", "dreamcast", "--password-stdin", "--ip", "192.168.32.50", input=PW)
    proc = ok("--root", str(tree), "setup-server", "--tty", "ttyS1", "--init", "none", "--mgetty", MGETTY,
              "--pool", "10.7.0.0/24")
    out = proc.stdout.decode()
    assert "dreamcast's static address 192.168.32.50 is outside the pool 10.7.0.0/24" in out, out
    assert b"10.7.0.1:10.7.0.2" in (tree / "etc/ppp/options.ttyS1").read_bytes()


# --- item 9: consoles are no dial-in lines -----------------------------------------------


@pytest.mark.parametrize("tty", ["console", "tty0", "tty", "tty12", "/dev/tty1", "ptmx", "null"])
def test_consoles_are_no_dialin_lines(tree: Path, tty: str) -> None:
    setup(tree, "--tty", tty, expect="not a modem line")


# --- item 10: --mgetty must be mgetty ------------------------------------------------------


def _mgetty_impostor(root: Path, kind: str) -> str:
    path = root / "opt/bin/fake"
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"script": b"#!/bin/sh\nexec /sbin/mgetty \"$@\"\n", "empty": b"", "junk": os.urandom(4096),
            "elf-no-version": b"\x7fELF\x02\x01\x01" + b"\0" * 64}[kind]
    path.write_bytes(data)
    path.chmod(0o755)
    return "/opt/bin/fake"


@pytest.mark.parametrize("kind", ["script", "empty", "junk", "elf-no-version"])
def test_mgetty_that_is_not_mgetty_is_refused(tree: Path, kind: str) -> None:
    binary = _mgetty_impostor(tree, kind)
    refusal("--root", str(tree), "setup-server", "--tty", "ttyS1", "--init", "none", "--mgetty", binary,
            watch=(tree,), expect="is not mgetty")


def test_mgetty_passwd_is_refused(tree: Path) -> None:
    refusal("--root", str(tree), "setup-server", "--tty", "ttyS1", "--init", "none", "--mgetty", "/etc/passwd",
            watch=(tree,), expect="/etc/passwd is not mgetty")


def test_mgetty_not_executable_is_refused(tree: Path) -> None:
    b = tree / "opt/mgetty"
    b.parent.mkdir(parents=True)
    shutil.copy(MGETTY, b)
    b.chmod(0o644)
    setup_args = ("--tty", "ttyS1")
    refusal("--root", str(tree), "setup-server", *setup_args, "--init", "none", "--mgetty", "/opt/mgetty",
            watch=(tree,), expect="is not executable")


# --- item 11: setup-client and passwords ------------------------------------------------

CLIENT = ("setup-client", "--device", "ttyS0", "--user", "ppp", "--password-stdin")


@pytest.mark.parametrize("number,why", [("ATDT11", "give the number alone"), ("atdt 5551234", "give the number alone"),
                                        ("W", "no digit"), ("!", "no digit"), ("@", "no digit"),
                                        ("abc", "no digit"), (",,,", "no digit")])
def test_numbers_that_cannot_be_dialled_are_refused(tree: Path, number: str, why: str) -> None:
    refusal("--root", str(tree), *CLIENT, "--number", number, input=PW, watch=(tree,), expect=why)


@pytest.mark.parametrize("device", ["/dev/null", "/dev/zero", "/dev/console", "tty0", "/dev/tty"])
def test_devices_that_are_no_modem_are_refused(tree: Path, device: str) -> None:
    args = ("setup-client", "--device", device, "--number", "11", "--user", "ppp", "--password-stdin")
    refusal("--root", str(tree), *args, input=PW, watch=(tree,), expect="not a modem")


def test_a_password_of_spaces_is_refused_by_setup_client(tree: Path) -> None:
    refusal("--root", str(tree), *CLIENT, "--number", "11", input=b"      \n", watch=(tree,), expect="only blanks")


def test_a_password_of_spaces_is_refused_by_adduser(tree: Path) -> None:
    refusal("--root", str(tree), "adduser", "dreamcast", "--password-stdin", "--allow-weak", input=b"          \n",
            watch=(tree,), expect="only spaces")


# --- item 12: timeouts, speeds, huge figures --------------------------------------------


@pytest.mark.parametrize("value", ["inf", "nan", "-inf", "1e400", "0", "-1"])
@pytest.mark.parametrize("command", [("test-modem", "/dev/ttyS0"), ("detect",), ("dial",), ("hangup",)])
def test_timeouts_must_be_finite_seconds(tree: Path, value: str, command: tuple[str, ...]) -> None:
    refusal("--root", str(tree), *command, "--timeout", value, watch=(tree,), expect="is not a number of seconds")


def test_detect_speed_zero_is_refused(tree: Path) -> None:
    refusal("--root", str(tree), "detect", "--speed", "0", "--port", "/dev/null", watch=(tree,),
            expect="0 is not a speed")


def test_huge_figures_in_sessions_log_are_skipped_lines(tree: Path) -> None:
    log = tree / "var/log/dialup-admin/sessions.log"
    log.parent.mkdir(parents=True)
    tag = "dialup-admin/1"
    good = f"{tag}\tup\t1700000000\t42\tppp0\tttyS1\tdc\t192.168.32.1\t192.168.32.2\n"
    log.write_text(
        good
        + f"{tag}\tup\t{'9' * 40}\t43\tppp1\tttyS1\tdc\t192.168.32.1\t192.168.32.2\n"
        + f"{tag}\tdown\t1700000100\t42\tppp0\tttyS1\tdc\t192.168.32.1\t192.168.32.2\t{'9' * 30}\t{'9' * 400}\t1\n"
        + f"{tag}\tup\t99999999999999\t44\tppp2\tttyS1\tdc\t192.168.32.1\t192.168.32.2\n"
        + f"{tag}\tup\t1700000000\t{'9' * 25}\tppp3\tttyS1\tdc\t192.168.32.1\t192.168.32.2\n"
    )
    for args in (("sessions",), ("sessions", "--json")):
        proc = run_tool("--root", str(tree), *args)
        out = (proc.stdout + proc.stderr).decode()
        assert proc.returncode == 0 and "Traceback" not in out and "internal error" not in out, out
        assert "unreadable line(s)" in proc.stderr.decode()


# --- item 13: paths with '..' --------------------------------------------------------


def test_mgetty_path_with_dotdot_is_refused(tree: Path) -> None:
    setup(tree, "--tty", "ttyS1", "--mgetty", "/usr/../sbin/mgetty", expect="a plain absolute path (no '..')")


@pytest.mark.parametrize("binary", ["/usr/../sbin/mgetty", "../../etc/passwd", "relative/mgetty", "/sbin/mgetty x"])
@pytest.mark.parametrize("command", ["doctor", "setup-server", "logs"])
def test_paths_in_server_json_with_dotdot(tree: Path, binary: str, command: str) -> None:
    import json

    state = tree / "etc/dialup-admin/server.json"
    data = json.loads(state.read_text())
    data["mgetty_binary"] = binary
    state.write_text(json.dumps(data))
    before = snapshot(tree)
    args = {"doctor": ("doctor",), "setup-server": ("setup-server", "--tty", "ttyS1", "--init", "none"),
            "logs": ("logs", "ttyS1")}[command]
    proc = run_tool("--root", str(tree), *args)
    out = (proc.stdout + proc.stderr).decode()
    assert proc.returncode not in (0, 70) and "Traceback" not in out and "internal error" not in out, out
    assert "server.json is damaged" in out and "server.json.bad" in out, out
    assert snapshot(tree) == before
