"""``lab --radius``: a pool of two dial-in servers and one FreeRADIUS, on the real stack.

Four user-mode Linux guests:

- **radius** (10.0.99.10 and 10.0.99.11 on eth0): Debian's FreeRADIUS, set up with
  ``radius-server``, users made with ``adduser --radius``; the two addresses stand for a
  primary and a backup RADIUS server (one daemon answers on both);
- **server1**, **server2** (10.0.99.1, 10.0.99.2): ``setup-server --radius radius1 --radius
  radius2``, mgetty answering on their modem (numbers 11 and 12);
- **caller**: two modems (21 on ttyS1, 22 on ttyS2), peers ``one`` (dials server1) and
  ``two`` (dials server2).

The guests' eth0 are joined by UML's multicast transport (``eth0=mcast``: no host
privilege needed; TTL 0, so nothing leaves this machine); the phone line is the project's
modem simulator, as in ``lab``.

The story, each step checked: alice calls server1 and bob calls server2, both let in by
the one FreeRADIUS and both in its accounting (``sessions --radius``); bob with a wrong
password is refused; alice, still on server1, is refused on server2 (Simultaneous-Use 1);
with the primary's address gone, server2 waits it out and the backup lets alice in; with
FreeRADIUS stopped, she is refused and ``logs`` on server2 says RADIUS was not answering.

Writes nothing of this machine's configuration: the lab folder only (see ``lab``).
"""

from __future__ import annotations

import json
import random
import re
import shlex
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from dialup_admin.errors import UserError
from dialup_admin.lab.agent import HEARTBEAT, Agent, StepResult, agent_script
from dialup_admin.lab.guest import Guest, GuestError
from dialup_admin.lab.scenario import (
    _SHOWN_SERVER_LOG,
    _SYSLOG_PREFIX,
    Call,
    Lab,
    Report,
    Say,
    User,
    check_host,
    drop_dtr,
    mgetty_command,
    new_lines,
    reporting,
    wait_mgetty_on,
)
from dialup_admin.modem.simulator import PhoneLine
from dialup_admin.render import render

NET = "10.0.99"
RADIUS_ADDRS = (f"{NET}.10", f"{NET}.11")  # primary, backup (both on the radius guest)
SERVERS = {"server1": ("11", f"{NET}.1"), "server2": ("12", f"{NET}.2")}
POOLS = {"server1": "192.168.32.0/24", "server2": "192.168.33.0/24"}  # each server its own callers' addresses
PEERS = {"one": ("21", "/dev/ttyS1", "server1"), "two": ("22", "/dev/ttyS2", "server2")}
SECRET = "Lab-Pool-Secret-7"
TTY = "ttyS1"
HOSTS = "\n".join([f"{RADIUS_ADDRS[0]} radius1", f"{RADIUS_ADDRS[1]} radius2",
                   *(f"{addr} {name}" for name, (_, addr) in SERVERS.items()), f"{NET}.20 caller"])
_SHOWN_RADIUS_LOG = re.compile(r"(Auth: \(\d+\) Login (OK|incorrect)|Multiple logins|Ready to process|"
                               r"Exiting normally)")


def check_freeradius() -> None:
    for path, package in (("/usr/sbin/freeradius", "freeradius"), ("/etc/freeradius/3.0/radiusd.conf", "freeradius")):
        if not Path(path).exists():
            raise UserError(f"{path} not found: lab --radius runs this machine's FreeRADIUS; "
                            f"install it: apt-get install {package} freeradius-utils")


