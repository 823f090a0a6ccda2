"""What a lab guest boots into when a real init is its PID 1: systemd or sysvinit.

The guest's own init script (:func:`dialup_admin.lab.guest.render_init`) prepares the
machine (mounts, private overlays, the lab folder, PPP modules) and then ``exec`` s
the real init, as an initramfs hands over to ``/sbin/init``. This module writes the
files that init reads, into ``boot/`` in the guest's folder (copied into the guest
at every boot):

**systemd** (this machine's own ``/lib/systemd/systemd``) boots ``multi-user.target``
with a lab-only unit set: every unit the machine's and the distribution's ``.wants``
directories pull in is masked in ``/run/systemd/system`` (and every generator in
``/run/systemd/system-generators``), except journald and udev (systemd knows devices
such as ``dev-ttyS1.device`` only through udev). What starts: journald, udev, the
lab's units (below) and whatever the tool enables in ``/etc/systemd/system``
(``getty.target.wants/mgetty@ttyS1.service``), just as on a real machine.

**sysvinit** (Debian's ``sysvinit-core``, :mod:`dialup_admin.lab.debs`) reads the
guest's ``/etc/inittab``; on the guest's first boot it is the lab's (:func:`inittab`):
a default runlevel, the lab's command runner and the halt lines. ``setup-server``
adds its block below them and runs ``telinit q``, as on Slackware or Devuan.

The lab's own pieces under both: ``run.sh`` (the guest's command: it marks
``ready``, runs the command, writes ``status`` and powers the guest off through the
init), and under systemd ``syslog.sh`` (the journal copied to ``syslog.log``, where
the none and sysvinit guests have busybox's syslogd).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from dialup_admin.render import render

INITS = ("systemd", "sysvinit", "none")
"""How the lab's server guest keeps mgetty running: which program is its PID 1 (``none``: a
shell script, with the lab's own respawn loop)."""

SYSTEMD = "/lib/systemd/systemd"
GUEST_RUN = "/run/dialup-lab"  # lab files inside the guest, copied there at each boot
RUN_SCRIPT = "run.sh"
HALT_SCRIPT = "halt.sh"
SYSLOG_SCRIPT = "syslog.sh"
BOOT_DIR = "boot"

# The units of a real machine that stay when systemd boots in the lab.
SYSTEMD_KEEP = frozenset({
    "systemd-journald.service", "systemd-journald.socket", "systemd-journald-dev-log.socket",
    "systemd-udevd.service", "systemd-udevd-control.socket", "systemd-udevd-kernel.socket",
    "systemd-udev-trigger.service",
})
# Units the tool itself writes: never masked, whatever the host enabled.
TOOL_UNITS = ("mgetty@", "dialup-admin-")
UNIT_DIRS = ("/etc/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system")
GENERATOR_DIRS = ("/etc/systemd/system-generators", "/lib/systemd/system-generators",
                  "/usr/lib/systemd/system-generators")
_MASKABLE = (".service", ".socket", ".timer", ".path", ".mount", ".automount", ".swap")

LAB_COMMAND_UNIT = "dialup-lab-command.service"
LAB_SYSLOG_UNIT = "dialup-lab-syslog.service"

POWEROFF = {
    "systemd": "systemctl --no-block poweroff",
    "sysvinit": "/sbin/shutdown -h -P now",
}


def wanted_units(roots: Sequence[Path] = ()) -> set[str]:
    """Every unit named in a ``.wants``/``.requires`` directory of this machine (and of ``roots``)."""
    dirs = [Path(d) for d in UNIT_DIRS] + [r / d.lstrip("/") for r in roots for d in UNIT_DIRS]
    names: set[str] = set()
    for d in dirs:
        if not d.is_dir():
            continue
        for sub in d.iterdir():
            if sub.name.endswith((".wants", ".requires")) and sub.is_dir():
                names.update(p.name for p in sub.iterdir())
    return names


def masked_units(roots: Sequence[Path] = ()) -> list[str]:
    """The units the lab masks: all wanted ones but journald, udev and the tool's own."""
    return sorted(
        n for n in wanted_units(roots)
        if n.endswith(_MASKABLE) and n not in SYSTEMD_KEEP and not n.startswith(TOOL_UNITS)
    )


def generators() -> list[str]:
    names: set[str] = set()
    for d in map(Path, GENERATOR_DIRS):
        if d.is_dir():
            names.update(p.name for p in d.iterdir())
    return sorted(names)


