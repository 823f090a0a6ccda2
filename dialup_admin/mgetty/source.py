"""Getting mgetty's source: a tarball, an unpacked directory, or Debian's upstream tarball.

``fetch_debian`` runs ``apt-get source --download-only mgetty`` with a *private* apt
configuration (its own sources file with one ``deb-src`` line, its own lists
directory, no package caches written), so the machine's sources and apt state are
never touched. Debian's ``.dsc`` names the upstream tarball and its SHA-256; the
tarball is accepted only when it matches, even when apt-get fails afterwards on the
Debian patch tarball (seen on mirrors that dropped it: 404, non-zero exit).
"""

from __future__ import annotations

import copy
import hashlib
import os
import re
import shutil
import sys
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from dialup_admin.errors import BadInput, UserError
from dialup_admin.paths import Paths
from dialup_admin.system import commands

DEB822_SOURCES = "/etc/apt/sources.list.d/debian.sources"
SOURCES_LIST = "/etc/apt/sources.list"
# apt must not hang for minutes on a machine without network.
APT_TIMEOUT = 300


@dataclass(frozen=True)
class AptSource:
    """One archive to ask for source packages: ``deb-src URI SUITE COMPONENT``."""

    uri: str
    suite: str
    component: str = "main"
    signed_by: str | None = None

    def line(self) -> str:
        opts = f"[signed-by={self.signed_by}] " if self.signed_by else ""
        return f"deb-src {opts}{self.uri} {self.suite} {self.component}\n"


@dataclass(frozen=True)
class Fetched:
    """What ``fetch_debian`` left in its directory."""

    tarball: Path
    dsc: Path
    sha256: str
    apt_note: str | None  # why apt-get exited non-zero, when it did but the tarball is good


# --- checksums -----------------------------------------------------------------
def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def normalise_sha256(value: str) -> str:
    v = value.strip().lower()
    if not re.fullmatch(r"[0-9a-f]{64}", v):
        raise BadInput(f"--sha256 wants 64 hex digits, not {value!r}")
    return v


def check_sha256(path: Path, expected: str) -> str:
    """Raise unless ``path`` has SHA-256 ``expected``; return the digest."""
    got = sha256_file(path)
    if got != normalise_sha256(expected):
        raise BadInput(f"{path}: SHA-256 is {got}, expected {expected.strip().lower()}; refusing to build it")
    return got


def dsc_sha256(text: str) -> dict[str, str]:
    """File name -> SHA-256 from a ``.dsc``'s ``Checksums-Sha256`` field."""
    out: dict[str, str] = {}
    in_field = False
    for line in text.splitlines():
        if line.startswith("Checksums-Sha256:"):
            in_field = True
            continue
        if in_field:
            if not line.startswith(" "):
                break
            parts = line.split()
            if len(parts) == 3 and re.fullmatch(r"[0-9a-fA-F]{64}", parts[0]):
                out[parts[2]] = parts[0].lower()
    return out


# --- which archive ---------------------------------------------------------------
def _deb822_stanzas(text: str) -> list[dict[str, str]]:
    stanzas: list[dict[str, str]] = []
    cur: dict[str, str] = {}
    key = ""
    for raw in text.splitlines() + [""]:
        if raw.startswith("#"):
            continue
        if not raw.strip():
            if cur:
                stanzas.append(cur)
            cur, key = {}, ""
            continue
        if raw[0] in " \t" and key:
            cur[key] += " " + raw.strip()
            continue
        if ":" in raw:
            key, _, value = raw.partition(":")
            key = key.strip().lower()
            cur[key] = value.strip()
    return stanzas


def _release_suite(suites: list[str]) -> str | None:
    # The release itself ("bookworm"), not its -updates/-security/-backports pockets.
    plain = [s for s in suites if "-" not in s and "/" not in s]
    return plain[0] if plain else None


