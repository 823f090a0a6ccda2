"""What each command writes and how to undo it: the FILES and UNDO sections of the man pages.

The same facts as the README's per-command "writes" tables and undo notes, kept here as
data so the man pages are generated from them (``tests/test_docs.py`` checks that every
path below is named in the README's section for the command). Paths are as the running
system names them; ``--root DIR`` puts every one of them below DIR.
"""

from __future__ import annotations

from dataclasses import dataclass

JOURNAL = "/var/lib/dialup-admin/journal/"
RUN_LOCK = "/var/lib/dialup-admin/lock"


@dataclass(frozen=True)
class Written:
    path: str
    what: str
    mode: str = ""


@dataclass(frozen=True)
class Facts:
    writes: tuple[Written, ...] = ()  # empty: the command writes nothing
    undo: str = ""  # empty: nothing to undo
    exit_status: str = ""  # beyond the usual 0 / 1 / 2


def _journal() -> tuple[Written, ...]:
    return (
        Written(JOURNAL, "the previous state of every file this run changed, for rollback", "0700"),
        Written(RUN_LOCK, "held while changing files, so two runs never interleave"),
    )


ACCOUNT_FILES = (
    Written("/etc/passwd, /etc/shadow, /etc/group, /etc/gshadow",
            "the account, through groupadd, useradd and chpasswd (the password on stdin, SHA-512)",
            "as shadow-utils sets"),
)

SERVER = Facts(
    writes=(
        Written("/etc/mgetty/mgetty.config",
                "the guide's debug 9, speed 57600, data-only yes, login-time 30, answer-chat-timeout 60, "
                "toggle-dtr yes, and a port section per line (a source build of mgetty reads "
                "/usr/local/etc/mgetty+sendfax/ instead)", "0644"),
        Written("/etc/mgetty/login.config",
                "/AutoPPP/ - ppp /usr/sbin/pppd auth -chap +pap login debug, and * - - /bin/login @",
                "0600 root:root (mgetty ignores it otherwise)"),
        Written("/etc/ppp/options", "a marked block: asyncmap 0, mtu 1500, mru 1500, lcp-echo-interval 10, "
                "lcp-echo-failure 3; lines outside it are kept", "kept"),
        Written("/etc/ppp/options.TTY", "the line's local:remote address pair and ms-dns", "0644"),
        Written("/etc/ppp/pap-secrets", "an empty marked block that adduser fills", "0600"),
        Written("/etc/inittab", "a marked block: S1:2345:respawn:/sbin/mgetty ttyS1 -D /dev/ttyS1, then telinit q",
                "kept"),
        Written("/etc/systemd/system/mgetty@.service",
                "instead of inittab under systemd, with getty.target.wants/mgetty@TTY.service; then "
                "systemctl daemon-reload and systemctl start of the lines not running (running lines are left "
                "running; removed ones stopped), checked 5 s later", "0644"),
        Written("/etc/systemd/system/dialup-answer@.service",
                "for lines given as TTY:direct: dialup-admin answer TTY instead of mgetty, with "
                "multi-user.target.wants/dialup-answer@TTY.service (under inittab: a respawn line)", "0644"),
        Written("/etc/passwd, /etc/shadow, /etc/group, /etc/gshadow",
                "group ppp (3000), users ppp (3000) and fax (3001) with shell /bin/false, via groupadd and useradd",
                "as shadow-utils sets"),
        Written("/etc/ppp/ip-up.d/dialup-admin, /etc/ppp/ip-down.d/dialup-admin",
                "hooks appending session records to /var/log/dialup-admin/sessions.log (see sessions)", "0755"),
        Written("/etc/dialup-admin/server.json", "what was set up, read by the other commands", "0644"),
        Written("/etc/dialup-admin/nat.nft, /etc/sysctl.d/60-dialup-admin.conf",
                "with --share-internet IFACE: the nftables table ip dialup_admin and ip_forward "
                "(and dialup-admin-nat.service under systemd)", "0644"),
        Written("/etc/ppp/radius/radiusclient.conf, /etc/ppp/radius/servers",
                "with --radius HOST: pppd's radius.so configuration (servers in order, nas_identifier) and "
                "the shared secret; options.TTY then loads the plugin", "0600 root"),
        Written("/etc/ppp/radius/dictionary, /etc/ppp/radius/port-id-map",
                "with --radius: the attributes radius.so reads and sends, NAS-Port per line", "0644"),
        *_journal(),
    ),
    undo="dialup-admin rollback restores every file this run changed, and the account databases "
         "(run it again to step further back); setup-server --no-share-internet removes the NAT table, "
         "setup-server --no-radius the RADIUS files.",
)

