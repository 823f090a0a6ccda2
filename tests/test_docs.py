"""Man pages and shell completion, generated from the click commands.

The pages must say what ``--help`` says and what the README says each command writes; the
completion scripts are click's, driven here the way bash drives them (COMP_WORDS).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest

from dialup_admin.cli import REGISTRY, cli
from dialup_admin.completion import dialin_users, port_paths, tty_names
from dialup_admin.docs import completions, manpages
from dialup_admin.docs.__main__ import write
from dialup_admin.docs.facts import FACTS, JOURNAL, RUN_LOCK
from dialup_admin.paths import Paths
from tests.support.tool import REPO

PLACEHOLDERS = ("TTY", "NAME", "PREFIX", "PORT", "USER")


def readme_sections() -> dict[str, str]:
    """{command: the text of the README section whose heading names it}."""
    text = (REPO / "README.md").read_text()
    parts = re.split(r"^(### .*)$", text, flags=re.M)
    out: dict[str, str] = {}
    for head, body in zip(parts[1::2], parts[2::2]):
        body = body.split("\n## ")[0]
        for name in re.findall(r"[a-z][a-z-]+", head[4:].split(":")[0]):
            out[name] = head + body
    return out


def path_pattern(path: str) -> str:
    out = re.escape(path)
    for ph in PLACEHOLDERS:
        out = out.replace(ph, r"\S*")
    return out


def test_facts_cover_every_command() -> None:
    assert set(FACTS) == set(REGISTRY)


def test_readme_names_every_file_a_page_lists() -> None:
    """The man pages' FILES come from facts.py; each path there is in the command's README section."""
    sections = readme_sections()
    readme = (REPO / "README.md").read_text()
    assert JOURNAL in readme and RUN_LOCK in readme
    missing = []
    for cmd, facts in FACTS.items():
        section = sections[cmd]
        for w in facts.writes:
            for part in w.path.split(", "):
                part = part.split(" (")[0]
                if part in (JOURNAL, RUN_LOCK) or not part.startswith(("/", "PREFIX")):
                    continue
                # README tables shorten lists of files: "/etc/passwd, shadow", "ip-up.d/x, ip-down.d/x"
                tails = (part, "/".join(part.split("/")[-2:]), part.rsplit("/", 1)[-1])
                if not any(re.search(path_pattern(t), section) for t in tails):
                    missing.append(f"{cmd}: {part}")
    assert not missing, missing


def test_setup_server_table_is_in_the_page() -> None:
    """Every file of the README's setup-server "Writes" table is in its FILES section."""
    section = readme_sections()["setup-server"]
    table = [ln for ln in section.splitlines() if ln.startswith("| `/etc") or ln.startswith("| or `/etc")]
    page = manpages.command_page(cli, "setup-server", REGISTRY["setup-server"][1], FACTS["setup-server"])
    files = unescape(page.split(".SH FILES")[1].split(".SH UNDO")[0])
    paths = [p for ln in table for p in re.findall(r"`(/etc/[^`]+)`", ln.split("|")[1])]
    assert len(paths) >= 10
    for p in paths:
        assert re.search(path_pattern(p.replace("ttyS1", "TTY")), files), p


def unescape(roff: str) -> str:
    return roff.replace("\\-", "-").replace("\\e", "\\").replace("\\&", "")


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_page_says_what_help_says(name: str) -> None:
    page = unescape(manpages.command_page(cli, name, REGISTRY[name][1], FACTS[name]))
    ctx = manpages.root_context(cli)
    cmd = cli.get_command(ctx, name)
    assert cmd is not None
    sub = click.Context(cmd, info_name=name, parent=ctx)
    for param in cmd.get_params(sub):
        record = param.get_help_record(sub)
        if record is not None:
            assert record[0] in page, record[0]
            assert " ".join(record[1].split()) in page.replace("\n", " "), record[1]
        elif isinstance(param, click.Argument):
            assert param.make_metavar() in page.split(".SH SYNOPSIS")[1].split(".SH")[0]
    for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "FILES", "UNDO", "EXIT STATUS", "SEE ALSO"):
        assert f".SH {section}\n" in page
    assert f"dialup-admin-{name} - " in page


