"""Issue 11: a property test over the CLI's inputs under --root (hypothesis).

Any command the tool confines to a ``--root`` tree, with option values drawn from what the
hostile-input campaign used (and arbitrary text): never an internal error or a traceback;
a refusal (non-zero exit) prints at most two lines on stderr and changes no file of the
tree; nothing beside the tree ever changes. Commands that talk to this machine's ports or
processes (test-modem, detect, dial, hangup, terminal, simulate-line, lab, build-mgetty)
are left out: they would probe real devices.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dialup_admin.cli import cli
from tests.support.accounts import make_db
from tests.support.hostile import MGETTY, ok
from tests.support.tool import cli_runner
from tests.support.trees import snapshot

NASTY = [
    "", " ", "-", "--", "--root", "..", ".", "/", "../../etc/passwd", "/etc/passwd", "/usr/../sbin/mgetty",
    "/dev/null", "/dev/tty0", "console", "tty", "tty0", "ttyS1", "ttyS3", "ttyS1=192.168.32.1:192.168.32.2",
    "ttyS1=192.168.32.0:192.168.32.1", "inf", "nan", "-inf", "-1", "0", "1", "1e400", "99999999999999999999999",
    "0x10", "127.0.0.1", "0.0.0.0/0", "127.0.0.0/8", "224.0.0.0/24", "169.254.0.0/16", "255.255.255.255",
    "192.168.32.0/24", "192.168.32.255", "192.168.32.7", "10.0.0.0/30", "ATDT11", "W", "!", "@", "abc",
    "\u00b2", "\u00e9t\u00e9", "a\nb", "a\tb", "a b", "*", "@login", '"', "'", "\\", "$(id)", "`id`", ";rm -rf /",
    "%s%n", "x" * 300, "dreamcast", "ppp", "fax", "root", "inittab", "systemd", "none", "auto", "eth0",
    "57600", "115200", "/sbin/mgetty", "dialup",
]
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30)
VALUE = st.one_of(st.sampled_from(NASTY), TEXT)

# command -> (number of arguments, options with a value, flags)
SPEC: dict[str, tuple[int, list[str], list[str]]] = {
    "setup-server": (0, ["--tty", "--tty", "--pool", "--dns", "--speed", "--mgetty", "--init", "--share-internet",
                         "--ppp-uid", "--ppp-gid", "--fax-uid", "--debug", "--login-time", "--answer-chat-timeout"],
                     ["--force", "--no-accounts", "--no-share-internet", "--proxyarp", "--dry-run", "--diff"]),
    "adduser": (1, ["--ip", "--uid"], ["--force", "--allow-weak", "--generate-password", "--dry-run", "--json"]),
    "passwd": (1, [], ["--allow-weak", "--generate-password", "--dry-run"]),
    "deluser": (1, [], ["--dry-run"]),
    "users": (0, [], ["--json"]),
    "doctor": (0, [], ["--json", "-v"]),
    "sessions": (0, [], ["--active", "--json"]),
    "logs": (1, ["-n"], []),
    "setup-client": (0, ["--device", "--number", "--user", "--peer", "--speed", "--init", "--connect-timeout"],
                     ["--new-password", "--force", "--dry-run", "--diff"]),
    "rollback": (0, [], ["--dry-run"]),
    "mgetty-info": (0, ["--mgetty"], ["--json"]),
}
NEEDS_PASSWORD = {"adduser", "passwd", "setup-client"}  # always --password-stdin: no prompt on stderr
# A valid call each hostile value is added to, half of the time, so that it reaches deep.
VALID: dict[str, list[str]] = {
    "setup-server": ["--tty", "ttyS1", "--init", "none", "--mgetty", MGETTY],
    "adduser": ["newcomer"],
    "passwd": ["dreamcast"],
    "deluser": ["dreamcast"],
    "logs": ["ttyS1"],
    "setup-client": ["--device", "ttyS0", "--number", "11"],
}


@st.composite
def invocations(draw: st.DrawFn) -> tuple[list[str], bytes]:
    name = draw(st.sampled_from(sorted(SPEC)))
    nargs, options, flags = SPEC[name]
    if name in VALID and draw(st.booleans()):
        args = list(VALID[name])
    else:
        args = [draw(VALUE) for _ in range(nargs)]
    for opt in draw(st.lists(st.sampled_from(options), max_size=4)) if options else []:
        args += [opt, draw(VALUE)]
    args += draw(st.lists(st.sampled_from(flags), max_size=2, unique=True)) if flags else []
    if name in NEEDS_PASSWORD:
        args.append("--password-stdin")
    stdin = draw(st.one_of(st.just(b"s3cret-Pw\n"), st.binary(max_size=40), TEXT.map(lambda t: t.encode())))
    return [name, *args], stdin


def test_no_internal_error_and_refusals_change_nothing(tmp_path: Path) -> None:
    base = tmp_path / "base"
    make_db(base)
    ok("--root", str(base), "setup-server", "--tty", "ttyS1", "--init", "inittab", "--mgetty", MGETTY)
    ok("--root", str(base), "adduser", "dreamcast", "--password-stdin", "--ip", "192.168.32.7", input=b"s3cret-Pw\n")
    root, outside = tmp_path / "root", tmp_path / "outside"
    shutil.copytree(base, root, symlinks=True)
    outside.mkdir()
    (outside / "victim").write_text("precious\n")
    runner = cli_runner()
    seen: dict[str, int] = {}

    @settings(max_examples=300, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(invocations(), st.booleans())
    def check(call: tuple[list[str], bytes], root_after: bool) -> None:
        argv, stdin = call
        full = [*argv, "--root", str(root)] if root_after else ["--root", str(root), *argv]
        before = snapshot(root)
        res = runner.invoke(cli, full, input=stdin, catch_exceptions=False)
        err = res.stderr
        assert res.exit_code != 70 and "internal error" not in err, (full, err)
        assert "Traceback" not in res.output, (full, res.output)
        key = f"{argv[0]} exit {res.exit_code}"
        seen[key] = seen.get(key, 0) + 1
        if res.exit_code != 0:
            assert len([ln for ln in err.splitlines() if ln.strip()]) <= 2, (full, err)
            if argv[0] != "doctor" or err:  # doctor's findings exit non-zero; it only ever reads
                assert snapshot(root) == before, (full, err)
        else:
            shutil.rmtree(root)
            shutil.copytree(base, root, symlinks=True)
        assert (outside / "victim").read_text() == "precious\n"

    check()
    print(sorted(seen.items()))
