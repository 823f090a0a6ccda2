"""Commands: adduser, deluser, passwd, users."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from dialup_admin.context import AppContext, pass_app
from dialup_admin.core import accounts as core
from dialup_admin.core.accounts_report import report
from dialup_admin.commands.plans import run_plan
from dialup_admin.commands.prompts import ask_new_secret, stdin_line
from dialup_admin.completion import complete_user
from dialup_admin.errors import BadInput, UserError
from dialup_admin.system import accounts as sysacc

F = Callable[..., Any]


def password_options(func: F) -> F:
    for opt in reversed([
        click.option("--password-stdin", is_flag=True,
                     help="Read the password from the first line of standard input (for scripts)."),
        click.option("--generate-password", is_flag=True,
                     help="Make up a random password and print it once."),
        click.option("--allow-weak", is_flag=True,
                     help=f"Accept a password shorter than {core.MIN_PASSWORD} characters or equal to the name."),
    ]):
        func = opt(func)
    return func


def get_password(app: AppContext, name: str, from_stdin: bool, generate: bool, allow_weak: bool) -> tuple[str, bool]:
    """The password from stdin, a generator or a hidden prompt (twice); never from argv.

    Returns it and whether it was generated. Under --dry-run nothing is asked.
    """
    if from_stdin and generate:
        raise BadInput("choose one of --password-stdin and --generate-password")
    if generate:
        return core.generate_password(), True
    if from_stdin:
        password = stdin_line().removesuffix("\r")  # a line from Windows
        if password == "":
            raise BadInput("--password-stdin: no password on standard input")
    elif app.dry_run:
        return "", False
    else:
        asked = ask_new_secret(f"Password for {name}")
        if asked is None:
            raise UserError("no password given: type it at the prompt, or use --password-stdin or --generate-password")
        password = asked
    core.check_password(password, name, allow_weak)
    return password, False


def say_done(app: AppContext, data: dict[str, Any], done: str, password: str, generated: bool, *,
             shown_once: bool = True) -> None:
    """What adduser and passwd print once applied: ``data`` as JSON (with a generated password),
    the ``done`` line, and a generated password for people, shown this once."""
    if app.json:
        app.emit_json({**data, **({"password": password} if generated else {})})
    app.say(done)
    if generated and not app.json:
        click.echo(f"Password for {data['user']}: {password}")
        if shown_once:
            app.say("(shown once: note it now)")


@click.command("adduser")
@click.argument("name")
@click.option("--ip", metavar="ADDR", help="A static address for this user, inside the server's pool.")
@click.option("--uid", type=int, help="The account's uid (default: the next free one).")
@click.option("--force", is_flag=True, help="The account exists already: make it a dial-in user again, new password.")
@click.option("--radius", is_flag=True, help="A user of the pool's FreeRADIUS (radius-server), not of this machine.")
@click.option("--max-sessions", type=int, metavar="N", help="With --radius: at most N calls at once (Simultaneous-Use).")
@password_options
@pass_app
def adduser(app: AppContext, name: str, ip: str | None, uid: int | None, force: bool, radius: bool,
            max_sessions: int | None, password_stdin: bool, generate_password: bool, allow_weak: bool) -> None:
    """Add a dial-in user: a shell-less account in group ppp and its pap-secrets entry.

    The password is asked twice (hidden), read with --password-stdin, or made up with
    --generate-password; it never appears on a command line. It goes to /etc/shadow
    only: the pap-secrets entry is "NAME * @login ADDRESS", which makes pppd check the
    system password, with or without its "login" option.

    \b
    Examples:
      sudo dialup-admin adduser dreamcast
      echo "$PW" | sudo dialup-admin adduser mailstation --password-stdin --ip 192.168.32.12
      sudo dialup-admin adduser oob --generate-password
      echo "$PW" | sudo dialup-admin adduser alice --radius --password-stdin --max-sessions 1
    Undo: dialup-admin deluser NAME (or dialup-admin rollback right after).

    With --radius the user goes to the pool's FreeRADIUS users file (only the password's
    SHA-512 crypt hash; --ip becomes Framed-IP-Address, --max-sessions Simultaneous-Use),
    not to /etc/passwd, and FreeRADIUS re-reads it without dropping calls.
    """
    core.username(name)
    if radius:
        if uid is not None:
            raise BadInput("--uid is for local accounts; a RADIUS user has none")
        from dialup_admin.commands import radius as radius_cmds

        radius_cmds.adduser(app, name, ip, max_sessions, force, password_stdin, generate_password, allow_weak)
        return
    if max_sessions is not None:
        raise BadInput("--max-sessions needs --radius (Simultaneous-Use is enforced by the pool's FreeRADIUS)")
    app.require_root("adduser")
    req = core.prepare_adduser(app.paths, name, ip, uid, force)
    password, generated = get_password(app, name, password_stdin, generate_password, allow_weak)
    plan = core.plan_adduser(req, password)
    if not run_plan(app, plan):
        if app.dry_run and generated:
            app.say("(a password would be generated and shown once)")
        return
    users = {u.name: u for u in sysacc.read_passwd(app.paths)}
    uid_now = users[name].uid if name in users else None
    where = f", static address {req.ip}" if req.ip else ""
    say_done(app, {"user": name, "uid": uid_now, "ip": str(req.ip) if req.ip else None},
             f"Dial-in user {name} ready (uid {uid_now}{where}); undo with: dialup-admin deluser {name}",
             password, generated)


@click.command("passwd")
@click.argument("name", shell_complete=complete_user)
@click.option("--radius", is_flag=True, help="A user of the pool's FreeRADIUS (see adduser --radius).")
@password_options
@pass_app
def passwd(app: AppContext, name: str, radius: bool, password_stdin: bool, generate_password: bool,
           allow_weak: bool) -> None:
    """Set a dial-in user's password (and restore its pap-secrets entry if it was missing).

    \b
    Examples:
      sudo dialup-admin passwd dreamcast
      sudo dialup-admin passwd ppp          # let the guide's ppp account dial in
      sudo dialup-admin passwd alice --radius
    """
    core.username(name)
    if radius:
        from dialup_admin.commands import radius as radius_cmds

        radius_cmds.passwd(app, name, password_stdin, generate_password, allow_weak)
        return
    app.require_root("passwd")
    acc = core.prepare_passwd(app.paths, name)
    password, generated = get_password(app, name, password_stdin, generate_password, allow_weak)
    plan = core.plan_passwd(acc, name, password)
    if not run_plan(app, plan):
        return
    say_done(app, {"user": name}, f"Password of {name} changed.", password, generated, shown_once=False)


@click.command("deluser")
@click.argument("name", shell_complete=complete_user)
@click.option("--radius", is_flag=True, help="A user of the pool's FreeRADIUS (see adduser --radius).")
@pass_app
def deluser(app: AppContext, name: str, radius: bool) -> None:
    """Remove a dial-in user: its pap-secrets entry and its account, together.

    \b
    Example:
      sudo dialup-admin deluser mailstation
      sudo dialup-admin deluser alice --radius
    Undo: dialup-admin rollback (restores the account, its password and the entry).
    """
    core.username(name)
    if radius:
        from dialup_admin.commands import radius as radius_cmds

        radius_cmds.deluser(app, name)
        return
    app.require_root("deluser")
    plan = core.plan_deluser(app.paths, name)
    if run_plan(app, plan):
        app.say(f"Dial-in user {name} removed; undo with: dialup-admin rollback")


@click.command("users")
@click.option("--radius", is_flag=True, help="The pool's FreeRADIUS users: name, static address, session limit.")
@pass_app
def users(app: AppContext, radius: bool) -> None:
    """List dial-in users and what is inconsistent between accounts and pap-secrets.

    \b
    Columns: name, uid, static address, in /etc/passwd, in pap-secrets, password state, problems.
    Example:
      sudo dialup-admin users --json
      sudo dialup-admin users --radius
    """
    if radius:
        from dialup_admin.commands import radius as radius_cmds

        radius_cmds.users(app)
        return
    rows, general = report(app.paths)
    if app.json:
        app.emit_json({"users": [r.to_json() for r in rows], "problems": general})
        return
    table = [("NAME", "UID", "IP", "PASSWD", "PAP", "PASSWORD", "PROBLEMS")]
    for r in rows:
        table.append((r.name, "-" if r.uid is None else str(r.uid), r.ip or "-", "yes" if r.in_passwd else "no",
                      "yes" if r.in_pap else "no", r.password, "; ".join(r.problems) or "-"))
    app.say_table(table)
    if not rows:
        app.say("(no dial-in users)")
    for g in general:
        app.say(f"problem: {g}")


COMMANDS: list[click.Command] = [adduser, deluser, passwd, users]