def test_main_page_lists_commands_and_global_options() -> None:
    pages = manpages.all_pages()
    assert set(pages) == {"dialup-admin.8", *(f"dialup-admin-{n}.8" for n in REGISTRY)}
    main = unescape(pages["dialup-admin.8"])
    for name in REGISTRY:
        assert f"dialup-admin-{name}\\fR(8)" in main
    for opt in ("--root DIR", "--dry-run", "--diff", "--json", "--version", "-h, --help"):
        assert opt in main
    assert "/var/lib/dialup-admin/" in main and ".SH UNDO" in main


def test_pages_are_reproducible(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    assert '"2023-11-14"' in manpages.all_pages()["dialup-admin.8"].splitlines()[0]


def test_roff_escapes() -> None:
    assert manpages.esc(".start\n'quote\nback\\slash -x") == "\\&.start\n\\&'quote\nback\\eslash \\-x"


@pytest.mark.skipif(shutil.which("man") is None, reason="man-db is not installed")
def test_pages_render_without_warnings(tmp_path: Path) -> None:
    write(tmp_path)
    for page in sorted((tmp_path / "usr/share/man/man8").iterdir()):
        out = subprocess.run(["man", "--warnings", "-l", "-Tutf8", str(page)], capture_output=True, text=True,
                             env={**os.environ, "MANWIDTH": "80", "LC_ALL": "C.UTF-8"})
        assert out.returncode == 0 and out.stderr == "", (page.name, out.stderr)
        text = re.sub(".\x08", "", out.stdout)  # man's overstrike for bold
        assert "FILES" in text and "UNDO" in text


# --- completion ---------------------------------------------------------------------------


@pytest.fixture
def ports_root(tmp_path: Path) -> Path:
    """A --root tree with serial ports: ttyS1 has a UART, ttyS0/ttyS2 none, a USB modem by id."""
    r = tmp_path / "r"
    (r / "dev/serial/by-id").mkdir(parents=True)
    for n in ("ttyS0", "ttyS1", "ttyS2", "ttyS10", "ttyUSB0", "ttyACM0", "ttyAMA0", "tty1", "null"):
        (r / "dev" / n).touch()
    for n, kind in (("ttyS0", "0"), ("ttyS1", "4"), ("ttyS10", "4")):
        (r / "sys/class/tty" / n).mkdir(parents=True)
        (r / "sys/class/tty" / n / "type").write_text(kind + "\n")
    (r / "dev/serial/by-id/usb-USRobotics_56K_Faxmodem-if00").symlink_to("../../ttyUSB0")
    (r / "etc/ppp").mkdir(parents=True)
    (r / "etc/ppp/pap-secrets").write_text(
        'root * "*" -\n# a comment\ndreamcast * @login 192.168.32.12\nmailstation * @login *\n'
        'ppp dialup "client-secret"\n')
    (r / "etc/group").write_text("root:x:0:\nppp:x:3000:extra\n")
    (r / "etc/passwd").write_text("root:x:0:0::/root:/bin/bash\nppp:x:3000:3000::/home/ppp:/bin/false\n"
                                  "oob:x:1001:3000::/home/oob:/bin/false\nalice:x:1002:1002::/home/alice:/bin/bash\n")
    return r


def test_tty_names_and_ports(ports_root: Path) -> None:
    paths = Paths(ports_root)
    assert tty_names(paths) == ["ttyS1", "ttyS10", "ttyUSB0", "ttyACM0", "ttyAMA0"]
    assert port_paths(paths)[:2] == ["/dev/serial/by-id/usb-USRobotics_56K_Faxmodem-if00", "/dev/ttyS1"]


def test_dialin_users_from_pap_secrets_else_group(ports_root: Path) -> None:
    paths = Paths(ports_root)
    assert dialin_users(paths) == ["dreamcast", "mailstation", "ppp"]
    (ports_root / "etc/ppp/pap-secrets").unlink()  # as unreadable for a user: the group ppp instead
    assert dialin_users(paths) == ["extra", "oob", "ppp"]


def bash_complete(script: Path, words: list[str], tmp_path: Path) -> list[str]:
    """What bash offers after ``words`` (the last one being completed), from the real script."""
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    tool = bindir / "dialup-admin"
    tool.write_text(f'#!/bin/sh\nexec {sys.executable} -m dialup_admin "$@"\n')
    tool.chmod(0o755)
    probe = ('source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=();'
             ' _dialup_admin_completion dialup-admin; printf "%s\\n" "${COMPREPLY[@]}"')
    out = subprocess.run(["bash", "-c", probe, "probe", str(script), *words], capture_output=True, text=True,
                         env={**os.environ, "PATH": f"{bindir}:{os.environ['PATH']}"}, cwd=REPO, timeout=60)
    assert out.returncode == 0 and out.stderr == "", out.stderr
    return [ln for ln in out.stdout.splitlines() if ln]


def test_bash_completion_script(tmp_path: Path, ports_root: Path) -> None:
    write(tmp_path / "dest")
    script = tmp_path / "dest" / completions.INSTALL_PATHS["bash"]
    r = str(ports_root)
    assert bash_complete(script, ["dialup-admin", "setup-s"], tmp_path) == ["setup-server"]
    assert "--tty" in bash_complete(script, ["dialup-admin", "setup-server", "--t"], tmp_path)
    assert bash_complete(script, ["dialup-admin", "--root", r, "setup-server", "--tty", ""], tmp_path) == [
        "ttyS1", "ttyS10", "ttyUSB0", "ttyACM0", "ttyAMA0"]
    assert bash_complete(script, ["dialup-admin", "--root", r, "setup-server", "--tty", "ttyS1="], tmp_path) == []
    assert bash_complete(script, ["dialup-admin", "--root", r, "test-modem", ""], tmp_path)[0] == \
        "/dev/serial/by-id/usb-USRobotics_56K_Faxmodem-if00"
    assert bash_complete(script, ["dialup-admin", "--root", r, "terminal", "ttyU"], tmp_path) == ["ttyUSB0"]
    assert bash_complete(script, ["dialup-admin", "--root", r, "logs", "ttyA"], tmp_path) == ["ttyACM0", "ttyAMA0"]
    assert bash_complete(script, ["dialup-admin", "--root", r, "deluser", ""], tmp_path) == [
        "dreamcast", "mailstation", "ppp"]
    assert bash_complete(script, ["dialup-admin", "--root", r, "passwd", "m"], tmp_path) == ["mailstation"]


def test_completion_of_a_damaged_tree_offers_nothing(tmp_path: Path, ports_root: Path) -> None:
    write(tmp_path / "dest")
    script = tmp_path / "dest" / completions.INSTALL_PATHS["bash"]
    (ports_root / "etc/ppp/pap-secrets").write_bytes(b'\xff\xfe"unterminated\n\x00')
    (ports_root / "dev").chmod(0o000)
    try:
        bash_complete(script, ["dialup-admin", "--root", str(ports_root), "deluser", ""], tmp_path)
        assert bash_complete(script, ["dialup-admin", "--root", str(tmp_path / "absent"), "setup-server",
                                      "--tty", ""], tmp_path) == []
    finally:
        (ports_root / "dev").chmod(0o755)


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_scripts(shell: str) -> None:
    text = completions.script(shell)
    assert completions.COMPLETE_VAR in text and f"{shell}_complete" in text


def test_tab_after_the_program_name_imports_no_command() -> None:
    """Every Tab starts the program: command names come from the registry, not from importing all."""
    probe = ("import sys, click; from dialup_admin.cli import cli;"
             " items = cli.shell_complete(click.Context(cli, info_name='dialup-admin'), '');"
             " print(len(items), sorted(m for m in sys.modules if m.startswith('dialup_admin.commands.')))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.split(" ", 1) == [str(len(REGISTRY)), "[]\n"]
