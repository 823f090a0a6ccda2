"""doctor: everything that stops a caller getting in, each finding with its one-line fix.

Every check is a function of a :class:`~dialup_admin.core.findings.Target` (the tree
below ``--root`` and what setup-server recorded) returning
:class:`~dialup_admin.core.findings.Finding` s. This module holds the rules only: what
the machine shows comes from system/probe.py (files, programs, processes, and on the
running machine the kernel's nftables and a DNS answer; under ``--root`` those answer
"not checked"), what its files say from the parsers in formats/. Nothing is ever changed.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable

from dialup_admin.core import pap_rules, sessions, sharing
from dialup_admin.core.direct_doctor import check_direct
from dialup_admin.core.findings import ERROR, LEVELS, OK, WARNING, Finding, Target, ok
from dialup_admin.core.radius_doctor import check_radius
from dialup_admin.formats import inittab as inittab_fmt
from dialup_admin.formats import managed, mgetty_conf, ppp_options, uucp_lock
from dialup_admin.formats import secrets as secrets_fmt
from dialup_admin.paths import INITTAB, LOCK_DIR, PAP_SECRETS, PPP_OPTIONS, SERVER_STATE, SYSTEMD_DIR, tty_options
from dialup_admin.system import mgetty as mgetty_sys
from dialup_admin.system import nft

EXIT = {OK: 0, WARNING: 1, ERROR: 2}
# A modem waits S7 seconds for carrier; mgetty must wait longer for CONNECT. Hayes default.
DEFAULT_S7 = 50

Check = Callable[[Target], list[Finding]]


# --- kernel and programs --------------------------------------------------------------


def check_kernel_ppp(t: Target) -> list[Finding]:
    k = t.kernel_ppp()
    if k is None:
        return ok("kernel-ppp", "not checked: the tree has no /dev (checked on the running machine)")
    if not k.dev_ppp:
        if k.generic_loaded:
            return [Finding("kernel-ppp", ERROR, "ppp_generic is loaded but /dev/ppp is missing",
                            "mknod /dev/ppp c 108 0 && chmod 600 /dev/ppp")]
        if k.generic_module:
            return [Finding("kernel-ppp", ERROR, "no /dev/ppp: the PPP modules are not loaded",
                            "modprobe ppp_generic ppp_async (and add them to /etc/modules)")]
        return [Finding("kernel-ppp", ERROR, "this kernel has no PPP support (no /dev/ppp, no ppp_generic module)",
                        "boot a kernel built with CONFIG_PPP and CONFIG_PPP_ASYNC (Debian's linux-image has both)")]
    if not k.async_loaded and not k.async_module:
        return [Finding("kernel-ppp", ERROR, "/dev/ppp is there but ppp_async (PPP over serial lines) is not",
                        "modprobe ppp_async, or use a kernel with CONFIG_PPP_ASYNC")]
    return ok("kernel-ppp", "kernel PPP: /dev/ppp and ppp_async available")


def check_programs(t: Target) -> list[Finding]:
    out = []
    pppd = str((t.state or {}).get("pppd") or "/usr/sbin/pppd")
    if t.find_program(pppd) is None:
        out.append(Finding("pppd", ERROR, f"{pppd} is missing", "apt-get install ppp"))
    else:
        out.append(Finding("pppd", OK, f"{pppd} present"))
    if t.find_program("/usr/sbin/chat") is None:
        out.append(Finding("chat", WARNING, "/usr/sbin/chat is missing (needed to dial out and for test calls)",
                           "apt-get install ppp"))
    else:
        out.append(Finding("chat", OK, "/usr/sbin/chat present"))
    return out


def check_mgetty(t: Target) -> list[Finding]:
    if t.lines and not t.mgetty_ttys:
        return ok("mgetty-autoppp", "only direct lines: mgetty is not needed")
    binary = str((t.state or {}).get("mgetty_binary") or "")
    candidates = [binary] if binary else list(mgetty_sys.CANDIDATES)
    for c in candidates:
        layout = t.mgetty_layout(c)
        if layout is None:
            continue
        if not layout.auto_ppp:
            return [Finding("mgetty-autoppp", ERROR, f"{c} was built without AUTO_PPP: PPP callers get login:",
                            "dialup-admin build-mgetty, then setup-server --mgetty /usr/local/sbin/mgetty")]
        return ok("mgetty-autoppp", f"{c} has AUTO_PPP")
    what = binary or "mgetty"
    return [Finding("mgetty-autoppp", ERROR, f"{what} is not installed",
                    "apt-get install mgetty, or dialup-admin build-mgetty")]


# --- files setup-server rendered ---------------------------------------------------


def _mode_owner(t: Target, check: str, system_path: str, mode: int | None) -> list[Finding]:
    """Owner root, not writable by others along the whole path; ``mode`` exactly when given."""
    have = t.owner(system_path)
    if mode is not None and have.mode != mode:
        return [Finding(check, ERROR, f"{system_path} has mode {have.mode:04o}, not {mode:04o}",
                        f"chmod {mode:04o} {system_path}")]
    if have.uid != 0 or (mode is not None and have.gid != 0):
        return [Finding(check, ERROR, f"{system_path} is not owned by root:root",
                        f"chown root:root {system_path}")]
    # pppd >= 2.5 refuses option and secrets files on a path others can write.
    sp = t.open_to_others(system_path)
    if sp is not None:
        return [Finding("writable-path", ERROR, f"{sp} is writable by group or others (pppd refuses such paths)",
                        f"chmod go-w {sp}")]
    return []


def _file(t: Target, check: str, system_path: str, mode: int | None = None, *,
          why_missing: str = "rerun dialup-admin setup-server") -> tuple[bytes | None, list[Finding]]:
    data = t.read(system_path)
    if data is None:
        return None, [Finding(check, ERROR, f"{system_path} is missing", why_missing)]
    return data, _mode_owner(t, check, system_path, mode)


def _block_state(check: str, system_path: str, data: bytes, name: str) -> list[Finding]:
    try:
        s = managed.split(data, system_path, name=name)
    except managed.BlockError:
        return [Finding(check, ERROR, f"{system_path}: the dialup-admin markers are broken",
                        "fix the # BEGIN/# END dialup-admin lines, or rerun setup-server --force")]
    if s.body is None:
        return [Finding(check, ERROR, f"{system_path} has no dialup-admin block", "rerun dialup-admin setup-server")]
    if s.hand_edited:
        return [Finding(check, WARNING, f"{system_path}: the dialup-admin block was edited by hand",
                        "move your lines out of the block, then rerun setup-server (--force keeps ours)")]
    return []


def check_setup(t: Target) -> list[Finding]:
    if t.state is None:
        return [Finding("setup", ERROR, f"no server is set up here ({SERVER_STATE} is missing)",
                        "dialup-admin setup-server --tty ttyS1")]
    if t.state.get("_damaged") or not t.lines:
        why = str(t.state.get("_damaged") or f"{SERVER_STATE} is damaged (it names no line)")
        problem, _, fix = why.partition(": ")
        return [Finding("setup", ERROR, problem, fix or "rerun dialup-admin setup-server")]
    return ok("setup", f"server set up for {', '.join(t.ttys)}")


def check_files(t: Target) -> list[Finding]:
    if not t.lines:
        return []
    out: list[Finding] = []
    cfg = t.config_dir
    login, f = _file(t, "login-config", f"{cfg}/login.config", 0o600) if t.mgetty_ttys else (None, [])
    out += f
    if login is not None and not f:
        lines = mgetty_conf.autoppp_lines(login)
        if not lines or "ppp" not in lines[0][:3] and not any("pppd" in w for w in lines[0]):
            out.append(Finding("login-config", ERROR, f"{cfg}/login.config has no /AutoPPP/ line starting pppd",
                               "rerun dialup-admin setup-server"))
        elif not any(w.startswith("/") and w.endswith("pppd") and t.find_program(w) for w in lines[0]):
            out.append(Finding("login-config", ERROR, f"{cfg}/login.config names a pppd that does not exist",
                               "apt-get install ppp, then rerun setup-server"))
    if not [x for x in out if x.check == "login-config"] and t.mgetty_ttys:
        out.append(Finding("login-config", OK, f"{cfg}/login.config: /AutoPPP/ runs pppd, 0600 root:root"))

    if t.mgetty_ttys:
        mc, f = _file(t, "mgetty-config", f"{cfg}/mgetty.config")
        out += f or ([] if mc is None else [Finding("mgetty-config", OK, f"{cfg}/mgetty.config present")])

    opts, f = _file(t, "ppp-options", PPP_OPTIONS)
    if opts is not None and not f:
        f = _block_state("ppp-options", PPP_OPTIONS, opts, "server")
    out += f or [Finding("ppp-options", OK, f"{PPP_OPTIONS} has the dialup-admin block")]

    for d in t.lines:
        path = tty_options(d["tty"])
        data, f = _file(t, "ppp-options-tty", path)
        if data is not None and not f:
            want = f"{d.get('local')}:{d.get('remote')}"
            if [want] not in ppp_options.lines(data):
                f = [Finding("ppp-options-tty", ERROR, f"{path} lacks the address pair {want}",
                             "rerun dialup-admin setup-server")]
        out += f or [Finding("ppp-options-tty", OK, f"{path}: {d.get('local')}:{d.get('remote')}")]

    pap, f = _file(t, "pap-secrets-file", PAP_SECRETS, 0o600)
    out += f or [Finding("pap-secrets-file", OK, f"{PAP_SECRETS} is 0600 root:root")]
    return out


def check_service(t: Target) -> list[Finding]:
    """What starts mgetty on each of its lines, and whether it runs there now."""
    if not t.lines or not t.mgetty_ttys:
        return []  # direct lines only: check_direct
    init = (t.state or {}).get("init")
    out = _service_config(t, init)
    if not out:
        out.append(Finding("service", OK, f"mgetty is started by {init} on {', '.join(t.mgetty_ttys)}"))
    if t.procs is None:
        return out + ok("mgetty-running", "not checked: the tree has no /proc")
    # Where the service itself is broken for a line, its fix is also what starts mgetty there.
    fixes = {tty: f.fix for f in out if f.level == ERROR for tty in t.mgetty_ttys if tty in f.message.split(" ")
             or f"mgetty@{tty}.service" in f.message}
    for tty in t.mgetty_ttys:
        call = t.call_pid(tty)
        if call is not None:
            out.append(Finding("mgetty-running", OK, f"a call is in progress on {tty} (pppd {call}, "
                                                     "which mgetty became; it answers again after the call)"))
        elif not any(p.program == "mgetty" and p.names_tty(tty) for p in t.procs):
            start = fixes.get(tty) or (f"systemctl start mgetty@{tty}.service" if init == "systemd" else "telinit q")
            out.append(Finding("mgetty-running", ERROR, f"mgetty is not running on {tty}", start))
        else:
            out.append(Finding("mgetty-running", OK, f"mgetty is running on {tty}"))
    return out


def _service_config(t: Target, init: object) -> list[Finding]:
    """The problems of the inittab lines or systemd units that start mgetty."""
    out: list[Finding] = []
    if init == "inittab":
        data = t.read(INITTAB) or b""
        entries = inittab_fmt.entries(data)
        # A line deleted from our block by hand breaks its checksum: setup-server then needs --force.
        force = " --force" if _block_state("service", INITTAB, data, "server") else ""
        for tty in t.mgetty_ttys:
            if not any(e.action == "respawn" and "mgetty" in e.process and tty in e.process.split()
                       for e in entries):
                out.append(Finding("service", ERROR, f"{INITTAB} has no mgetty respawn line for {tty}",
                                   f"rerun dialup-admin setup-server{force} (it puts the line back and runs telinit q)"))
    elif init == "systemd":
        if t.read(f"{SYSTEMD_DIR}/mgetty@.service") is None:
            out.append(Finding("service", ERROR, f"{SYSTEMD_DIR}/mgetty@.service is missing",
                               "rerun dialup-admin setup-server"))
        for tty in t.mgetty_ttys:
            if not t.is_link(f"{SYSTEMD_DIR}/getty.target.wants/mgetty@{tty}.service"):
                out.append(Finding("service", ERROR, f"mgetty@{tty}.service is not enabled",
                                   f"systemctl enable --now mgetty@{tty}.service"))
    else:
        out.append(Finding("service", WARNING, "nothing keeps mgetty running (setup-server --init none)",
                           "rerun setup-server with --init inittab or --init systemd"))
    return out


# --- pap-secrets -------------------------------------------------------------------------


# doctor's words for the rules of core/pap_rules.py it reports: message and fix, then the ok line.
_PAP_WORDS = {
    "secret-empty": ("pap-secrets line {line}: {client} has an empty secret and pppd's login option is off: "
                     "anyone gets in with an empty password",
                     "make the secret @login (pppd then checks the system password): "
                     "dialup-admin adduser {client} --force",
                     "no empty secrets without login"),
    "secret-wildcard": ("pap-secrets line {line}: the client '*' accepts any user name",
                        "replace it with one line per user (dialup-admin adduser NAME)",
                        "no wildcard clients"),
    "secret-no-account": ("pap-secrets line {line}: {client} has no system account, and pppd's login option "
                          "makes it need one: the caller is refused",
                          "dialup-admin adduser {client}, or remove the line",
                          "every pap-secrets user has an account"),
    "system-account": ("system account {account} (uid {uid}) can dial in through pap-secrets line {line}",
                       "deny it: add the line '{account} * \"*\" -' to /etc/ppp/pap-secrets "
                       "(dialup-admin adduser adds such lines)",
                       "system accounts cannot dial in"),
}


def check_pap_secrets(t: Target) -> list[Finding]:
    """The pap-secrets rules (core/pap_rules.py) at the level they have now, with login as it is set."""
    entries = t.pap_entries()
    if entries is None or not t.lines:
        return []
    facts = pap_rules.Facts(login=t.login_in_effect(), accounts=t.passwd() or None)
    found = [i for e in entries for i in pap_rules.issues(e, facts, ("secret-empty", "secret-wildcard"))]
    found += [i for e in entries for i in pap_rules.issues(e, facts, ("secret-no-account",))]
    found += pap_rules.system_accounts(entries, facts, t.shadow_locked)
    out = []
    for i in found:
        if i.level in (ERROR, WARNING):
            message, fix, _ = _PAP_WORDS[i.rule]
            fields = {"line": i.entry.line, "client": i.entry.client, "account": i.account, "uid": i.uid}
            out.append(Finding(i.rule, i.level, message.format(**fields), fix.format(**fields)))
    reported = {f.check for f in out}
    return out + [Finding(rule, OK, words[2]) for rule, words in _PAP_WORDS.items() if rule not in reported]


# --- mgetty.config against the modem ----------------------------------------------------------


def check_mgetty_config(t: Target) -> list[Finding]:
    data = t.read(f"{t.config_dir}/mgetty.config")
    if data is None or not t.lines:
        return []
    glob, ports = mgetty_conf.parse(data)
    out: list[Finding] = []
    for tty in t.mgetty_ttys:
        eff = {**glob, **ports.get(tty, {})}
        chat = eff.get("init-chat", "")
        s7 = mgetty_conf.register(chat, 7) or DEFAULT_S7
        try:
            act = int(eff.get("answer-chat-timeout", "80"))
            rings = int(eff.get("rings", "1"))
        except ValueError:
            out.append(Finding("mgetty-config", ERROR, f"{tty}: answer-chat-timeout or rings in mgetty.config is not a number",
                               "rerun dialup-admin setup-server"))
            continue
        if act < s7 + 5:
            out.append(Finding("answer-chat-timeout", WARNING,
                               f"{tty}: answer-chat-timeout {act} s is shorter than the modem's S7 ({s7} s) + 5: "
                               "mgetty hangs up on slow handshakes",
                               f"setup-server --answer-chat-timeout {s7 + 5} (or more)"))
        else:
            out.append(Finding("answer-chat-timeout", OK, f"{tty}: answer-chat-timeout {act} s >= S7 {s7} + 5"))
        s0 = mgetty_conf.register(chat, 0)
        if s0 is not None and s0 > 0 and s0 != rings:
            out.append(Finding("rings", WARNING,
                               f"{tty}: the modem answers by itself after {s0} rings (S0={s0}) but mgetty waits "
                               f"for {rings}: both try to answer",
                               "set ATS0=0 in init-chat (mgetty answers), or rings to S0"))
        else:
            out.append(Finding("rings", OK, f"{tty}: rings {rings}, modem auto-answer off or the same"))
    return out


# --- other programs on the port --------------------------------------------------------------


def check_port_users(t: Target) -> list[Finding]:
    if not t.lines:
        return []
    out: list[Finding] = []
    procs = t.procs or []
    mm_link = f"{SYSTEMD_DIR}/multi-user.target.wants/ModemManager.service"
    if any(p.comm == "ModemManager" for p in procs) or t.is_link(mm_link):
        out.append(Finding("modemmanager", WARNING, "ModemManager runs (or starts at boot): it probes serial modems",
                           "systemctl disable --now ModemManager"))
    else:
        out.append(Finding("modemmanager", OK, "ModemManager is not running"))
    inittab = t.read(INITTAB) or b""
    try:
        outside = managed.split(inittab, INITTAB, name="server").outside
    except managed.BlockError:
        outside = b""
    for tty in t.ttys:
        found: list[Finding] = []
        getty = f"{SYSTEMD_DIR}/getty.target.wants/serial-getty@{tty}.service"
        if t.is_link(getty) or any(p.program.endswith("getty") and p.program != "mgetty" and p.names_tty(tty)
                                     for p in procs):
            found.append(Finding("serial-getty", ERROR, f"a serial getty also runs on {tty}",
                                 f"systemctl disable --now serial-getty@{tty}.service"))
        for e in inittab_fmt.entries(outside):
            if e.action in ("respawn", "once") and "mgetty" not in e.process and \
                    (tty in e.process.split() or f"/dev/{tty}" in e.process.split()):
                found.append(Finding("serial-getty", ERROR, f"{INITTAB} line {e.lineno} runs {e.process.split()[0]} "
                                     f"on {tty}", f"comment out line {e.lineno} of {INITTAB}, then telinit q"))
        for p in procs:
            if p.program == "pppd" and p.names_tty(tty):
                found.append(Finding("other-pppd", ERROR, f"pppd (pid {p.pid}) is using {tty} itself",
                                     f"stop it (kill {p.pid}) or dial out on another port"))
        found += _lock_findings(t, tty)
        out += found or [Finding("port-users", OK, f"nothing else holds {tty}")]
    return out


def _lock_findings(t: Target, tty: str) -> list[Finding]:
    lock = f"{LOCK_DIR}/LCK..{tty}"
    data = t.read(lock)
    if data is None or t.procs is None:
        return []
    pid = uucp_lock.pid(data)
    holder = next((p for p in t.procs if p.pid == pid), None)
    if holder is None:
        return [Finding("stale-lock", WARNING, f"{lock} names pid {-1 if pid is None else pid}, which is gone: "
                        "dial-outs are refused", f"rm {lock}")]
    if holder.program not in ("mgetty", "pppd") and not holder.is_answer(tty):
        return [Finding("port-locked", WARNING, f"{holder.program} (pid {pid}) holds {tty} ({lock})",
                        f"stop {holder.program} (kill {pid})")]
    return []


# --- addresses ------------------------------------------------------------------------------


def check_addresses(t: Target) -> list[Finding]:
    if not t.lines or not t.state:
        return []
    out: list[Finding] = []
    seen: dict[str, str] = {}
    for d in t.lines:
        for role in ("local", "remote"):
            a = str(d.get(role))
            if a in seen:
                out.append(Finding("address-duplicate", ERROR, f"{d['tty']} {role} address {a} is also {seen[a]}'s",
                                   "rerun setup-server with distinct ttyX=LOCAL:REMOTE pairs"))
            seen[a] = d["tty"]
    for e in t.pap_entries() or []:
        for a in e.addresses:
            if a in seen and e.client != secrets_fmt.WILD:
                out.append(Finding("address-duplicate", ERROR,
                                   f"pap-secrets line {e.line}: {e.client}'s static address {a} is a line address "
                                   f"of {seen[a]}", f"give {e.client} another address outside the line pairs"))
    if not out:
        out.append(Finding("address-duplicate", OK, "every address is used once"))
    try:
        pool = ipaddress.IPv4Network(str(t.state.get("pool")))
    except ValueError:
        return out + [Finding("address-pool", ERROR, "server.json has no valid pool", "rerun setup-server")]
    clash = [r for r in t.lan_networks() if pool.overlaps(r.network)]
    if clash and not t.state.get("proxyarp"):
        r = clash[0]
        out.append(Finding("address-pool", ERROR,
                           f"the pool {pool} overlaps {r.network} on {r.iface}: callers' packets go to the LAN",
                           "setup-server --pool with a free network, or --proxyarp when callers belong on that LAN"))
    else:
        note = f" (inside {clash[0].network} on {clash[0].iface}, with proxyarp)" if clash else ""
        out.append(Finding("address-pool", OK, f"pool {pool} is free{note}"))
    return out


# --- internet for callers ----------------------------------------------------------------------


def check_sharing(t: Target) -> list[Finding]:
    state = t.state or {}
    upstream = state.get("share_internet")
    if not isinstance(upstream, str) or not t.lines:
        return []
    out: list[Finding] = []
    if t.interface_exists(upstream) is False:
        out.append(Finding("share-iface", ERROR, f"the shared interface {upstream} does not exist",
                           "setup-server --share-internet IFACE with an interface ip link lists"))
    data = t.read(sharing.FORWARD)
    fwd = None if data is None else data.decode(errors="replace").strip()
    if fwd is None:
        out.append(Finding("ip-forward", OK, "not checked: the tree has no /proc/sys"))
    elif fwd != "1":
        out.append(Finding("ip-forward", ERROR, "IPv4 forwarding is off: callers reach only this host",
                           "sysctl -w net.ipv4.ip_forward=1 (setup-server keeps it on at boot via /etc/sysctl.d)"))
    else:
        out.append(Finding("ip-forward", OK, "IPv4 forwarding is on"))
    if t.read(nft.RULESET) is None:
        out.append(Finding("nat-rules", ERROR, f"{nft.RULESET} is missing",
                           f"rerun dialup-admin setup-server --share-internet {upstream}"))
    table = t.probe.nft_table()
    pool = str(state.get("pool"))
    if table is None:
        out.append(Finding("nat-loaded", OK, "not checked: kernel rules are only read on the running machine"))
    elif not table:
        out.append(Finding("nat-loaded", ERROR, f"the NAT table {nft.TABLE} is not loaded",
                           f"nft -f {nft.RULESET}"))
    elif not nft.masquerades(table, pool, upstream):
        out.append(Finding("nat-loaded", ERROR, f"the loaded table {nft.TABLE} does not masquerade {pool} "
                           f"out of {upstream}", f"nft -f {nft.RULESET}"))
    else:
        out.append(Finding("nat-loaded", OK, f"{pool} is masqueraded out of {upstream}"))
    ruleset = t.probe.nft_ruleset()
    for table_name in nft.forward_drops(ruleset or ""):
        out.append(Finding("forward-policy", WARNING,
                           f"table {table_name} drops forwarded packets by default: callers may not get out",
                           f"accept forwarding from ppp* to {upstream} in table {table_name}"))
    return out


def check_dns(t: Target) -> list[Finding]:
    """Each line's ms-dns: an address that answers callers (this host listening, or reachable through NAT)."""
    if not t.lines:
        return []
    out: list[Finding] = []
    for d in t.lines:
        data = t.read(tty_options(d["tty"])) or b""
        servers = ppp_options.values(data, "ms-dns")
        if not servers:
            out.append(Finding("dns", WARNING, f"callers on {d['tty']} get no DNS server (no ms-dns)",
                               "setup-server --dns ADDR"))
        out += [_dns_server(t, d["tty"], s) for s in servers]
    return out


