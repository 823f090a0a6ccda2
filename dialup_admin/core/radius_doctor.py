"""doctor's RADIUS checks: on a dial-in server set up with ``setup-server --radius``, and on
the pool's RADIUS server set up with ``radius-server``. Reading only.

On a dial-in server:

- ``radius-config``: radiusclient.conf, servers (the secret: 0600 root), dictionary and
  port-id-map present; radius.so installed; every line loads the plugin;
- ``radius-server``: each RADIUS server asked (Status-Server, then an Access-Request for
  a user that does not exist): it answers; or it does not ("not answering": callers are
  refused, which is not a wrong password); or it answers signed with another shared
  secret ("shared secret mismatch"). Only on the running machine (not under --root).

On the RADIUS server: ``radius-pool``: the dialup-admin site and radutmp module are
enabled and FreeRADIUS runs.
"""

from __future__ import annotations

import glob
import stat
from typing import TYPE_CHECKING

from dialup_admin.paths import tty_options
from dialup_admin.radius import nas as nasfmt
from dialup_admin.system import freeradius as fr
from dialup_admin.system import radius_probe

if TYPE_CHECKING:
    from dialup_admin.core.doctor import Finding, Target

PLUGIN_GLOB = "/usr/lib/pppd/*/radius.so"


def _f(check: str, level: str, message: str, fix: str = "") -> Finding:
    from dialup_admin.core.doctor import Finding

    return Finding(check, level, message, fix)


def check(t: Target) -> list[Finding]:
    out: list[Finding] = []
    radius = (t.state or {}).get("radius")
    if isinstance(radius, dict):
        out += check_config(t, radius)
        if not any(f.check == "radius-config" and f.level == "error" for f in out):
            out += check_servers(t)
    out += check_pool(t)
    return out


def _secret_file(t: Target) -> list[Finding]:
    real = t.paths.of(nasfmt.SERVERS)
    st = real.stat()
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o077 or st.st_uid != 0:
        return [_f("radius-config", "error",
                   f"{nasfmt.SERVERS} holds the RADIUS shared secret and is readable by others (mode {mode:04o})"
                   if mode & 0o077 else f"{nasfmt.SERVERS} is not owned by root",
                   f"chown root:root {nasfmt.SERVERS}; chmod 600 {nasfmt.SERVERS}")]
    return []


def check_config(t: Target, radius: dict[str, object]) -> list[Finding]:
    out: list[Finding] = []
    for path in (nasfmt.CONFIG, nasfmt.SERVERS, nasfmt.DICTIONARY, nasfmt.PORT_MAP):
        if t.read(path) is None:
            out.append(_f("radius-config", "error", f"{path} is missing: pppd's radius.so cannot check callers",
                          "rerun dialup-admin setup-server (it keeps --radius)"))
    if out:
        return out
    out += _secret_file(t)
    conf_mode = stat.S_IMODE(t.paths.of(nasfmt.CONFIG).stat().st_mode)
    if conf_mode & 0o077:
        out.append(_f("radius-config", "warning", f"{nasfmt.CONFIG} has mode {conf_mode:04o}, not 0600",
                      f"chmod 600 {nasfmt.CONFIG}"))
    wheres = [t.paths] if t.paths.is_host else [t.paths, type(t.paths)()]
    if not any(glob.glob(str(w.of(PLUGIN_GLOB))) for w in wheres):
        out.append(_f("radius-config", "error", "pppd's radius.so is not installed", "apt-get install ppp"))
    wrapped = radius.get("fallback") == "local"
    for tty in t.ttys:
        path = f"{nasfmt.DIR}/options.{tty}" if wrapped else tty_options(tty)
        words = [ln.split() for ln in (t.read(path) or b"").decode(errors="replace").splitlines()]
        if ["plugin", nasfmt.PLUGIN] not in words:
            out.append(_f("radius-config", "error", f"{path} does not load radius.so: callers on {tty} are checked "
                          "by pap-secrets, not RADIUS", "rerun dialup-admin setup-server"))
    if not out:
        listed = radius.get("servers")
        servers = ", ".join(str(s) for s in listed) if isinstance(listed, list) else "?"
        out.append(_f("radius-config", "ok", f"pppd asks RADIUS ({servers}); the secret is 0600 root"))
    return out


def check_servers(t: Target) -> list[Finding]:
    if not t.probe.live:
        return [_f("radius-server", "ok", "RADIUS servers not asked (not the running machine)")]
    try:
        results = radius_probe.probe_config(str(t.paths.of(nasfmt.CONFIG)), str(t.paths.of(nasfmt.SERVERS)))
    except (FileNotFoundError, PermissionError) as exc:
        return [_f("radius-server", "error", f"cannot read the RADIUS configuration: {exc}", "run doctor as root")]
    out: list[Finding] = []
    answering = [r for r in results if r.ok]
    for i, r in enumerate(results):
        where = f"{r.host}:{r.port}"
        if r.status == radius_probe.ANSWERS:
            out.append(_f("radius-server", "ok", f"RADIUS server {where} answers ({r.detail}) with our shared secret"))
        elif r.status == radius_probe.BAD_SECRET:
            out.append(_f("radius-server", "error",
                          f"RADIUS server {where}: shared secret mismatch ({r.detail}): every caller is refused, "
                          "whatever the password",
                          f"give {nasfmt.SERVERS} and the server's clients.conf the same secret "
                          "(setup-server --radius-secret-file FILE here, radius-server --secret-file FILE there)"))
        elif r.status == radius_probe.UNRESOLVED:
            out.append(_f("radius-server", "error", f"RADIUS server {r.host}: the name does not resolve",
                          "fix the name, or give its address: setup-server --radius ADDR"))
        else:
            level = "warning" if answering else "error"
            what = ("callers wait for the next server" if answering and i == 0 else
                    "a backup that would not help" if answering else "callers are refused (not a wrong password)")
            out.append(_f("radius-server", level, f"RADIUS server {where} not answering: {what}",
                          f"start FreeRADIUS there; let UDP {r.port} and {r.port + 1} through; make sure it lists "
                          "this server as a client (dialup-admin radius-server --client NAME=ADDR)"))
    return out


def check_pool(t: Target) -> list[Finding]:
    """On the RADIUS server: the pool's site is enabled and FreeRADIUS runs."""
    from dialup_admin.core import radius_server as rs

    if t.read(rs.STATE) is None:
        return []
    out: list[Finding] = []
    for link, what in ((rs.SITE_LINK, "the pool's virtual server"), (rs.MODULE_LINK, "the radutmp for Simultaneous-Use")):
        if not t.paths.of(link).exists():
            out.append(_f("radius-pool", "error", f"{link} is missing: {what} is not enabled",
                          "rerun dialup-admin radius-server"))
    if t.probe.live and fr.running_pid(t.paths) is None:
        if not (fr.detect_init(t.paths) == "systemd"):
            out.append(_f("radius-pool", "error", "FreeRADIUS is not running: dial-in servers get no answer",
                          "start it: freeradius (or systemctl start freeradius)"))
    if not out:
        out.append(_f("radius-pool", "ok", "FreeRADIUS is set up for the pool"))
    return out
