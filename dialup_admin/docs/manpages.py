"""Man pages generated from the click commands, so they never drift from ``--help``.

``dialup-admin(8)`` and one page per command (``dialup-admin-setup-server(8)``...): the
synopsis, description and options are click's own help texts; FILES, UNDO and EXIT STATUS
come from :mod:`dialup_admin.docs.facts`. Pure: returns roff text, writes nothing.
"""

from __future__ import annotations

import inspect
import os
import time

import click

from dialup_admin import __version__
from dialup_admin.docs.facts import FACTS, GENERAL_UNDO, OWN_FILES, Facts, Written

SECTION = "8"
MANUAL = "System Administration"
PROG = "dialup-admin"

EXIT_CODES = (
    ("0", "success"),
    ("1", "a check or an action failed; one line on standard error says why, and nothing was left half-changed"),
    ("2", "bad input (a value the tool refuses, or a usage error)"),
    ("70", "a bug in dialup-admin (rerun with -v for the details)"),
    ("130", "interrupted (Ctrl-C)"),
)
SEE_ALSO = ("pppd(8)", "chat(8)", "mgetty(8)", "useradd(8)")


def esc(text: str) -> str:
    """``text`` as roff input: backslashes and minus signs escaped, no line starting a request."""
    out = text.replace("\\", "\\e").replace("-", "\\-")
    return "\n".join("\\&" + ln if ln.startswith((".", "'")) else ln for ln in out.split("\n"))


def page_date() -> str:
    """The build's date (``SOURCE_DATE_EPOCH``, set by dpkg-buildpackage) for reproducible pages."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    return time.strftime("%Y-%m-%d", time.gmtime(int(epoch) if epoch and epoch.isdigit() else None))


def header(title: str) -> list[str]:
    return [f'.TH "{esc(title.upper())}" "{SECTION}" "{page_date()}" "{PROG} {esc(__version__)}" "{MANUAL}"']


def help_roff(text: str) -> list[str]:
    """click's help text as roff: wrapped paragraphs, and ``\\b`` blocks kept line by line."""
    text = inspect.cleandoc(text.split("\f", 1)[0])
    out: list[str] = []
    for para in text.split("\n\n"):
        lines = para.split("\n")
        if not para.strip():
            continue
        out.append(".PP")
        if lines[0].strip() == "\b":
            out += [".nf", *(esc(ln) for ln in lines[1:]), ".fi"]
        elif any(ln.startswith("  ") for ln in lines):  # an indented example block
            out += [".nf", *(esc(ln) for ln in lines), ".fi"]
        else:
            out.append(esc(" ".join(ln.strip() for ln in lines)))
    return out


def options_roff(ctx: click.Context, cmd: click.Command) -> list[str]:
    out: list[str] = []
    for param in cmd.get_params(ctx):
        record = param.get_help_record(ctx)
        if record is None:  # arguments: they are in the synopsis
            continue
        opts, text = record
        out += [".TP", f"\\fB{esc(opts)}\\fR", esc(" ".join(text.split())) if text else ""]
    return [ln for ln in out if ln != ""]


def files_roff(writes: tuple[Written, ...]) -> list[str]:
    out: list[str] = []
    for w in writes:
        mode = f" (mode {esc(w.mode)})" if w.mode and w.mode[0].isdigit() else (f" ({esc(w.mode)})" if w.mode else "")
        out += [".TP", f"\\fI{esc(w.path)}\\fR", esc(w.what) + mode]
    return out


def root_context(group: click.Group) -> click.Context:
    """The context the program runs in: its settings (``-h``/``--help``) as at run time."""
    return click.Context(group, info_name=PROG, **group.context_settings)


def _command_ctx(group: click.Group, name: str) -> tuple[click.Context, click.Command]:
    parent = root_context(group)
    cmd = group.get_command(parent, name)
    if cmd is None:
        raise LookupError(f"no command {name}")
    return click.Context(cmd, info_name=name, parent=parent), cmd