def _dns_server(t: Target, tty: str, s: str) -> Finding:
    try:
        addr = ipaddress.IPv4Address(s)
    except ValueError:
        return Finding("dns", ERROR, f"options.{tty}: ms-dns {s} is not an address", "setup-server --dns ADDR")
    if s in {str(x.get("local")) for x in t.lines}:
        listening = t.udp_listeners(53)  # None: the tree has no /proc
        if listening is None:
            return Finding("dns", OK, f"{tty}: DNS {s} (this host) not checked: no /proc in the tree")
        if ipaddress.IPv4Address(0) in listening or addr in listening:
            return Finding("dns", OK, f"{tty}: this host answers DNS on {s}")
        return Finding("dns", ERROR, f"{tty}: callers are told to use DNS {s} (this host), "
                       "but nothing here listens on port 53 there",
                       "install a resolver (apt-get install dnsmasq) or setup-server --dns ADDR")
    if not isinstance((t.state or {}).get("share_internet"), str):
        return Finding("dns", WARNING, f"{tty}: DNS {s} is elsewhere, but callers can only reach this host",
                       "setup-server --share-internet IFACE, or --dns with a local one")
    answered = t.probe.dns_answers(addr)
    if answered is None:
        return Finding("dns", OK, f"{tty}: DNS {s} not checked (only on the running machine)")
    if answered:
        return Finding("dns", OK, f"{tty}: DNS {s} answers")
    return Finding("dns", ERROR, f"{tty}: DNS {s} does not answer from here", "setup-server --dns with a reachable server")