class PoolLab(Lab):
    """The phone line, the RADIUS guest, two dial-in server guests and a caller guest."""

    def __init__(self, folder: str | Path | None = None, *, say: Say | None = None, keep: bool = False) -> None:
        super().__init__(folder, lines=1, clients=2, say=say, keep=keep)
        self.client_names = list(PEERS)
        self.number_of = {peer: number for peer, (number, _, _) in PEERS.items()}
        self.servers: dict[str, Agent] = {}
        self.radius: Agent | None = None
        self.caller: Agent | None = None
        self.starts = dict.fromkeys(SERVERS, 0)  # how often mgetty has started on each server
        # A multicast group and port of this run's own (guests of another run never meet ours).
        self.net = f"eth0=mcast,,239.255.{random.randrange(1, 255)}.{random.randrange(1, 255)},"\
                   f"{random.randrange(20000, 60000)},0"

    # -- lifecycle -----------------------------------------------------------------

    def start(self) -> None:
        check_host()
        check_freeradius()
        numbers: dict[str, str | None] = {n: None for n, _ in SERVERS.values()}
        numbers.update({n: None for n, _, _ in PEERS.values()})
        self.say("Phone line: server1 on 11, server2 on 12, the caller on 21 and 22 (full speed); "
                 f"guest network {NET}.0/24 over UML multicast")
        self.line = PhoneLine(numbers, ring_interval=1.0, log=self._event, trace=True).start()
        self.radius = Agent(Guest("radius", agent_script(), folder=self.folder / "radius", modules=False,
                                  kernel_args=[self.net]))
        for name, (number, _) in SERVERS.items():
            self.servers[name] = Agent(Guest(name, agent_script(), folder=self.folder / name,
                                             serial=[self.line.pty(number)], kernel_args=[self.net]))
        self.caller = Agent(Guest("caller", agent_script(), folder=self.folder / "caller",
                                  serial=[self.line.pty(PEERS["one"][0]), self.line.pty(PEERS["two"][0])],
                                  kernel_args=[self.net]))
        self.server = self.servers["server1"]
        self.clients = dict.fromkeys(PEERS, self.caller)
        agents = self.agents()
        self.say(f"Booting {len(agents)} user-mode Linux guests: {', '.join(a.guest.name for a in agents)}")
        for agent in agents:
            agent.guest.start()
        for agent in agents:
            agent.guest.wait_ready(timeout=120)
        self.boot_seconds = {a.guest.name: a.guest.boot_seconds() or 0.0 for a in agents}
        self.say("  booted in " + ", ".join(f"{k} {v:.1f} s" for k, v in self.boot_seconds.items()))
        self._watch = threading.Thread(target=self._watch_pool, name="lab-pool", daemon=True)
        self._watch.start()

    def agents(self) -> list[Agent]:
        return [a for a in (self.radius, *self.servers.values(), self.caller) if a is not None]

    def _describe(self, event: str) -> str:
        number, _, what = event.partition(" ")
        who = next((n for n, (num, _) in SERVERS.items() if num == number), None) or \
            next((f"caller ({p})" for p, (num, _, _) in PEERS.items() if num == number), number)
        return f"{who} ({number}) {what}"

    def _watch_pool(self) -> None:
        """Show the servers' and RADIUS's story; drop DTR where mgetty ended; keep the heartbeats."""
        assert self.line is not None
        offsets: dict[str, int] = {}
        seen = dict.fromkeys(SERVERS, 0)
        beat = 0.0
        while not self._stop_watch.wait(0.05):
            for name, agent in self.servers.items():
                offsets[name] = self._show_log(agent.guest.folder / "syslog.log", offsets.get(name, 0), name,
                                               _SHOWN_SERVER_LOG)
                try:
                    exits = (agent.guest.folder / f"respawn-{TTY}.log").read_text(errors="replace").count("mgetty exit ")
                except OSError:
                    continue
                while seen[name] < exits:
                    seen[name] += 1
                    try:
                        drop_dtr(self.line.pty(SERVERS[name][0]))
                    except OSError as exc:
                        self.say(f"  lab: could not drop DTR on {name}: {exc}")
                    agent.guest.put(f"dtr-{TTY}-{seen[name]}", "")
            if self.radius is not None:
                offsets["radius"] = self._show_log(self.radius.guest.folder / "radius.log", offsets.get("radius", 0),
                                                   "radius", _SHOWN_RADIUS_LOG)
            if time.monotonic() - beat > 1:
                beat = time.monotonic()
                for agent in self.agents():
                    (agent.guest.folder / HEARTBEAT).touch()

    def _show_log(self, path: Path, offset: int, who: str, shown: re.Pattern[str]) -> int:
        lines, offset = new_lines(path, offset)
        for line in lines:
            if shown.search(line):
                text = _SYSLOG_PREFIX.sub("", line)
                self.say(f"  {who} log: {re.sub(r'^[A-Z][a-z]{2} [A-Z][a-z]{2} +[0-9]+ [0-9:]+ [0-9]{4} : ', '', text)}")
        return offset

    def close(self, failed: bool = False) -> None:
        self._stop_watching()
        for name, agent in self.servers.items():
            if agent.guest.running:
                try:
                    agent.run("collect-logs", f"cp {shlex.quote(self.mgetty_log[TTY])} \"$LAB_FOLDER/mgetty-{TTY}.log\" "
                              "2>/dev/null; true", timeout=20)
                except UserError:
                    pass
        if self.radius is not None and self.radius.guest.running:
            try:
                self.radius.run("collect-logs", "cp -r /var/log/freeradius/radacct \"$LAB_FOLDER/\" 2>/dev/null; true",
                                timeout=20)
            except UserError:
                pass
        self._power_off(self.agents())
        self._release(failed)

    # -- the pool --------------------------------------------------------------------

    def parallel(self, steps: list[tuple[Agent, str, str]], timeout: float = 240,
                 titles: list[str] | None = None) -> list[StepResult]:
        """Run one step in each of several guests at once; each is shown when it ends."""
        sent = []
        for i, (agent, name, script) in enumerate(steps):
            self.say(f"{agent.guest.name}$ {titles[i] if titles else script.strip().splitlines()[0]}")
            sent.append((agent, agent.send(name, script)))
        results = []
        for agent, step in sent:
            r = step.wait(timeout)
            for line in r.output.splitlines():
                self.say(f"  {agent.guest.name} | {line}")
            results.append(r)
        return results

    def network(self) -> None:
        assert self.radius is not None and self.caller is not None
        self.say("== The pool's network: addresses, and names in /etc/hosts")
        hosts = f"printf '%s\\n' {shlex.quote(HOSTS)} >> /etc/hosts"
        up = "ip link set eth0 up"
        # promote_secondaries: when the primary's address goes, the backup's (same subnet) stays.
        steps = [(self.radius, "network", f"echo 1 > /proc/sys/net/ipv4/conf/eth0/promote_secondaries && {up} && "
                  f"ip addr add {RADIUS_ADDRS[0]}/24 dev eth0 && ip addr add {RADIUS_ADDRS[1]}/24 dev eth0 && {hosts} && "
                  "ip -4 -br addr show eth0")]
        # busybox's syslogd writes to the lab folder: /var/log/messages is where dialup-admin logs reads it.
        steps += [(agent, "network", f"{up} && ip addr add {SERVERS[name][1]}/24 dev eth0 && {hosts} && "
                   f"ln -sf \"$LAB_FOLDER/syslog.log\" /var/log/messages && ip -4 -br addr show eth0")
                  for name, agent in self.servers.items()]
        steps.append((self.caller, "network", f"{up} && ip addr add {NET}.20/24 dev eth0 && {hosts}"))
        self.parallel(steps, timeout=60)

    def secret_step(self, agent: Agent) -> str:
        # The secret goes into a 0600 file by a shell builtin: never on a command line.
        return f"umask 077 && printf '%s\\n' {shlex.quote(SECRET)} > /root/pool.secret"

    def setup_radius(self, users: list[tuple[User, int | None]]) -> None:
        assert self.radius is not None
        self.say("== The RADIUS server: radius-server, adduser --radius, FreeRADIUS started")
        self.step(self.radius, "secret", self.secret_step(self.radius), title="the pool's shared secret into "
                  "/root/pool.secret (0600)", timeout=30)
        clients = " ".join(f"--client {name}={addr}" for name, (_, addr) in SERVERS.items())
        self.tool(self.radius, "radius-server", f"radius-server {clients} --secret-file /root/pool.secret --init none",
                  timeout=240)
        for user, sessions in users:
            extra = f" --max-sessions {sessions}" if sessions else ""
            self.tool(self.radius, f"adduser-{user.name}", f"adduser {user.name} --radius{extra} --password-stdin",
                      stdin=user.password, timeout=120)
        self.step(self.radius, "freeradius", render("lab/freeradius.sh.j2"),
                  title="freeradius (as its init script would start it)", timeout=180)

    def setup_servers(self) -> None:
        self.say("== The dial-in servers: setup-server --radius, mgetty on ttyS1")
        for agent in self.servers.values():
            self.step(agent, "secret", self.secret_step(agent), title="the pool's shared secret into "
                      "/root/pool.secret (0600)", timeout=30)
        args = {name: f"setup-server --tty {TTY} --pool {POOLS[name]} --init none --radius radius1 --radius radius2 "
                "--radius-secret-file /root/pool.secret" for name in self.servers}
        results = self.parallel([(agent, "setup-server", f"{self.tool_cmd} {args[name]}")
                                 for name, agent in self.servers.items()], timeout=300,
                                titles=[f"dialup-admin {args[name]}" for name in self.servers])
        log_dir = shlex.quote(str(Path(self.mgetty_log[TTY]).parent))
        for (name, agent), result in zip(self.servers.items(), results):
            command = mgetty_command(result.output, TTY)
            self.step(agent, "mgetty-log-dir", f"mkdir -p {log_dir}", timeout=30)
            self.respawn(agent, TTY, command)
        for name in self.servers:
            self.wait_ready(name)

    def wait_ready(self, name: str, timeout: float = 120) -> None:
        """Wait until mgetty on ``name`` has started once more and waits for a call."""
        agent = self.servers[name]
        self.starts[name] += 1
        count, log = self.starts[name], self.mgetty_log[TTY]
        wait_mgetty_on(agent, f"wait-mgetty-{count}", TTY, log, count, timeout)
        self.say(f"  {name}: mgetty on {TTY} waits for a call")

    def client_peer(self, peer: str, user: User, *, new_password: bool = False) -> None:
        number, device, server = PEERS[peer]
        assert self.caller is not None
        extra = " --new-password" if new_password else ""
        self.tool(self.caller, f"setup-client-{peer}",
                  f"setup-client --peer {peer} --device {device} --number {SERVERS[server][0]} "
                  f"--user {shlex.quote(user.name)} --password-stdin{extra}", stdin=user.password)

    def dial_call(self, call: Call, *, expect_refusal: bool = False, ping: bool = True) -> Call:
        """``dial --peer``: up (and pinged) or, when expected, refused; the server's mgetty respawns after."""
        assert self.caller is not None
        peer = call.client
        server = PEERS[peer][2]
        self.say(f"== Call {call.number}: the caller dials {server} ({peer}) as {call.user}"
                 + (" (to be refused)" if expect_refusal else ""))
        if any(s.name == f"dial-{peer}" for s in self.caller.steps):
            self.drain_peer(peer)
        since = time.monotonic()
        result = self.tool(self.caller, f"dial-{peer}", f"dial --peer {peer}", timeout=180, check=not expect_refusal)
        self.parse_dial(call, result, since)
        if expect_refusal:
            if result.ok:
                raise GuestError("caller", f"dial-{peer}", f"{call.user} got in through {server}: it should have "
                                 "been refused", self.caller.guest.folder, result.output.splitlines()[-10:])
            self.port_closed(peer)
            self.wait_ready(server)
            call.ok = call.refused
            if not call.refused:
                raise GuestError("caller", f"dial-{peer}", "dial failed, but not by a refusal: "
                                 + (result.output.strip().splitlines() or ["no output"])[-1],
                                 self.caller.guest.folder, result.output.splitlines()[-10:])
            return call
        if ping and call.remote_ip:
            self.step(self.caller, f"ping-{peer}", f"lab_wait_ping {call.remote_ip} 20 || exit 1\n"
                      f"busybox ping -c 2 -w 20 {call.remote_ip}", title=f"ping -c 2 {call.remote_ip}", timeout=60)
        call.ok = True
        return call

    def hangup(self, peer: str) -> None:
        assert self.caller is not None
        self.tool(self.caller, f"hangup-{peer}", f"hangup --peer {peer}", timeout=60)
        self.port_closed(peer)
        self.wait_ready(PEERS[peer][2])

    def drain_peer(self, peer: str) -> None:
        """Drop what the caller's modem said while its port was closed (see Lab.drain)."""
        assert self.caller is not None
        device = PEERS[peer][1]
        self.step(self.caller, f"drain-{peer}", render("lab/drain.sh.j2", device=device, report=False),
                  title=f"drop what the modem on {device} said while the port was closed", timeout=30)

    def accounting(self, title: str, want: dict[tuple[str, str], str]) -> list[dict[str, object]]:
        """``sessions --radius --json`` on the RADIUS guest, until the calls ``want`` (user, server)
        -> state are there (accounting arrives a moment after the link)."""
        assert self.radius is not None
        self.say(f"== {title}")
        deadline = time.monotonic() + 60
        while True:
            r = self.radius.run("sessions", f"{self.tool_cmd} --json sessions --radius", timeout=120, check=False)
            try:
                calls: list[dict[str, object]] = json.loads(r.output[r.output.find("["):]) if "[" in r.output else []
            except ValueError:
                calls = []
            latest = {(str(c["user"]), str(c["nas"])): str(c["state"]) for c in calls}
            if all(latest.get(k) == v for k, v in want.items()) or time.monotonic() > deadline:
                break
            time.sleep(1)
        self.tool(self.radius, "sessions-table", "sessions --radius", timeout=120)
        missing = {k: v for k, v in want.items() if latest.get(k) != v}
        if missing:
            raise GuestError("radius", "accounting", f"FreeRADIUS's accounting lacks {missing}",
                             self.radius.guest.folder, r.output.splitlines()[-10:])
        return calls

    def server_logs(self, name: str, pattern: str) -> str:
        """``dialup-admin logs ttyS1`` on a dial-in server; its last line matching ``pattern``."""
        r = self.tool(self.servers[name], "logs", f"logs {TTY} -n 0", timeout=120, show=False)
        found = [ln for ln in r.output.splitlines() if re.search(pattern, ln)]
        if not found:
            raise GuestError(name, "logs", f"no line like {pattern!r} in dialup-admin logs {TTY}",
                             self.servers[name].guest.folder, r.output.splitlines()[-12:])
        return found[-1]