def release_source(paths: Paths) -> AptSource:
    """The distro's main archive and release, read from the target's apt sources."""
    deb822 = paths.of(DEB822_SOURCES)
    if deb822.is_file():
        for st in _deb822_stanzas(deb822.read_text(errors="replace")):
            if st.get("enabled", "yes").lower() == "no" or "deb" not in st.get("types", "").split():
                continue
            suite = _release_suite(st.get("suites", "").split())
            uris = st.get("uris", "").split()
            if suite and uris:
                comps = st.get("components", "main").split()
                return AptSource(uris[0], suite, "main" if "main" in comps else comps[0], st.get("signed-by"))
    classic = paths.of(SOURCES_LIST)
    if classic.is_file():
        for line in classic.read_text(errors="replace").splitlines():
            m = re.match(r"\s*deb\s+(?:\[(?P<opts>[^\]]*)\]\s+)?(?P<uri>\S+)\s+(?P<suite>\S+)\s+(?P<comps>.+)", line)
            if m and _release_suite([m["suite"]]):
                signed = re.search(r"signed-by=(\S+)", m["opts"] or "")
                comps = m["comps"].split()
                return AptSource(
                    m["uri"], m["suite"], "main" if "main" in comps else comps[0], signed.group(1) if signed else None
                )
    raise UserError(
        f"cannot tell the distro's archive from {DEB822_SOURCES} or {SOURCES_LIST}; "
        "download mgetty's source tarball yourself and pass it to build-mgetty"
    )


# --- apt-get source with a private configuration -----------------------------------
def apt_options(workdir: Path) -> list[str]:
    """apt options that keep every file apt reads or writes for this fetch in ``workdir``."""
    return [
        "-o", f"Dir::Etc::SourceList={workdir / 'sources.list'}",
        "-o", "Dir::Etc::SourceParts=/dev/null",
        "-o", f"Dir::State::Lists={workdir / 'lists'}",
        # Without these apt rebuilds the machine's /var/cache/apt/*pkgcache.bin from our lists.
        "-o", "Dir::Cache::pkgcache=",
        "-o", "Dir::Cache::srcpkgcache=",
        "-o", "Acquire::Retries=1",
        "-o", "Acquire::http::Timeout=30",
    ]  # fmt: skip


def _apt(argv: list[str], cwd: Path, log: Path) -> commands.Completed:
    try:
        proc = commands.run(["apt-get", *argv], cwd=cwd, timeout=APT_TIMEOUT, check=False)
    except commands.TimedOut:
        raise UserError(f"apt-get {argv[-2]} did not finish within {APT_TIMEOUT} s (no network?)") from None
    with open(log, "ab") as f:
        f.write(f"$ apt-get {' '.join(argv)}\n".encode() + proc.stdout + proc.stderr + f"(exit {proc.returncode})\n".encode())
    return proc


def cached(dest: Path) -> Fetched | None:
    """A previous fetch in ``dest`` whose tarball still matches its .dsc, if there is one."""
    for dsc in sorted(dest.glob("mgetty_*.dsc")):
        sums = dsc_sha256(dsc.read_text(errors="replace"))
        for name, digest in sums.items():
            if ".orig.tar." in name and (dest / name).is_file() and sha256_file(dest / name) == digest:
                return Fetched(dest / name, dsc, digest, None)
    return None


def fetch_debian(dest: Path, paths: Paths, *, reuse: bool = True) -> Fetched:
    """Download mgetty's Debian source (``.dsc`` + upstream tarball) into ``dest``.

    Writes only below ``dest`` (private sources file, lists, the downloads, and
    ``apt.log``); the machine's apt sources, lists and caches are untouched.
    """
    dest = dest.resolve()  # apt runs in dest; its options must not be relative to it
    dest.mkdir(parents=True, exist_ok=True)
    if reuse:
        hit = cached(dest)
        if hit is not None:
            return hit
    src = release_source(paths)
    apt_dir = dest / "apt"
    (apt_dir / "lists" / "partial").mkdir(parents=True, exist_ok=True)
    (apt_dir / "sources.list").write_text(src.line())
    log = dest / "apt.log"
    opts = apt_options(apt_dir)
    upd = _apt([*opts, "update"], dest, log)
    if upd.returncode != 0:
        raise UserError(
            f"apt-get update for {src.uri} {src.suite} (deb-src) failed: "
            f"{commands.last_line(upd.stderr or upd.stdout)}; see {log}"
        )
    got = _apt([*opts, "source", "--download-only", "mgetty"], dest, log)
    fetched = cached(dest)
    if fetched is None:
        dscs = sorted(dest.glob("mgetty_*.dsc"))
        if dscs:
            raise UserError(
                f"the upstream tarball apt-get fetched does not match the SHA-256 in {dscs[-1].name}; see {log}"
            )
        raise UserError(f"apt-get source mgetty failed: {commands.last_line(got.stderr or got.stdout)}; see {log}")
    note = None
    if got.returncode != 0:
        note = apt_note(got.returncode, got.stderr.decode(errors="replace"), fetched.tarball.name)
    return Fetched(fetched.tarball, fetched.dsc, fetched.sha256, note)