# --- session hooks ------------------------------------------------------------------------------


def check_hooks(t: Target) -> list[Finding]:
    if not t.lines:
        return []
    out: list[Finding] = []
    for event, hook in sessions.HOOKS.items():
        if not t.is_file(hook):
            out.append(Finding("session-hooks", WARNING, f"{hook} is missing: calls are not recorded",
                               "rerun dialup-admin setup-server"))
            continue
        if not t.executable(hook):
            out.append(Finding("session-hooks", WARNING, f"{hook} is not executable: calls are not recorded",
                               f"chmod 755 {hook}"))
            continue
        out += _mode_owner(t, "session-hooks", hook, None)
        wrapper = f"/etc/ppp/{event}"
        data = t.read(wrapper)
        runs = data is not None and (
            sessions.runs_hook_dir(data, event)
            or managed.body_of(data, wrapper, name=sessions.WRAPPER_BLOCK) is not None)
        if not runs:
            out.append(Finding("session-hooks", WARNING, f"{wrapper} does not run {hook}",
                               "rerun dialup-admin setup-server"))
        elif not t.executable(wrapper):
            out.append(Finding("session-hooks", WARNING, f"{wrapper} is not executable: pppd cannot run it",
                               f"chmod 755 {wrapper}"))
        local = f"/etc/ppp/{event}.local"
        if data is not None and f"{event}.local".encode() in data and t.is_file(local) and t.executable(local):
            out.append(Finding("session-hooks", WARNING, f"/etc/ppp/{event}.local replaces run-parts in {wrapper}: "
                               "calls are not recorded",
                               f"add 'run-parts /etc/ppp/{event}.d --arg=\"$1\"...' to /etc/ppp/{event}.local"))
    if t.exists(sessions.RECORDS) and not t.is_file(sessions.RECORDS):
        out.append(Finding("session-records", ERROR, f"{sessions.RECORDS} is not a regular file: the hooks "
                           "cannot append to it and sessions will not read it", f"mv {sessions.RECORDS} {sessions.RECORDS}.bad"))
    elif t.is_file(sessions.RECORDS):
        owner = t.owner(sessions.RECORDS)
        if owner.uid != 0 or owner.mode & 0o022:
            out.append(Finding("session-records", ERROR, f"{sessions.RECORDS} can be written by others",
                               f"chown root {sessions.RECORDS}; chmod 640 {sessions.RECORDS}"))
    if not out:
        out.append(Finding("session-hooks", OK, "ip-up/ip-down record every call"))
    return out