def summary(report: Report) -> Iterator[str]:
    for c in report.calls:
        how = ("refused, as it should be" if c.refused else "up") if c.ok else "FAILED"
        parts = [f"call {c.number} ({c.client}: {c.user} via {PEERS[c.client][2]}): {how}"]
        if c.atd_to_ip is not None:
            parts.append(f"dial to IP {c.atd_to_ip:.1f} s")
        if c.remote_ip and not c.refused:
            parts.append(f"{c.local_ip} <-> {c.remote_ip}")
        if c.failed_stage:
            parts.append(f"failed at {c.failed_stage}")
        yield "  " + ", ".join(parts)
    boot = ", ".join(f"{k} {v:.1f} s" for k, v in report.boot_seconds.items())
    setup = f", setup {report.setup_seconds:.1f} s" if report.setup_seconds is not None else ""
    yield f"  boot {boot}{setup}, total {report.seconds:.1f} s"
    if report.passed:
        yield ("PASS: both servers let callers in through the one FreeRADIUS and accounted the calls; a wrong "
               "password, a second session and a dead RADIUS were refused; the backup answered for the primary")
    else:
        yield f"FAIL: {report.error or 'a call failed'}"


def _set_up(lab: PoolLab, alice: User, bob: User) -> None:
    """The network, FreeRADIUS with alice (one session at most) and bob, both servers, both peers."""
    lab.network()
    lab.setup_radius([(alice, 1), (bob, None)])
    lab.setup_servers()
    lab.client_peer("one", alice)
    lab.client_peer("two", bob)


