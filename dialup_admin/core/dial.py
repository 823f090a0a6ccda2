"""dial and hangup: what the guide's ppp-go and ppp-off did, with pppd's own log.

``dial`` runs real pppd on the connection setup-client wrote (``pppd call NAME
updetach``): pppd stays in the foreground, its log on our pty, until the link is up,
then detaches and keeps the link; we print ppp-go's stages as they come, and record
its pid. ``updetach`` rather than ``nodetach``: a pppd that stays attached to our
pty would get SIGHUP (and hang up the modem) the moment ``dial`` exits.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from dialup_admin.core.client import CHAT, Client
from dialup_admin.errors import UserError
from dialup_admin.formats import pppd_log
from dialup_admin.paths import Paths
from dialup_admin.system import ppp
from dialup_admin.system.commands import require

Say = Callable[[str], None]


def pppd_argv(paths: Paths, client: Client, pppd: str, *, debug: bool = False) -> list[str]:
    """The pppd command line for ``client``; no secrets in it (pppd reads pap-secrets).

    On this machine: ``pppd call NAME updetach``. Under ``--root`` the tree's peers file
    is given with ``file`` and its chat script with ``connect``: pppd itself still reads
    this machine's /etc/ppp/options and pap-secrets.
    """
    if paths.is_host:
        argv = [pppd, "call", client.peer]
    else:
        argv = [pppd, "file", str(paths.of(client.peers_file)),
                "connect", f"{CHAT} -v -s -f {paths.of(client.chat_script)}"]
    argv.append("updetach")
    if debug:
        argv.append("debug")
    return argv


@dataclass
class DialResult:
    record: ppp.DialRecord
    follower: pppd_log.Follower


def running_record(paths: Paths, peer: str) -> ppp.DialRecord | None:
    """The record of a link ``dial`` brought up whose pppd still runs (stale records are removed)."""
    rec = ppp.DialRecord.load(paths, peer)
    if rec is None:
        return None
    if ppp.is_pppd(rec.pid):
        return rec
    ppp.DialRecord.remove(paths, peer)
    return None


def dial(paths: Paths, client: Client, *, say: Say, verbose: bool = False, timeout: float = 180) -> DialResult:
    """Run pppd for ``client`` until the link is up (pppd left running) or it fails.

    Changes the machine: pppd locks and opens the port, dials, brings up pppN, sets the
    default route and DNS (its ip-up scripts); on success a pid record is written to
    /var/lib/dialup-admin/dial-NAME.json. A failure raises one plain UserError.
    """
    old = running_record(paths, client.peer)
    if old is not None:
        raise UserError(f"{client.peer} is already dialed (pppd pid {old.pid} on {old.interface or old.device}): "
                        "run dialup-admin hangup first")
    pppd = require("pppd")
    argv = pppd_argv(paths, client, pppd, debug=verbose)
    say(f"Calling {client.number} on {client.device} ({' '.join(argv[1:])})")

    def on_line(line: str) -> None:
        ev = pppd_log.parse_line(line)
        if verbose:
            if line.strip():
                say(f"  | {line.rstrip()}")
        elif ev is not None and ev.stage is not None:
            say(ev.stage)
        elif ev is not None and ev.kind == "chat-got" and run_state.get("expect") == "CONNECT":
            say("Modem: CONNECT")
        if ev is not None and ev.kind == "chat-expect":
            run_state["expect"] = ev.value

    run_state: dict[str, str] = {}
    started = time.time()
    run = ppp.run_pppd(argv, on_line=on_line, timeout=timeout)
    f = run.follower
    if run.timed_out:
        raise UserError(f"no link within {timeout:.0f} s: pppd was stopped (hung up); run with -v to see its log")
    if verbose and run.status is not None:
        say(f"pppd exit status {run.status}: {pppd_log.EXIT_STATUS.get(run.status, 'unknown')}")
    if run.status != 0 or not f.up:
        why = pppd_log.explain(run.status, f, ppp.kernel_ppp)
        if run.status == 0:
            why = f"pppd ended without bringing the link up ({why})"
        raise UserError(why)
    found = ppp.pppd_pidfile_pid(Paths(), client.peer)
    if found is None:
        raise UserError(f"the link came up but pppd's pid file /run/ppp-{client.peer}.pid is missing: "
                        "check with dialup-admin status; hang up with: kill $(pidof pppd)")
    pid, iface = found
    rec = ppp.DialRecord(peer=client.peer, pid=pid, device=f.device or client.device,
                         interface=iface or f.interface, local=f.local, remote=f.remote, dns=list(f.dns),
                         compression=list(f.compression), started=started)
    rec.save(paths)
    return DialResult(rec, f)


def hangup(paths: Paths, peer: str, *, say: Say, timeout: float = 20) -> ppp.DialRecord | None:
    """End the pppd ``dial`` started for ``peer``, by its pid, and wait for the port to be free.

    Falls back to pppd's own pid file (``pppd call NAME`` run by hand). Returns the
    record of what was hung up, or None when no link was up. Removes the pid record.
    """
    from dialup_admin.system.serial import lock_names, lock_path

    rec = running_record(paths, peer)
    if rec is None:
        found = ppp.pppd_pidfile_pid(Paths(), peer)
        if found is None or not ppp.is_pppd(found[0]):
            return None
        rec = ppp.DialRecord(peer=peer, pid=found[0], device="", interface=found[1])
    locks = [lock_path(paths, n) for n in lock_names(rec.device)] if rec.device else []
    say(f"Hanging up {peer}: stopping pppd (pid {rec.pid}){' on ' + rec.interface if rec.interface else ''}...")
    clean = ppp.stop_pppd(rec.pid, lock_files=locks, timeout=timeout)
    ppp.DialRecord.remove(paths, peer)
    if not clean:
        say(f"  pppd did not stop within {timeout:.0f} s and was killed; the modem may still be off-hook")
    return rec