CHECKS: tuple[Check, ...] = (
    check_kernel_ppp, check_programs, check_mgetty, check_setup, check_files, check_service, check_direct,
    check_pap_secrets, check_mgetty_config, check_port_users, check_addresses, check_sharing,
    check_dns, check_hooks, check_radius,
)


def run_checks(target: Target, checks: Iterable[Check] = CHECKS) -> list[Finding]:
    """Every finding, in check order, each problem once (one group-writable directory
    spoils every file below it). A check that cannot read something reports it, never raises."""
    out: list[Finding] = []
    seen: set[tuple[str, str]] = set()
    for check in checks:
        try:
            found = check(target)
        except PermissionError as exc:
            found = [Finding(check.__name__.removeprefix("check_").replace("_", "-"), ERROR,
                             f"cannot read {exc.filename}", "run doctor as root")]
        for f in found:
            if f.level != OK and (f.level, f.message) in seen:
                continue
            seen.add((f.level, f.message))
            out.append(f)
    return out


def worst(findings: Iterable[Finding]) -> str:
    level = OK
    for f in findings:
        if LEVELS.index(f.level) > LEVELS.index(level):
            level = f.level
    return level


def render_table(findings: list[Finding], verbose: bool = False) -> str:
    """The findings for people: problems first with their fix; the ok ones counted (listed with -v)."""
    rows: list[str] = []
    for f in sorted(findings, key=lambda f: -LEVELS.index(f.level)):
        if f.level == OK and not verbose:
            continue
        rows.append(f"{f.level.upper():8} {f.check:20} {f.message}")
        if f.fix:
            rows.append(f"{'':8} {'':20} fix: {f.fix}")
    counts = {lv: sum(1 for f in findings if f.level == lv) for lv in LEVELS}
    rows.append(f"{counts[ERROR]} error(s), {counts[WARNING]} warning(s), {counts[OK]} ok")
    return "\n".join(rows)