def _both_servers(lab: PoolLab, alice: User, bob: User, next_call: Callable[[str, User], Call]) -> None:
    """alice calls server1, bob server2: both let in by the one FreeRADIUS and in its accounting."""
    lab.dial_call(next_call("one", alice))
    lab.dial_call(next_call("two", bob))
    lab.accounting("Both calls in FreeRADIUS's accounting (run on the RADIUS server)",
                   {("alice", "server1"): "active", ("bob", "server2"): "active"})
    lab.hangup("two")


def _refusals(lab: PoolLab, report: Report, alice: User, bob: User, next_call: Callable[[str, User], Call]) -> None:
    """bob with a wrong password, then alice on server2 while still on server1 (Simultaneous-Use): refused."""
    lab.client_peer("two", User("bob", "Not-bobs-password"), new_password=True)
    lab.dial_call(next_call("two", bob), expect_refusal=True)
    lab.say("  | " + lab.server_logs("server2", r"RADIUS refused bob"))

    lab.client_peer("two", alice, new_password=True)
    lab.dial_call(next_call("two", alice), expect_refusal=True)
    if "already logged in" not in report.calls[-1].dial_output:
        raise UserError("the second session was refused, but not for Simultaneous-Use")
    lab.hangup("one")
    lab.accounting("alice's and bob's calls ended in the accounting",
                   {("alice", "server1"): "ended", ("bob", "server2"): "ended"})


