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
guest's ``/etc/inittab``; on the guest's first boot it is the lab's (:data:`INITTAB`):
a default runlevel, the lab's command runner and the halt lines. ``setup-server``
adds its block below them and runs ``telinit q``, as on Slackware or Devuan.

The lab's own pieces under both: ``run.sh`` (the guest's command: it marks
``ready``, runs the command, writes ``status`` and powers the guest off through the
init), and under systemd ``syslog.sh`` (the journal copied to ``syslog.log``, where
the none and sysvinit guests have busybox's syslogd).
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

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

INITTAB = f"""\
# /etc/inittab: init(8) configuration of a dialup-admin lab guest (sysvinit-core's init).
# The lab's own entries; dialup-admin setup-server adds its block below them.

# The default runlevel.
id:2:initdefault:

# The lab's command runner (the host sends it steps); runs once per boot.
lc:2345:once:/bin/sh {GUEST_RUN}/{RUN_SCRIPT}

# Runlevels 0 and 6: sync, then halt (the lab reboots a guest by booting it again).
l0:0:wait:/bin/sh {GUEST_RUN}/{HALT_SCRIPT}
l6:6:wait:/bin/sh {GUEST_RUN}/{HALT_SCRIPT}
"""

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


def lab_unit(description: str, script: str, *, after: Iterable[str] = (), restart: bool = False) -> str:
    after_line = f"After={' '.join(after)}\n" if after else ""
    restart_lines = "Restart=on-failure\nRestartSec=1\n" if restart else ""
    return (f"# A dialup-admin lab unit, written at each boot by dialup_admin/lab/boot.py.\n"
            f"[Unit]\nDescription={description}\nDefaultDependencies=no\n{after_line}\n"
            f"[Service]\nType=simple\nExecStart=/bin/sh {GUEST_RUN}/{script}\n{restart_lines}")


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
    exports = "".join(f"export {key}={shlex.quote(value)}\n" for key, value in sorted(env.items()))
    q = shlex.quote
    return f"""#!/bin/sh
# The lab's command runner under {init}; generated by dialup_admin/lab/boot.py.
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
HOME=/root
LAB_FOLDER={q(str(folder))}
LAB_GUEST={q(name)}
export PATH HOME LAB_FOLDER LAB_GUEST
{exports}cd "$LAB_FOLDER" || exit 1
read up rest < /proc/uptime
echo "$up" > "$LAB_FOLDER/{ready}"
/bin/sh "$LAB_FOLDER/{command}" > "$LAB_FOLDER/{output}" 2>&1 < /dev/null
echo $? > "$LAB_FOLDER/{status}.tmp"
mv "$LAB_FOLDER/{status}.tmp" "$LAB_FOLDER/{status}"
echo "dialup-lab: command finished: powering off with: {POWEROFF[init]}" > /dev/console
{POWEROFF[init]}
"""


def halt_script(disk_mount: str | None) -> str:
    remount = f"mount -o remount,ro {disk_mount} 2>/dev/null\n" if disk_mount else ""
    return f"""#!/bin/sh
# Runlevel 0/6 of the lab's sysvinit guest: what Debian's sendsigs/umountfs/halt do, briefly.
echo "dialup-lab: halting" > /dev/console
sync
{remount}exec /sbin/halt -d -f -p
"""


def syslog_script(folder: Path) -> str:
    """The journal as the lab's syslog.log (where busybox syslogd writes it in the other guests)."""
    return f"""#!/bin/sh
# Generated by dialup_admin/lab/boot.py.
exec journalctl --no-pager -f -n all -o short >> {shlex.quote(str(folder / "syslog.log"))} 2>&1
"""


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
