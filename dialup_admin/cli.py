"""The ``dialup-admin`` command line: global options, error handling, command registry.

Commands live in ``dialup_admin/commands/<area>.py``; each module exposes ``COMMANDS``,
a list of click commands, registered here. This module does no I/O of its own.
"""

from __future__ import annotations

import importlib
import sys
import traceback
from pathlib import Path
from typing import Any

import click
from click.shell_completion import CompletionItem

from dialup_admin import __version__
from dialup_admin.context import AppContext, shared_options
from dialup_admin.errors import BadInput, UserError
from dialup_admin.paths import Paths

COMMAND_MODULES = ("server", "accounts", "modem", "mgetty", "client", "lab", "ops", "radius", "direct")

# name -> (module, one-line help), so `--help` and one command load only what they need:
# importing every area (jinja2, pexpect...) would triple the start-up time.
# tests/test_cli.py checks this table against the modules' COMMANDS.
REGISTRY: dict[str, tuple[str, str]] = {
    "setup-server": ("server", "Set up the dial-in server: mgetty answers, pppd authenticates with PAP."),
    "rollback": ("server", "Put back every file the last apply changed (run it again to go further back)."),
    "adduser": ("accounts", "Add a dial-in user: a shell-less account in group ppp and its pap-secrets entry."),
    "deluser": ("accounts", "Remove a dial-in user: its pap-secrets entry and its account, together."),
    "passwd": ("accounts", "Set a dial-in user's password (and restore its pap-secrets entry if it was missing)."),
    "users": ("accounts", "List dial-in users and what is inconsistent between accounts and pap-secrets."),
    "simulate-line": ("modem", "Simulate Hayes modems on one phone line, on pseudo-terminals, until Ctrl-C."),
    "test-modem": ("modem", "Check the modem on PORT the way the guide does in minicom, automated."),
    "detect": ("modem", "Find the ports with a modem, what it is, and the highest speed it answers at."),
    "build-mgetty": ("mgetty", "Build mgetty from source with AUTO_PPP and install it under PREFIX."),
    "mgetty-info": ("mgetty", "Show which mgetty is installed, where it reads its files, and whether it has AUTO_PPP."),
    "setup-client": ("client", "Set up dialing out: peers file, chat script, PAP password (what pppsetup wrote)."),
    "dial": ("client", "Dial out and bring up the PPP link, showing each stage (what ppp-go did)."),
    "hangup": ("client", "Hang up the link dial brought up: stop its pppd by pid, wait for the port (ppp-off)."),
    "status": ("client", "Show the PPP links: interface, addresses, routes, traffic, pppd (ifconfig + route -n)."),
    "stats": ("client", "Traffic of the PPP link in pppstats' columns: bytes and packets in and out, compression."),
    "terminal": ("client", "Talk to the modem by hand: type AT commands, dial, log in; Ctrl-] leaves (minicom)."),
    "lab": ("lab", "Prove the whole guide end to end: a server and a caller on a simulated phone line."),
    "doctor": ("ops", "Check everything that stops a caller getting in; each problem with its fix."),
    "sessions": ("ops", "Who called, on which line, when, for how long, with which address and bytes."),
    "logs": ("ops", "mgetty's and pppd's log lines for one line, merged in time order."),
    "radius-server": ("radius", "Set up FreeRADIUS as the pool's RADIUS server: clients, PPP defaults, accounting."),
    "answer": ("direct", "Answer one call on a direct line (no exchange), then become pppd on it."),
}


def load_module_commands(module: str) -> dict[str, click.Command]:
    """Import ``dialup_admin.commands.<module>`` and return its commands, with the shared options."""
    mod = importlib.import_module(f"dialup_admin.commands.{module}")
    out: dict[str, click.Command] = {}
    for cmd in getattr(mod, "COMMANDS", ()):
        have = {o for p in cmd.params for o in getattr(p, "opts", [])}
        cmd.params.extend(o for o in shared_options() if not have.intersection(o.opts))
        assert cmd.name is not None
        out[cmd.name] = cmd
    return out


class Cli(click.Group):
    """A lazy group that turns every error a user can cause into one line and an exit code."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(REGISTRY)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in REGISTRY:
            return load_module_commands(REGISTRY[cmd_name][0]).get(cmd_name)
        for module in COMMAND_MODULES:  # a command not (yet) in the table
            found = load_module_commands(module).get(cmd_name)
            if found is not None:
                return found
        return None

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[CompletionItem]:
        # Command names from the table: Tab after "dialup-admin" must not import every command.
        names = [CompletionItem(n, help=REGISTRY[n][1]) for n in self.list_commands(ctx) if n.startswith(incomplete)]
        return names + click.Command.shell_complete(self, ctx, incomplete)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, REGISTRY[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except UserError as exc:
            click.echo(f"dialup-admin: error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("dialup-admin: interrupted", err=True)
            sys.exit(130)
        except PermissionError as exc:
            where = f": {exc.filename}" if exc.filename else ""
            click.echo(f"dialup-admin: error: permission denied{where} (run as root, or use --root DIR)", err=True)
            sys.exit(1)
        except OSError as exc:
            where = f": {exc.filename}" if exc.filename else ""
            click.echo(f"dialup-admin: error: {exc.strerror or exc}{where}", err=True)
            sys.exit(1)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException, SystemExit):
            raise
        except Exception as exc:  # a bug of ours: still one line unless -v
            app = ctx.find_object(AppContext)
            if app is not None and app.verbose:
                traceback.print_exc()
            click.echo(f"dialup-admin: internal error: {type(exc).__name__}: {exc} (rerun with -v for details)", err=True)
            sys.exit(70)


@click.group(cls=Cli, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("/"),
    show_default=True,
    help="Act on the tree below DIR instead of this machine (like useradd --prefix).",
)
@click.option("--dry-run", is_flag=True, help="Print the plan of changes and change nothing.")
@click.option("--diff", is_flag=True, help="Show unified diffs of the files a change writes (secrets redacted).")
@click.option("-v", "--verbose", count=True, help="Say more (repeat for more).")
@click.option("--json", "json_out", is_flag=True, help="Print results as JSON on stdout, where a command reports results.")
@click.version_option(__version__, "--version", prog_name="dialup-admin")
@click.pass_context
def cli(ctx: click.Context, root: Path, dry_run: bool, diff: bool, verbose: int, json_out: bool) -> None:
    """Set up a dial-up PPP server (mgetty + pppd) and client, and prove it works.

    \b
    Typical use:
      sudo dialup-admin setup-server --tty ttyS1
      sudo dialup-admin adduser dreamcast
      dialup-admin test-modem /dev/ttyS1
    """
    if str(root) != "/" and not root.is_dir():
        raise BadInput(f"--root {root} is not a directory")
    ctx.obj = AppContext(paths=Paths(root), dry_run=dry_run, diff=diff, verbose=verbose, json=json_out)


def main() -> None:
    cli(prog_name="dialup-admin")