def command_page(group: click.Group, name: str, summary: str, facts: Facts) -> str:
    """The man page ``dialup-admin-NAME(8)`` of one command."""
    ctx, cmd = _command_ctx(group, name)
    usage = " ".join(cmd.collect_usage_pieces(ctx))
    lines = header(f"{PROG}-{name}")
    lines += [".SH NAME", f"{PROG}\\-{esc(name)} \\- {esc(summary.rstrip('.'))}"]
    lines += [".SH SYNOPSIS", f"\\fB{PROG}\\fR [\\fIGLOBAL OPTIONS\\fR] \\fB{esc(name)}\\fR {esc(usage)}"]
    lines += [".SH DESCRIPTION", *help_roff(cmd.help or summary)]
    lines += [".SH OPTIONS", *options_roff(ctx, cmd), ".PP",
              f"The global options (\\fB\\-\\-root\\fR \\fIDIR\\fR and others) are in \\fB{PROG}\\fR(8)."]
    lines += [".SH FILES"]
    if facts.writes:
        lines += [".PP", "What the command writes (with \\fB\\-\\-root\\fR \\fIDIR\\fR, the files of /etc and "
                  "/var are those below \\fIDIR\\fR):",
                  *files_roff(facts.writes)]
    else:
        lines += [".PP", "Writes nothing: the command only reads."]
    lines += [".SH UNDO", ".PP"]
    if facts.undo:
        lines.append(esc(facts.undo))
    elif facts.writes:
        lines.append("Nothing to undo: what the command writes is gone when it ends.")
    else:
        lines.append("Nothing to undo: the command changes nothing.")
    lines += [".SH EXIT STATUS", ".PP", esc(facts.exit_status) if facts.exit_status
              else f"As every command: see \\fB{PROG}\\fR(8)."]
    lines += [".SH SEE ALSO", ".PP", see_also([f"{PROG}(8)"])]
    return "\n".join(lines) + "\n"


def see_also(pages: list[str]) -> str:
    refs = []
    for p in [*pages, *SEE_ALSO]:
        page, _, section = p.rpartition("(")
        refs.append(f"\\fB{esc(page)}\\fR({section}")
    return ",\n".join(refs)


def main_page(group: click.Group, commands: dict[str, str]) -> str:
    """``dialup-admin(8)``: the global options, the commands, the tool's own files, undo."""
    ctx = root_context(group)
    lines = header(PROG)
    lines += [".SH NAME", f"{PROG} \\- {esc((group.help or '').splitlines()[0].rstrip('.'))}"]
    lines += [".SH SYNOPSIS", f"\\fB{PROG}\\fR [\\fIGLOBAL OPTIONS\\fR] \\fICOMMAND\\fR [\\fIOPTIONS\\fR] [\\fIARGS\\fR]"]
    lines += [".SH DESCRIPTION", *help_roff(group.help or ""),
              ".PP",
              "Every changing command plans first, then applies: writes are atomic (temporary file, fsync, "
              "explicit mode and owner, rename), a failure part\\-way puts every file back, and a second "
              "identical run reports \\(lqNothing to change\\(rq. Files that admins also edit "
              "(\\fI/etc/inittab\\fR, \\fI/etc/ppp/options\\fR, \\fIpap\\-secrets\\fR) get a marked block; lines "
              "outside it are never touched, and a block edited by hand is refused unless \\fB\\-\\-force\\fR."]
    lines += [".SH GLOBAL OPTIONS", *options_roff(ctx, group), ".PP",
              "\\fB\\-\\-dry\\-run\\fR, \\fB\\-\\-diff\\fR, \\fB\\-\\-json\\fR and \\fB\\-v\\fR are also accepted "
              "after the command name."]
    lines += [".SH COMMANDS"]
    for name, summary in commands.items():
        lines += [".TP", f"\\fB{esc(name)}\\fR", f"{esc(summary)} See \\fB{PROG}\\-{esc(name)}\\fR(8)."]
    lines += [".SH FILES", *files_roff(OWN_FILES)]
    lines += [".SH UNDO", ".PP", esc(GENERAL_UNDO)]
    lines += [".SH EXIT STATUS"]
    for code, what in EXIT_CODES:
        lines += [".TP", f"\\fB{code}\\fR", esc(what)]
    lines += [".SH SEE ALSO", ".PP", see_also([f"{PROG}-{n}(8)" for n in commands])]
    return "\n".join(lines) + "\n"


def all_pages() -> dict[str, str]:
    """{file name: roff text} of every page: ``dialup-admin.8`` and ``dialup-admin-NAME.8``."""
    from dialup_admin.cli import REGISTRY, cli

    commands = {name: REGISTRY[name][1] for name in sorted(REGISTRY)}
    pages = {f"{PROG}.{SECTION}": main_page(cli, commands)}
    for name, summary in commands.items():
        pages[f"{PROG}-{name}.{SECTION}"] = command_page(cli, name, summary, FACTS[name])
    return pages
