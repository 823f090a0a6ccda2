"""Commands: radius-server; and the ``--radius`` halves of adduser, passwd, deluser, users.

The user commands keep their names (``adduser --radius``) and come here from
commands/accounts.py, so a pool's users are managed like a single server's.
"""

from __future__ import annotations


import click

from dialup_admin.context import AppContext, pass_app
from dialup_admin.core import radius_server as core
from dialup_admin.commands.plans import run_plan
from dialup_admin.radius import model as rmodel
from dialup_admin.radius.crypt import sha512_crypt
from dialup_admin.system import freeradius as fr


@click.command("radius-server")
@click.option("--client", "clients", multiple=True, metavar="NAME=ADDR",
              help="A dial-in server allowed to ask, such as nas1=192.168.1.10 (repeat for each; the list is "
                   "the whole set: a client left out is removed).")
@click.option("--secret-file", metavar="FILE",
              help="File (mode 0600) holding the shared secret on one line, for the clients named; clients "
                   "already set up keep theirs without it. Never on the command line.")
@click.option("--port", type=int, default=rmodel.AUTH_PORT, show_default=True,
              help="UDP port for logins; accounting is the next one.")
@click.option("--listen", default="*", show_default=True, help="Address to listen on (* for all).")
@click.option("--init", "init", type=click.Choice(fr.INIT_CHOICES), default="auto", show_default=True,
              help="What starts FreeRADIUS: systemd, the SysV script, or nothing (you start it).")
@click.option("--force", is_flag=True, help="Overwrite a dialup-admin block that was edited by hand.")
@pass_app
def radius_server(app: AppContext, clients: tuple[str, ...], secret_file: str | None, port: int, listen: str,
                  init: str, force: bool) -> None:
    """Set up FreeRADIUS as the pool's RADIUS server: clients, PPP defaults, accounting.

    \b
    Writes (Debian's FreeRADIUS 3.2, /etc/freeradius/3.0):
      sites-available/dialup-admin, sites-enabled/dialup-admin   the pool's virtual server
      mods-available/dialup-admin, mods-enabled/dialup-admin     radutmp for Simultaneous-Use
      clients.conf                   a block: one client per dial-in server (secret 0640 freerad)
      mods-config/files/authorize    a block at the top: the users, then the PPP defaults
      sites-enabled/default          removed when it would listen on the same ports
      /etc/dialup-admin/radius.json  what was set up
    then checks the configuration (freeradius -C; a failure puts every file back) and
    restarts FreeRADIUS through the init. Users: dialup-admin adduser --radius NAME.

    \b
    Examples:
      sudo dialup-admin radius-server --client nas1=192.168.1.10 --client nas2=192.168.1.11 --secret-file /root/pool.secret
      sudo dialup-admin radius-server --client nas1=192.168.1.10 --client nas3=192.168.1.12   # nas2 removed
    Undo: dialup-admin rollback.
    """
    setup = core.ServerSetup(
        clients=core.choose_clients(app.paths, clients, secret_file),
        port=rmodel.port_number(str(port), "--port"),
        listen=core.listen_address(listen),
        init=fr.detect_init(app.paths) if init == "auto" else init,
        force=force,
    )
    app.require_root("radius-server")
    plan = core.plan_radius_server(app.paths, setup)
    if not run_plan(app, plan):
        return
    names = ", ".join(f"{c.name} ({c.address})" for c in setup.clients)
    app.say(f"FreeRADIUS serves the pool on port {setup.port}/{setup.port + 1} for {names}; "
            "undo with: dialup-admin rollback")


# --- the --radius halves of the user commands ------------------------------------------------


def adduser(app: AppContext, name: str, ip: str | None, max_sessions: int | None, force: bool,
            password_stdin: bool, generate_password: bool, allow_weak: bool) -> None:
    from dialup_admin.commands.accounts import get_password, say_done

    app.require_root("adduser --radius")
    state, users, existing, addr = core.prepare_add(app.paths, name, ip, max_sessions, force)
    password, generated = get_password(app, name, password_stdin, generate_password, allow_weak)
    plan = core.plan_add(app.paths, state, users, existing, name, sha512_crypt(password), addr, max_sessions)
    if not run_plan(app, plan):
        return
    extra = "".join([f", static address {addr}" if addr else "",
                     f", at most {max_sessions} call(s) at once" if max_sessions else ""])
    say_done(app, {"user": name, "ip": str(addr) if addr else None, "max_sessions": max_sessions},
             f"RADIUS user {name} ready{extra}; undo with: dialup-admin deluser --radius {name}", password, generated)


def passwd(app: AppContext, name: str, password_stdin: bool, generate_password: bool, allow_weak: bool) -> None:
    from dialup_admin.commands.accounts import get_password, say_done

    app.require_root("passwd --radius")
    state, users, user = core.find_user(app.paths, name)
    password, generated = get_password(app, name, password_stdin, generate_password, allow_weak)
    plan = core.plan_passwd(app.paths, state, users, user, sha512_crypt(password))
    if not run_plan(app, plan):
        return
    say_done(app, {"user": name}, f"Password of RADIUS user {name} changed.", password, generated, shown_once=False)


def deluser(app: AppContext, name: str) -> None:
    app.require_root("deluser --radius")
    if run_plan(app, core.plan_deluser(app.paths, name)):
        app.say(f"RADIUS user {name} removed; undo with: dialup-admin rollback")


def users(app: AppContext) -> None:
    core.require_state(app.paths)
    found = core.current_users(app.paths)
    if app.json:
        app.emit_json({"users": [u.to_json() for u in found]})
        return
    if not found:
        app.say("(no RADIUS users)")
        return
    rows = [("NAME", "IP", "MAX-SESSIONS")]
    rows += [(u.name, str(u.ip) if u.ip else "-", str(u.max_sessions) if u.max_sessions else "-") for u in found]
    app.say_table(rows)


COMMANDS: list[click.Command] = [radius_server]