_FAILED_FETCH = re.compile(r"^E: Failed to fetch \S*/([^/\s]+)\s+(.*)$")


def apt_note(code: int, stderr: str, tarball: str) -> str:
    """One line saying why a non-zero apt-get is fine here: what it missed is not needed.

    Seen on mirrors that dropped Debian's patch tarball (``mgetty_1.2.1-1.2.debian.tar.xz``,
    404): apt-get exits 100 after fetching the .dsc and the upstream tarball, which is
    all build-mgetty uses (it applies its own AUTO_PPP change).
    """
    missed = [(m.group(1), " ".join(re.sub(r"\[IP:[^\]]*\]", "", m.group(2)).split()))
              for m in map(_FAILED_FETCH.match, stderr.splitlines()) if m]
    if missed:
        names = ", ".join(f"{name} ({why})" for name, why in missed)
        what = f"because it could not fetch {names}, Debian's own packaging: expected on mirrors without it, and"
    else:
        errors = [ln[2:].strip() for ln in stderr.splitlines() if ln.startswith("E:")]
        what = f"({errors[0] if errors else 'no reason given'}), which is"
    return (f"apt-get exited {code} {what} harmless: the build uses only {tarball}, "
            "which was fetched and matches Debian's .dsc")


# --- unpacking -------------------------------------------------------------------
@dataclass(frozen=True)
class TarballInfo:
    """What a source tarball holds, read without unpacking (for --dry-run)."""

    top: str
    has_policy_h: bool
    has_policy_dist: bool
    logfile_text: str | None


def _open_tar(tarball: Path) -> tarfile.TarFile:
    if not tarball.is_file():
        raise BadInput(f"{tarball} does not exist")
    try:
        return tarfile.open(tarball, "r:*")
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise BadInput(f"{tarball} is not a tar archive (.tar.gz, .tar.bz2, .tar.xz)") from None


def _norm(name: str) -> str:
    while name.startswith("./"):
        name = name[2:]
    return name.lstrip("/")


def _top_of(names: list[str], tarball: Path) -> str:
    tops = {_norm(n).split("/", 1)[0] for n in names if _norm(n) not in ("", ".")}
    if len(tops) != 1:
        raise BadInput(f"{tarball} does not unpack into one directory, as mgetty's source does")
    return tops.pop()


def inspect_tarball(tarball: Path) -> TarballInfo:
    """Read a tarball's member list and logfile.c, without extracting anything."""
    with _open_tar(tarball) as tf:
        try:
            members = tf.getmembers()
        except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
            raise BadInput(f"{tarball} is damaged: {exc}") from None
        names = [m.name for m in members]
        top = _top_of(names, tarball)
        check_members(members, top, tarball)
        rel = {_norm(n).split("/", 1)[1] for n in names if "/" in _norm(n)}
        logfile_text = None
        for m in members:
            if m.isfile() and _norm(m.name) == f"{top}/logfile.c":
                f = tf.extractfile(m)
                logfile_text = f.read().decode(errors="replace") if f else None
    if "mgetty.c" not in rel or "Makefile" not in rel:
        raise BadInput(f"{tarball} is not mgetty's source (no mgetty.c and Makefile in {top}/)")
    return TarballInfo(top, "policy.h" in rel, "policy.h-dist" in rel, logfile_text)


def _member_kind(m: tarfile.TarInfo) -> str:
    if m.ischr() or m.isblk():
        return "a device node"
    if m.isfifo():
        return "a FIFO"
    return "a special member"


def _inside(top: str, parts: tuple[str, ...]) -> bool:
    return bool(parts) and parts[0] == top and ".." not in parts