def _radius_failures(lab: PoolLab, alice: User, next_call: Callable[[str, User], Call]) -> None:
    """The primary's address gone: the backup lets alice in; FreeRADIUS stopped: she is refused."""
    assert lab.radius is not None
    lab.step(lab.radius, "primary-down", f"ip addr del {RADIUS_ADDRS[0]}/24 dev eth0 && ip -4 -br addr show eth0",
             title=f"the primary RADIUS ({RADIUS_ADDRS[0]}, radius1) goes away", timeout=30)
    lab.dial_call(next_call("two", alice))
    lab.say("  | " + lab.server_logs("server2", r"not answering; the next one let alice in"))
    lab.hangup("two")

    lab.step(lab.radius, "radius-down", render("lab/stop-freeradius.sh.j2"), title="FreeRADIUS stops (kill its pid)",
             timeout=60)
    lab.dial_call(next_call("two", alice), expect_refusal=True)
    lab.say("  | " + lab.server_logs("server2", r"not answering: alice was refused for that"))


def run(*, keep: bool = False, say: Say | None = None, folder: str | Path | None = None) -> Report:
    """``dialup-admin lab --radius``. Never raises for a lab failure: the report says what failed."""
    start = time.monotonic()
    alice = User("alice", "Alice-pw-1234")
    bob = User("bob", "Bob-pw-123456")
    lab = PoolLab(folder, say=say, keep=keep)
    report = Report(lab.folder)
    n = 0

    def next_call(peer: str, user: User) -> Call:
        nonlocal n
        n += 1
        call = Call(n, peer, user.name)
        report.calls.append(call)
        return call

    with reporting(lab, report, start, other_logs=False), lab:
        report.boot_seconds = dict(lab.boot_seconds)
        t = time.monotonic()
        _set_up(lab, alice, bob)
        report.setup_seconds = time.monotonic() - t
        _both_servers(lab, alice, bob, next_call)
        _refusals(lab, report, alice, bob, next_call)
        _radius_failures(lab, alice, next_call)
        lab.ok = True
    return report
