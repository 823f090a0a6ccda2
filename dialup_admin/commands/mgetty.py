"""Commands: mgetty (build-mgetty, mgetty-info)."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import click

from dialup_admin.context import AppContext, pass_app
from dialup_admin.errors import BadInput
from dialup_admin.mgetty import build as b
from dialup_admin.mgetty import source as s
from dialup_admin.mgetty import workflow
from dialup_admin.paths import Paths
from dialup_admin.system import mgetty as mgetty_sys
from dialup_admin.system import reading


@click.command("build-mgetty")
@click.argument("src", required=False, type=click.Path(path_type=Path))
@click.option("--from-debian", is_flag=True, help="Fetch the upstream tarball with apt-get source (private deb-src).")
@click.option("--prefix", default="/usr/local", show_default=True, help="Install prefix, as make's prefix=.")
@click.option("--sha256", metavar="HEX", help="Refuse the tarball unless it has this SHA-256.")
@click.option("--force", is_flag=True, help="Build even when the installed mgetty already has AUTO_PPP.")
@click.option(
    "--download-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="With --from-debian: keep the downloaded source here and reuse it while it matches its .dsc.",
)
@pass_app
def build_mgetty(
    app: AppContext,
    src: Path | None,
    from_debian: bool,
    prefix: str,
    sha256: str | None,
    force: bool,
    download_dir: Path | None,
) -> None:
    """Build mgetty from source with AUTO_PPP and install it under PREFIX.

    SRC is the source tarball (mgetty1.1.37-Jun05.tar.gz, mgetty-1.2.1.tar.gz) or an
    unpacked source directory; --from-debian fetches Debian's copy of the upstream
    tarball instead. Nothing is built when the installed mgetty already has AUTO_PPP
    (Debian's does), unless --force. The make output goes to
    /var/log/dialup-admin/build-mgetty.log; the old binary is kept as mgetty.old and
    existing config files are never overwritten.

    \b
    Examples:
      sudo dialup-admin build-mgetty ~/mgetty1.1.37-Jun05.tar.gz
      sudo dialup-admin build-mgetty --from-debian
      dialup-admin --dry-run build-mgetty mgetty-1.2.1.tar.gz --prefix /opt/mgetty
    """
    if (src is None) == (not from_debian):
        raise BadInput("give the source (a tarball or a directory) or --from-debian, one of them")
    req = workflow.BuildRequest(
        paths=app.paths,
        src=src,
        from_debian=from_debian,
        prefix=b.validate_prefix(prefix),
        sha256=s.normalise_sha256(sha256) if sha256 else None,
        download_dir=download_dir,
        log=app.paths.of(b.LOG_FILE),
    )
    wanted, why = workflow.needed(app.paths, force)
    if not wanted:
        app.say(why)
        if app.json:
            app.emit_json({"built": False, "reason": why})
        return
    app.say(why)
    if app.dry_run:
        for line in workflow.describe(req):
            app.say(line)
        return
    app.require_root("build-mgetty")
    result = workflow.build(req, app.say, app.say, lambda m: app.say(m, err=True))
    app.say(f"Installed {result.binary} (mgetty {result.version}, AUTO_PPP) reading {result.config_dir}/")
    if result.picked_by_setup_server:
        app.say("setup-server will use it and write its mgetty.config/login.config there.")
    else:
        app.say(f"setup-server finds another mgetty first: pass it --mgetty {result.binary}")
    if app.json:
        app.emit_json({"built": True, **result.to_json()})


def _file_status(paths: Paths, system_path: str, want_private: bool) -> dict[str, Any]:
    real = paths.of(system_path)
    try:
        st = os.stat(real)
    except FileNotFoundError:
        return {"path": system_path, "exists": False}
    mode = stat.S_IMODE(st.st_mode)
    info: dict[str, Any] = {"path": system_path, "exists": True, "mode": f"{mode:04o}", "uid": st.st_uid}
    if want_private and (st.st_uid != 0 or mode & 0o077):
        # mgetty ignores a login.config that is not root's and private, silently using /bin/login.
        info["problem"] = "must be owned by root and mode 0600, or mgetty ignores it and runs /bin/login"
    return info


def _describe(paths: Paths, layout: mgetty_sys.MgettyLayout) -> dict[str, Any]:
    real = paths.of(layout.binary)
    from_host = not real.is_file()
    if from_host:
        # detect() falls back to this machine's binary when the --root tree has none.
        real = Paths().of(layout.binary)
    data = reading.read_bytes(real)
    return {
        "binary": layout.binary,
        "from_host": from_host,
        "version": mgetty_sys.version(data),
        "flavour": layout.flavour,
        "auto_ppp": layout.auto_ppp,
        "features": list(mgetty_sys.features(data)),
        "config_dir": layout.config_dir,
        "mgetty_config": _file_status(paths, layout.mgetty_config, False),
        "login_config": _file_status(paths, layout.login_config, True),
        "log_pattern": layout.log_pattern,
        "lock_pattern": mgetty_sys.lock_pattern(data),
    }


@click.command("mgetty-info")
@click.option("--mgetty", "explicit", metavar="PATH", help="Describe this binary instead of the one found.")
@pass_app
def mgetty_info(app: AppContext, explicit: str | None) -> None:
    """Show which mgetty is installed, where it reads its files, and whether it has AUTO_PPP.

    Read from the binary itself (its compiled-in paths and the option list it logs),
    so it works on a --root tree too. Changes nothing.

    \b
    Example:
      dialup-admin mgetty-info
      dialup-admin --json mgetty-info
    """
    selected = mgetty_sys.detect(app.paths, explicit)
    others = [m for m in mgetty_sys.installed(app.paths) if m.binary != selected.binary]
    sel = _describe(app.paths, selected)
    rest = [_describe(app.paths, m) for m in others]
    if app.json:
        app.emit_json({"selected": sel, "others": rest})
        return
    where = " (this host's: the --root tree has none)" if sel["from_host"] else ""
    app.say(f"mgetty used by setup-server: {sel['binary']}{where} (mgetty {sel['version'] or '?'}, {sel['flavour']} layout)")
    _say_details(app, sel)
    for o in rest:
        where = " on this host, outside the --root tree" if o["from_host"] else ""
        app.say(f"also installed{where}: {o['binary']} (mgetty {o['version'] or '?'})")
        _say_details(app, o)
    if not selected.auto_ppp:
        app.say("This mgetty has no AUTO_PPP: PPP callers get login: only. Build one: dialup-admin build-mgetty SRC")


def _say_details(app: AppContext, d: dict[str, Any]) -> None:
    app.say(f"  AUTO_PPP      {'yes' if d['auto_ppp'] else 'no'}")
    app.say(f"  features      {' '.join(d['features']) or '(none)'}")
    app.say(f"  config dir    {d['config_dir']}")
    for key in ("mgetty_config", "login_config"):
        f = d[key]
        state = f"{f['mode']} uid {f['uid']}" if f["exists"] else "absent"
        app.say(f"  {key.replace('_', '.'):<13} {f['path']} ({state})")
        if "problem" in f:
            app.say(f"    warning: {f['problem']}")
    app.say(f"  log file      {d['log_pattern'].replace('%s', '<tty>')}")
    if d["lock_pattern"]:
        app.say(f"  lock file     {d['lock_pattern'].replace('%s', '<tty>')}")


COMMANDS: list[click.Command] = [build_mgetty, mgetty_info]
