"""setup-server --radius: a dial-in server that asks RADIUS instead of pap-secrets.

Decides the RADIUS settings from the options and what the last run recorded, checks
them before anything is planned (every host must resolve, the secret file must be
private and hold one clean line), and plans the files of :mod:`dialup_admin.radius.nas`
(or their removal on ``--no-radius``). The per-line options are rendered by
core/server.py with :func:`line_options`.

``--radius-fallback local``: pppd's radius.so, once loaded, alone decides (a server
that does not answer means a refused caller). To keep local accounts as a fallback,
mgetty's AutoPPP runs :data:`~dialup_admin.radius.nas.WRAPPER` instead of pppd: it asks
the servers first (Status-Server) and loads the plugin only when one answers; the
plugin lines then live in ``/etc/ppp/radius/options.TTY`` rather than options.TTY.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Sequence
from typing import Any

from dialup_admin.core.plan import FileSpec, Plan
from dialup_admin.core.state import load_server_json
from dialup_admin.errors import BadInput, UserError
from dialup_admin.model import Server
from dialup_admin.paths import Paths
from dialup_admin.radius import model as rmodel
from dialup_admin.radius import nas as nasfmt
from dialup_admin.render import render
from dialup_admin.system.radius_probe import resolve
from dialup_admin.system.secretfile import read_secret_file


def previous(paths: Paths) -> dict[str, Any] | None:
    """The RADIUS settings the last setup-server recorded, if any."""
    data = (load_server_json(paths) or {}).get("radius")
    return data if isinstance(data, dict) else None


def this_host_name(paths: Paths) -> str:
    """The target's host name: /etc/hostname below the root, else this machine's."""
    try:
        name = paths.of("/etc/hostname").read_text().split()[0]
    except (OSError, IndexError):
        name = socket.gethostname()
    return rmodel.nas_identifier(name.split(".")[0] if name else "dialup")


def _old_secret(paths: Paths) -> str | None:
    try:
        data = paths.of(nasfmt.SERVERS).read_bytes()
    except OSError:
        return None
    values = set(nasfmt.parse_servers(data).values())
    return values.pop() if len(values) == 1 else None


def choose(paths: Paths, specs: Sequence[str], secret_file: str | None, no_radius: bool,
           fallback: str | None) -> nasfmt.NasRadius | None:
    """The RADIUS settings this run wants (None: RADIUS off). Reads the secret file; writes nothing.

    Without ``--radius`` the previous servers are kept (like --share-internet), and the
    secret already in the servers file, unless a new secret file is given.
    """
    if no_radius:
        if specs or secret_file or fallback:
            raise BadInput("--no-radius turns RADIUS off: give it without --radius, --radius-secret-file "
                           "or --radius-fallback")
        return None
    prev = previous(paths)
    if specs:
        servers = rmodel.check_servers([rmodel.parse_server(s) for s in specs])
    elif prev is not None:
        try:
            servers = rmodel.check_servers([rmodel.parse_server(str(s)) for s in prev.get("servers", [])])
        except BadInput as exc:
            raise UserError(f"{paths.system(paths.server_state)}: its RADIUS servers are damaged ({exc}); "
                            "give --radius HOST again") from None
        if not servers:
            raise UserError(f"{paths.system(paths.server_state)} lists no RADIUS server; give --radius HOST again")
    else:
        if secret_file or fallback:
            raise BadInput("--radius-secret-file and --radius-fallback need --radius HOST (the RADIUS server)")
        return None
    for s in servers if specs else ():
        if resolve(s.host) is None:
            raise UserError(f"--radius {s.host}: the name does not resolve (check it, or give its IPv4 address); "
                            "nothing was changed")
    if secret_file is not None:
        secret = rmodel.secret_from_bytes(read_secret_file(secret_file, "--radius-secret-file"),
                                          f"--radius-secret-file {secret_file}")
    else:
        old = _old_secret(paths)
        if old is None:
            raise BadInput("give the RADIUS shared secret with --radius-secret-file FILE (a file only you can read; "
                           "never on the command line)")
        secret = old
    for s in servers:
        if len(s.host) + 1 + len(secret) > rmodel.SERVERS_LINE:
            raise BadInput(f"--radius {s.host}: host and secret together exceed the {rmodel.SERVERS_LINE} "
                           "characters pppd's RADIUS client reads in a servers line")
    chosen = fallback or (str(prev.get("fallback")) if prev and prev.get("fallback") in nasfmt.FALLBACK_CHOICES
                          else "none")
    return nasfmt.NasRadius(servers=servers, secret=secret, nas_identifier=this_host_name(paths), fallback=chosen)


def line_options(nas: nasfmt.NasRadius | None, tty: str) -> str:
    """What options.TTY carries for RADIUS: the plugin lines, unless the fallback wrapper loads them."""
    if nas is None or nas.fallback == "local":
        return ""
    return nasfmt.line_options(tty, nas.servers)


def pppd_for_login(nas: nasfmt.NasRadius | None, pppd: str) -> str:
    """The program mgetty's AutoPPP starts: pppd, or the fallback wrapper."""
    return nasfmt.WRAPPER if nas is not None and nas.fallback == "local" else pppd


def probe_command() -> str:
    """How the fallback wrapper runs the probe: this very install's Python."""
    return f"{sys.executable} -m dialup_admin.system.radius_probe"


def plan_nas(plan: Plan, server: Server, nas: nasfmt.NasRadius | None, pppd: str) -> None:
    """Plan /etc/ppp/radius (or its removal); options.TTY is the caller's to render.

    Changes on the machine: writes radiusclient.conf and servers (0600), dictionary and
    port-id-map (0644), with the fallback also the wrapper (0755) and options.TTY per
    line below /etc/ppp/radius; --no-radius removes them all.
    """
    wrapped = {f"{nasfmt.DIR}/options.{ln.tty}" for ln in server.lines} if nas and nas.fallback == "local" else set()
    stale = plan.paths.of(nasfmt.DIR)
    if stale.is_dir():
        for p in sorted(stale.glob("options.*")):
            if plan.paths.system(p) not in wrapped:
                plan.remove(plan.paths.system(p))
    if nas is None:
        for f in (nasfmt.CONFIG, nasfmt.SERVERS, nasfmt.DICTIONARY, nasfmt.PORT_MAP, nasfmt.WRAPPER):
            plan.remove(f, redact=_redact if f == nasfmt.SERVERS else None)
        return
    plan.file(nasfmt.CONFIG, FileSpec(nasfmt.radiusclient_conf(nas), mode=0o600))
    plan.file(nasfmt.SERVERS, FileSpec(nasfmt.servers_file(nas), mode=0o600, redact=_redact))
    plan.file(nasfmt.DICTIONARY, FileSpec(nasfmt.dictionary()))
    plan.file(nasfmt.PORT_MAP, FileSpec(nasfmt.port_id_map(rmodel.port_ids([ln.tty for ln in server.lines]))))
    if nas.fallback == "local":
        plan.file(nasfmt.WRAPPER, FileSpec(render("radius-pppd-fallback.j2", dir=nasfmt.DIR, pppd=pppd,
                                                  probe=probe_command(), config=nasfmt.CONFIG,
                                                  timeout=2), mode=0o755))
        for ln in server.lines:
            plan.file(f"{nasfmt.DIR}/options.{ln.tty}", FileSpec(nasfmt.line_options(ln.tty, nas.servers)))
    else:
        plan.remove(nasfmt.WRAPPER)


def _redact(line: str) -> str:
    return nasfmt.redact_servers_line(line)