def check_members(members: list[tarfile.TarInfo], top: str, tarball: Path) -> None:
    """Refuse the whole archive if any member could land outside ``top/`` or is not plain data.

    Done by hand on every Python: Debian 12's python3 (3.11.2) has no ``tarfile.data_filter``,
    and a bare ``extractall`` follows ``..``, absolute names and links. Refused: absolute
    names, ``..``, names outside the single top directory, duplicates, device nodes and
    FIFOs, hard links to anything but an earlier member, and symbolic links that are
    absolute, leave ``top/`` or pass through another link (``a -> b/..`` with ``b -> .``).
    """
    links = {str(PurePosixPath(m.name)) for m in members if m.issym()}
    seen: set[str] = set()

    def refuse(m: tarfile.TarInfo, why: str) -> BadInput:
        return BadInput(f"{tarball}: member {m.name!r} {why}; refusing to unpack any of it")

    for m in members:
        raw = PurePosixPath(m.name)
        if raw.is_absolute():
            raise refuse(m, "has an absolute name")
        parts = tuple(p for p in raw.parts if p != ".")
        if ".." in parts:
            raise refuse(m, "climbs out with '..'")
        if not parts or parts[0] != top:
            raise refuse(m, f"lies outside {top}/")
        name = "/".join(parts)
        for i in range(1, len(parts)):
            if "/".join(parts[:i]) in links:
                raise refuse(m, "lies below a symbolic link")
        if name in seen and not m.isdir():
            raise refuse(m, "appears twice")
        seen.add(name)
        if m.isreg() or m.isdir():
            continue
        if m.islnk():
            target = tuple(p for p in PurePosixPath(m.linkname).parts if p != ".")
            if PurePosixPath(m.linkname).is_absolute() or not _inside(top, target) or "/".join(target) not in seen:
                raise refuse(m, f"is a hard link to {m.linkname!r}, not to a file of the archive")
            continue
        if m.issym():
            where = list(parts[:-1])
            if PurePosixPath(m.linkname).is_absolute() or not m.linkname:
                raise refuse(m, f"is a symbolic link to {m.linkname!r}, outside {top}/")
            for step in PurePosixPath(m.linkname).parts:
                if step == ".":
                    continue
                if "/".join(where) in links:  # the real path would follow that link, not this name
                    raise refuse(m, f"is a symbolic link through another link ({m.linkname!r})")
                if step == "..":
                    if len(where) <= 1:
                        raise refuse(m, f"is a symbolic link to {m.linkname!r}, outside {top}/")
                    where.pop()
                else:
                    where.append(step)
            continue
        raise refuse(m, f"is {_member_kind(m)}")


def _plain(m: tarfile.TarInfo) -> tarfile.TarInfo:
    """A copy of ``m`` owned by whoever unpacks, without setuid/setgid/sticky or group/other write."""
    c = copy.copy(m)
    c.uid, c.gid, c.uname, c.gname = os.geteuid(), os.getegid(), "", ""
    c.mode = (m.mode & 0o755) | (0o700 if m.isdir() else 0o600)
    return c


def unpack(tarball: Path, into: Path) -> Path:
    """Extract ``tarball`` below ``into`` and return the source directory.

    Every member is checked first (:func:`check_members`); one bad member and nothing is
    extracted. What is extracted is owned by the caller, with plain modes. Where tarfile
    has the ``data`` filter it is applied as well.
    """
    info = inspect_tarball(tarball)  # refuses a bad member before anything is written
    with _open_tar(tarball) as tf:
        try:
            members = [_plain(m) for m in tf.getmembers()]
            if hasattr(tarfile, "data_filter"):
                tf.extractall(into, members=members, numeric_owner=True, filter="data")
            else:  # Debian 12's python3 3.11.2: the members were checked above
                tf.extractall(into, members=members, numeric_owner=True)
        except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
            raise BadInput(f"{tarball} could not be unpacked: {exc}") from None
    return into / info.top


def copy_tree(src: Path, into: Path) -> Path:
    """Copy a source directory to ``into`` so the user's tree is never changed."""
    root = find_source_root(src)
    dest = into / root.name
    shutil.copytree(root, dest, symlinks=True, ignore=shutil.ignore_patterns("*.o"))
    return dest


def find_source_root(src: Path) -> Path:
    """``src`` itself, or its single subdirectory, when it holds mgetty.c and a Makefile."""
    if not src.is_dir():
        raise BadInput(f"{src} is neither a tarball nor a directory")
    candidates = [src] + sorted(p for p in src.iterdir() if p.is_dir())
    for c in candidates:
        if (c / "mgetty.c").is_file() and (c / "Makefile").is_file():
            return c
    raise BadInput(f"{src} is not mgetty's source (no mgetty.c and Makefile in it)")


def main(argv: list[str] | None = None) -> int:
    """``python -m dialup_admin.mgetty.source DIR``: fill a source cache (used by the Makefile)."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m dialup_admin.mgetty.source CACHE_DIR", file=sys.stderr)
        return 2
    try:
        got = fetch_debian(Path(args[0]), Paths())
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{got.tarball} sha256 {got.sha256} (from {got.dsc.name})")
    if got.apt_note:
        print(f"note: {got.apt_note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
