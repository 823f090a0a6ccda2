"""What doctor reads of the machine: files below the root, programs, processes, the kernel.

Reading only: nothing here changes anything. :class:`Machine` answers from the tree
below ``--root`` (its /etc, /dev, /sys and /proc), so doctor's checks work on images
and test trees as on the running machine. :class:`Probe` asks the running kernel what
no tree holds (the loaded nftables table, a DNS answer); under ``--root`` it answers
None, "not checked".

What a fact means for a caller (a finding, its level, its fix) is core/doctor.py's.
"""

from __future__ import annotations

import glob
import ipaddress
import os
import socket
import stat
import struct
from dataclasses import dataclass
from pathlib import Path

from dialup_admin.paths import Paths
from dialup_admin.system import mgetty as mgetty_sys
from dialup_admin.system import netinfo, nft, reading, services
from dialup_admin.system.procs import Proc, processes


class Probe:
    """Kernel state beyond files. The real one asks this machine; None means "not checked"."""

    def __init__(self, paths: Paths) -> None:
        self.live = paths.is_host

    def nft_table(self) -> str | None:
        return nft.list_table() or "" if self.live else None

    def nft_ruleset(self) -> str | None:
        return nft.list_ruleset() if self.live else None

    def dns_answers(self, server: ipaddress.IPv4Address) -> bool | None:
        return dns_query(server) if self.live else None


def dns_query(server: ipaddress.IPv4Address, timeout: float = 2.0) -> bool:
    """Whether ``server`` answers a DNS query (for the root zone's NS) over UDP within ``timeout``."""
    query = struct.pack(">HHHHHH", 0x4441, 0x0100, 1, 0, 0, 0) + b"\x00" + struct.pack(">HH", 2, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        try:
            s.sendto(query, (str(server), 53))
            data = s.recv(512)
        except OSError:
            return False
    return len(data) >= 12 and data[:2] == query[:2]


@dataclass(frozen=True)
class KernelPPP:
    """What the target's /dev, /sys/module and /lib/modules show of PPP support."""

    dev_ppp: bool  # the /dev/ppp node
    generic_loaded: bool  # /sys/module/ppp_generic
    generic_module: bool  # ppp_generic.ko* under /lib/modules: loadable
    async_loaded: bool
    async_module: bool


@dataclass(frozen=True)
class Owner:
    """A file's permission bits and owner."""

    mode: int
    uid: int
    gid: int


_MODULES = "/lib/modules"


class Machine:
    """The target as doctor's checks see it: the tree below the root (or this machine)."""

    def __init__(self, paths: Paths, probe: Probe | None = None) -> None:
        self.paths = paths
        self.probe = probe or Probe(paths)
        self.procs: list[Proc] | None = processes(paths)  # None: no /proc to read (a plain tree)

    # --- files ---------------------------------------------------------------------------
    def read(self, system_path: str) -> bytes | None:
        """A regular file's contents; None when it is not there."""
        try:
            return reading.read_bytes(self.paths.of(system_path))
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None

    def exists(self, system_path: str) -> bool:
        return self.paths.of(system_path).exists()

    def is_file(self, system_path: str) -> bool:
        return self.paths.of(system_path).is_file()

    def is_dir(self, system_path: str) -> bool:
        return self.paths.of(system_path).is_dir()

    def is_link(self, system_path: str) -> bool:
        """Whether the entry itself is a symbolic link (an enabled systemd unit)."""
        return self.paths.node(system_path).is_symlink()

    def executable(self, system_path: str) -> bool:
        return os.access(self.paths.of(system_path), os.X_OK)

    def owner(self, system_path: str) -> Owner:
        st = self.paths.of(system_path).stat()
        return Owner(stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid)

    def open_to_others(self, system_path: str) -> str | None:
        """The first of ``system_path`` and the directories above it that group or others may
        write (a sticky directory such as /tmp excepted); under ``--root`` the tree's own top
        is not looked at."""
        parts = Path(system_path).parts
        for i in range(1, len(parts) + 1):
            sp = "/" + "/".join(parts[1:i]) if i > 1 else "/"
            if sp == "/" and not self.paths.is_host:
                continue
            s = self.paths.of(sp).stat()
            if s.st_mode & 0o022 and not (stat.S_ISDIR(s.st_mode) and s.st_mode & stat.S_ISVTX):
                return sp
        return None

    # --- programs --------------------------------------------------------------------------
    def find_program(self, system_path: str) -> Path | None:
        """A program on the target. A tree with no /usr/sbin of its own is an image being
        prepared on this host, which then supplies the programs (as setup-server assumes)."""
        wheres = [self.paths]
        if not self.paths.is_host and not self.paths.of("/usr/sbin").is_dir():
            wheres.append(Paths())
        for where in wheres:
            p = where.of(system_path)
            if p.is_file() and os.access(p, os.X_OK):
                return p
        return None

    def installed(self, pattern: str) -> bool:
        """Whether a file matches ``pattern`` (a glob of system paths) in the tree, or under
        ``--root`` on this host, which supplies pppd and its plugins to an image."""
        wheres = [self.paths] if self.paths.is_host else [self.paths, Paths()]
        return any(glob.glob(str(w.of(pattern))) for w in wheres)

    def mgetty_layout(self, system_path: str) -> mgetty_sys.MgettyLayout | None:
        """What the mgetty binary at ``system_path`` was built with; None when it is not there."""
        real = self.find_program(system_path)
        return None if real is None else mgetty_sys.inspect_binary(reading.read_bytes(real), system_path)

    # --- kernel, processes, network ------------------------------------------------------------
    def kernel_ppp(self) -> KernelPPP | None:
        """The PPP support the target's kernel shows; None for a tree without /dev (not checked)."""
        if not self.paths.is_host and not self.is_dir("/dev"):
            return None
        modules = self.paths.of(_MODULES)

        def module(name: str) -> bool:
            return modules.is_dir() and any(modules.glob(f"*/kernel/drivers/net/ppp/{name}.ko*"))

        return KernelPPP(dev_ppp=self.exists("/dev/ppp"),
                         generic_loaded=self.is_dir("/sys/module/ppp_generic"), generic_module=module("ppp_generic"),
                         async_loaded=self.is_dir("/sys/module/ppp_async"), async_module=module("ppp_async"))

    def call_pid(self, tty: str) -> int | None:
        """The pid of a pppd answering a call on ``tty`` (mgetty exec'd it)."""
        return services.call_pid(self.paths, tty)

    def lan_networks(self) -> list[netinfo.Route]:
        return netinfo.lan_networks(self.paths)

    def interface_exists(self, name: str) -> bool | None:
        """Whether the network interface ``name`` exists; None for a tree without /sys/class/net."""
        if not self.is_dir("/sys/class/net"):
            return None
        return netinfo.interface_exists(self.paths, name)

    def udp_listeners(self, port: int) -> list[ipaddress.IPv4Address] | None:
        """Addresses some program receives UDP ``port`` on; None for a tree without /proc/net/udp."""
        if not self.is_file("/proc/net/udp"):
            return None
        return netinfo.udp_listeners(self.paths, port)
