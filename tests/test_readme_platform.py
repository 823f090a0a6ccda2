"""Issue 11 items 16, 18, 19: the README's first block, its links, the Makefile's venv step."""

from __future__ import annotations

import re
from pathlib import Path

from dialup_admin.mgetty import source

REPO = Path(__file__).resolve().parent.parent
README = (REPO / "README.md").read_text()
# What debootstrap --variant=minbase installs (Priority: required): no make, no git, no python3.
MINBASE_PROGRAMS = {"apt-get", "cd", "dpkg", "sh", "bash"}


def first_block() -> list[str]:
    m = re.search(r"```sh\n(.*?)```", README, re.S)
    assert m is not None
    return [ln.split("#", 1)[0].strip() for ln in m.group(1).splitlines() if ln.split("#", 1)[0].strip()]


def test_first_block_installs_make_and_git_before_using_them() -> None:
    """On a fresh Debian 12 (minbase or default) neither make nor git is there."""
    have = set(MINBASE_PROGRAMS)
    used_make = False
    for line in first_block():
        for part in re.split(r"&&|;", line):
            words = part.split()
            if not words:
                continue
            prog = words[0]
            assert prog in have, f"{prog!r} is used before the README's first block installs it: {line}"
            if prog == "apt-get" and "install" in words:
                have.update(w for w in words[words.index("install") + 1:] if not w.startswith("-"))
            used_make |= prog == "make"
    assert used_make and {"make", "git"} <= have
    assert "make demo" in first_block() and "make test" in first_block()


def test_ci_runs_exactly_the_readmes_test_command() -> None:
    ci = (REPO / ".ci/run").read_text().splitlines()
    assert ci[-1].strip() == "make test" and "make test" in first_block()


def test_readme_links_only_files_inside_the_repository() -> None:
    refs = re.findall(r"\]\(([^)#]+)\)", README) + re.findall(r"`((?:\.\./|\./)?[^`\s]+\.md)`", README)
    for ref in refs:
        if ref.startswith(("http://", "https://", "mailto:")):
            continue
        target = (REPO / ref).resolve()
        assert target.is_relative_to(REPO), f"README links {ref}, outside the repository"
        assert target.exists(), f"README links {ref}, which does not exist"
    assert "../shared" not in README


def test_makefile_does_not_upgrade_pip_silently() -> None:
    make = (REPO / "Makefile").read_text()
    assert not re.search(r"^\t[^#@]*pip install[^\n]*--upgrade pip", make, re.M)


def test_the_apt_404_note_says_it_is_expected_in_one_line() -> None:
    stderr = (
        "W: Download is performed unsandboxed as root\n"
        "E: Failed to fetch http://deb.debian.org/debian/pool/main/m/mgetty/mgetty_1.2.1-1.2.debian.tar.xz"
        "  404  Not Found [IP: 203.0.113.80 80]\n"
        "E: Failed to fetch some archives.\n"
    )
    note = source.apt_note(100, stderr, "mgetty_1.2.1.orig.tar.gz")
    assert "\n" not in note
    assert note.startswith("apt-get exited 100 because it could not fetch mgetty_1.2.1-1.2.debian.tar.xz "
                           "(404 Not Found), Debian's own packaging: expected")
    assert "the build uses only mgetty_1.2.1.orig.tar.gz, which was fetched and matches Debian's .dsc" in note