def inittab() -> str:
    """The sysvinit guest's ``/etc/inittab`` on its first boot: runlevel 2, the lab's runner, halt."""
    return render("lab/inittab.j2", guest_run=GUEST_RUN, run_script=RUN_SCRIPT, halt_script=HALT_SCRIPT)


def lab_unit(description: str, script: str, *, after: Iterable[str] = (), restart: bool = False) -> str:
    return render("lab/unit.service.j2", description=description, script=script, after=list(after),
                  restart=restart, guest_run=GUEST_RUN)


def write_systemd_tree(target: Path, roots: Sequence[Path] = ()) -> None:
    """Write ``target``/system and ``target``/system-generators, copied to /run/systemd at boot."""
    system = target / "system"
    gens = target / "system-generators"
    wants = system / "multi-user.target.wants"
    for d in (system, gens, wants):
        d.mkdir(parents=True, exist_ok=True)
    for name in masked_units(roots):
        _symlink("/dev/null", system / name)
    for name in generators():
        _symlink("/dev/null", gens / name)
    (system / LAB_SYSLOG_UNIT).write_text(lab_unit(
        "dialup-admin lab: the journal, copied to syslog.log in the lab folder", SYSLOG_SCRIPT,
        after=("systemd-journald.service",), restart=True))
    (system / LAB_COMMAND_UNIT).write_text(lab_unit(
        "dialup-admin lab: the guest's command (the host's steps)", RUN_SCRIPT,
        after=("systemd-journald.socket", LAB_SYSLOG_UNIT)))
    for unit in (LAB_SYSLOG_UNIT, LAB_COMMAND_UNIT):
        _symlink(f"../{unit}", wants / unit)


def _symlink(target: str, link: Path) -> None:
    if link.is_symlink() or link.exists():
        link.unlink()
    os.symlink(target, link)


def run_script(init: str, name: str, folder: Path, env: Mapping[str, str], command: str, ready: str,
               output: str, status: str) -> str:
    """The guest's command, as the real init starts it: ready mark, command, status, power off."""
    return render("lab/run.sh.j2", init=init, guest=name, folder=str(folder), exports=sorted(env.items()),
                  command=command, ready=ready, output=output, status=status, poweroff=POWEROFF[init])


def halt_script(disk_mount: str | None) -> str:
    return render("lab/halt.sh.j2", disk_mount=disk_mount)


def syslog_script(folder: Path) -> str:
    """The journal as the lab's syslog.log (where busybox syslogd writes it in the other guests)."""
    return render("lab/syslog.sh.j2", syslog_log=str(folder / "syslog.log"))


# Parts of a package a guest has no use for (and whose directories may not exist here).
_SKIP_PREFIXES = ("usr/share/", "usr/include/", "etc/")


def package_mounts(roots: Sequence[Path]) -> list[tuple[str, list[str]]]:
    """Where unpacked packages go in a guest: (directory, lower layers, first wins) for overlayfs.

    A package file lands where dpkg would put it: ``sbin/init`` in this machine's
    ``/usr/sbin`` (merged /usr follows the symlink). Each directory holding package
    files is covered by a read-only overlay whose upper lower layers are the packages'
    directories and whose last is the machine's own; a directory inside one already
    covered is not mounted again. Configuration files (etc/) and docs are left out.
    """
    lowers: dict[str, list[str]] = {}
    for root in roots:
        for dirpath, _dirnames, filenames in os.walk(root):
            rel = os.path.relpath(dirpath, root)
            if rel == "." or not filenames or (rel + "/").startswith(_SKIP_PREFIXES):
                continue
            where = Path("/" + rel)
            # The nearest directory this machine has (overlayfs needs an existing mount point).
            while not where.is_dir():
                where = where.parent
            real = os.path.realpath(where)
            lower = str(root / where.relative_to("/")) if str(where) != "/" else str(root)
            lowers.setdefault(real, [])
            if lower not in lowers[real]:
                lowers[real].append(lower)
    out: list[tuple[str, list[str]]] = []
    for real in sorted(lowers, key=lambda d: (d.count("/"), d)):
        if any(real == d or real.startswith(d.rstrip("/") + "/") for d, _ in out):
            continue
        out.append((real, lowers[real] + [real]))
    return out