ADDUSER = Facts(
    writes=(*ACCOUNT_FILES,
            Written("/etc/ppp/pap-secrets", "NAME * @login ADDRESS in the dialup-admin block", "0600"),
            *_journal()),
    undo="dialup-admin deluser NAME, or dialup-admin rollback right after.",
)

FACTS: dict[str, Facts] = {
    "setup-server": SERVER,
    "rollback": Facts(
        writes=(Written("every file the newest journal entry names",
                        "put back as it was (or removed, when the apply created it); telinit q again "
                        "where /etc/inittab changed, or systemctl daemon-reload and the units the apply "
                        "started stopped, those it stopped started"),
                Written(JOURNAL, "the newest entry is used up, so the next rollback goes further back", "0700"),
                Written(RUN_LOCK, "held while restoring")),
        undo="Run the command that made the change again.",
    ),
    "adduser": ADDUSER,
    "passwd": Facts(
        writes=(Written("/etc/shadow", "the new password hash, through chpasswd (the password on stdin)",
                        "as shadow-utils sets"),
                Written("/etc/ppp/pap-secrets", "the user's entry, put back if it was missing", "0600"),
                *_journal()),
        undo="dialup-admin rollback right after restores the previous password.",
    ),
    "deluser": Facts(
        writes=(Written("/etc/passwd, /etc/shadow, /etc/group, /etc/gshadow", "the account removed, through userdel",
                        "as shadow-utils sets"),
                Written("/etc/ppp/pap-secrets", "the user's entry removed from the dialup-admin block", "0600"),
                *_journal()),
        undo="dialup-admin rollback restores the account, its password and the entry.",
    ),
    "users": Facts(),
    "simulate-line": Facts(
        writes=(Written("PORT (each --line)", "a symlink to the line's pseudo-terminal, removed on exit"),),
    ),
    "test-modem": Facts(
        writes=(Written("/var/lock/LCK..TTY", "the port's UUCP lock (ASCII pid), removed at the end"),
                Written("/var/lib/dialup-admin/voice-TTY.json",
                        "with --voice: what the modem's voice mode can do, for setup-server and doctor", "0644")),
        exit_status="0 the modem passed, 1 it failed (one line says why).",
    ),
    "detect": Facts(
        writes=(Written("/var/lock/LCK..TTY", "short-lived UUCP locks of the ports being probed"),),
        exit_status="0 a modem was found, 1 none.",
    ),
    "build-mgetty": Facts(
        writes=(Written("PREFIX/sbin/mgetty", "the AUTO_PPP build; the previous one kept as mgetty.old", "0755 root"),
                Written("PREFIX/etc/mgetty+sendfax/login.config, PREFIX/etc/mgetty+sendfax/mgetty.config",
                        "mgetty's templates, only where absent", "0600 root"),
                Written("/var/log/dialup-admin/build-mgetty.log", "the output of make"),
                *_journal()),
        undo="dialup-admin rollback restores the previous binary (or removes the new one) and the templates.",
    ),
    "mgetty-info": Facts(),
    "setup-client": Facts(
        writes=(Written("/etc/ppp/peers/NAME", "port, speed, lock, crtscts, modem, the chat script, user, "
                        "remotename, noauth, defaultroute, usepeerdns", "0644"),
                Written("/etc/ppp/chat-NAME", "ATZ, the init string, ATDT<number>, CONNECT; ABORT on BUSY, "
                        "NO CARRIER, NO DIALTONE, NO ANSWER, VOICE, ERROR", "0644"),
                Written("/etc/ppp/options", "a client block: asyncmap 0; lines outside it are kept", "kept"),
                Written("/etc/ppp/pap-secrets", "USER NAME \"secret\" in a client block", "0600"),
                Written("/etc/dialup-admin/client.json", "what was set up, read by dial", "0644"),
                *_journal()),
        undo="dialup-admin rollback.",
    ),
    "dial": Facts(
        writes=(Written("/var/lib/dialup-admin/dial-NAME.json", "the running pppd's pid and the link's addresses"),
                Written("/var/lock/LCK..TTY", "the port's UUCP lock, held by pppd while the link is up")),
        undo="dialup-admin hangup.",
    ),
    "hangup": Facts(
        writes=(Written("/var/lib/dialup-admin/dial-NAME.json", "removed once pppd has ended"),),
        undo="dialup-admin dial.",
    ),
    "status": Facts(),
    "stats": Facts(),
    "terminal": Facts(
        writes=(Written("/var/lock/LCK..TTY", "the port's UUCP lock, removed on leaving"),),
    ),
    "lab": Facts(
        writes=(Written("/tmp/dialup-lab-* (or --folder DIR)",
                        "the log folder: transcript.log, events.log, report.json, per guest syslog.log, "
                        "mgetty-ttyS1.log and steps/ (with --init systemd or sysvinit also the server's disk.img, "
                        "uart.log and boot-N/); removed when all passed, kept when something failed"),
                Written("/var/cache/dialup-admin/lab/ (~/.cache/dialup-admin/lab when not root)",
                        "sysvinit-core, and udev where this machine has none, fetched with apt-get download and "
                        "unpacked for the guests (never installed); kept for the next run"),),
        undo="Nothing to undo on this machine (the guests' /etc is their own); a log folder kept "
             "after a failure is removed with rm -r, the package cache with rm -r /var/cache/dialup-admin/lab.",
        exit_status="0 every call passed, 1 one failed.",
    ),
    "radius-server": Facts(
        writes=(Written("/etc/freeradius/3.0/sites-available/dialup-admin, /etc/freeradius/3.0/mods-available/dialup-admin",
                        "the pool's virtual server and its radutmp instance, linked in sites-enabled and "
                        "mods-enabled", "0640 freerad"),
                Written("/etc/freeradius/3.0/clients.conf", "a marked block: a client per --client NAME=ADDR "
                        "with the shared secret", "0640 freerad"),
                Written("/etc/freeradius/3.0/mods-config/files/authorize",
                        "a marked block at the top: the users (adduser --radius) and the PPP defaults",
                        "0640 freerad"),
                Written("/etc/dialup-admin/radius.json", "what was set up (no secrets)", "0644"),
                *_journal()),
        undo="dialup-admin rollback puts every file back and restarts FreeRADIUS; deluser NAME --radius "
             "for a user.",
    ),
    "answer": Facts(
        writes=(Written("/var/lock/LCK..TTY", "the port's UUCP lock (ASCII pid); pppd inherits it with the "
                        "call, the next answer removes it as stale"),
                Written("/var/log/dialup-admin/answer-TTY.log",
                        "one line per step (dial tone on, digits, answering, CONNECT, pppd pid), also to syslog", "0640")),
        undo="Nothing to undo: stop it (systemctl stop dialup-answer@TTY, or remove the line from setup-server).",
        exit_status="1 the modem cannot do it (no voice mode: use --no-dial-tone; silent; the port locked); "
                    "0 when stopped by a signal. On CONNECT it becomes pppd, whose status init sees.",
    ),
    "doctor": Facts(exit_status="0 all ok, 1 warnings, 2 errors."),
    "sessions": Facts(),
    "logs": Facts(),
}

# dialup-admin(8): what the tool keeps of its own, and what the admin's setup leaves behind.
OWN_FILES = (
    Written("/etc/dialup-admin/", "server.json, client.json, nat.nft: what was set up (the admin's configuration)"),
    Written("/var/lib/dialup-admin/", "apply journals for rollback, the run lock, dial records, "
            "test-modem --voice results"),
    Written("/var/log/dialup-admin/", "sessions.log (written by the ip-up/ip-down hooks), build-mgetty.log, "
            "answer-TTY.log"),
)

GENERAL_UNDO = (
    "dialup-admin rollback (repeatedly) restores every file to what it was before dialup-admin "
    "touched it, and the account databases with it. Also: deluser NAME for a user, hangup for a "
    "link, setup-server --no-share-internet for the NAT table. The homes useradd -m made for ppp "
    "and fax, the build log and the session records stay."
)
