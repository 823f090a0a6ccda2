"""``lab --direct``: a direct line (no exchange) proved end to end, the way Dreamcast owners wire it.

The simulator cables the caller guest's modem (21) to the server guest's (11) with no
exchange: no dial tone, no RING. In the server guest ``setup-server --tty ttyS1:direct``
and ``adduser`` run as in the ordinary lab; ``dialup-admin answer ttyS1`` is kept
running the way inittab's respawn would (the command line setup-server prints for
``--init none``; under a real init, setup-server's own inittab line or unit does it).
Then, on one line, one after the other:

1. the tool's own ``dial`` (the guide's init string: X4, so it waits for the dial tone
   answer plays): PAP, a ping, data both ways, ``hangup``;
2. a caller that hangs up during the dial tone (off hook, hears the tone, DTR dropped
   before the first digit): nothing to notice for answer, the line stays ready;
3. a stock pppd with chat and pppd's default LCP timers (a peers file and chat script
   as their manual pages show, not the tool's): PAP, a ping, data both ways; its
   CONNECT to IP time is the figure of the direct line (pppd started on the port at
   CONNECT sees the caller's first LCP frame);
4. the tool's ``dial`` with a wrong password: refused by the server's pppd.

After each call answer starts again and plays the dial tone for the next.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Sequence
from pathlib import Path

from dialup_admin.errors import UserError
from dialup_admin.lab.transfer import MIB
from dialup_admin.lab.scenario import (
    CLIENT_NUMBERS,
    SERVER_NUMBERS,
    Call,
    Lab,
    Report,
    Say,
    User,
    drop_dtr,
    failing_at,
    reporting,
)
from dialup_admin.render import render

NUMBER = "5551234"  # what the callers dial: answer takes only this number
STOCK_PEER = "stock"
TONE_EVENT = f"{SERVER_NUMBERS[0]} voice transmit ("

def answer_command(output: str, tty: str) -> str:
    """The answer command line for ``tty`` that ``setup-server --init none`` said to keep running."""
    for line in output.splitlines():
        if "keep answer running yourself" in line and "): " in line:
            for command in line.split("): ", 1)[1].split(";"):
                if command.strip().endswith(f" answer {tty}"):
                    return command.strip()
    raise UserError(f"setup-server did not say how to run answer for {tty} with --init none")


def tone_events(lab: Lab) -> int:
    """How many times the server's modem has started playing audio (answer's dial tone)."""
    assert lab.line is not None
    return sum(1 for e in list(lab.line.events) if TONE_EVENT in e)


def wait_tone(lab: Lab, count: int, timeout: float = 120) -> None:
    """Wait until answer has put the dial tone on the line ``count`` times (host side, from the line's events)."""
    deadline = time.monotonic() + timeout
    while tone_events(lab) < count:
        if time.monotonic() > deadline:
            assert lab.server is not None
            raise lab.server.error("dial-tone", f"answer did not play the dial tone (start {count}) "
                                   f"within {timeout:g} s")
        time.sleep(0.05)
    lab.say(f"  server: answer plays the dial tone on ttyS1 ({'started' if count == 1 else f'start {count}'})")


def setup_server(lab: Lab, users: Sequence[User]) -> None:
    """setup-server with a direct line, adduser, the transfer service, answer in a respawn loop."""
    assert lab.server is not None
    t = time.monotonic()
    tty = lab.ttys[0]
    lab.say("== The server: setup-server with a direct line, adduser, answer on the line")
    result = lab.tool(lab.server, "setup-server",
                      f"setup-server --tty {tty}:direct --number {NUMBER} --dial-timeout 600 --init none",
                      timeout=180)
    command = answer_command(result.output, tty)
    for user in users:
        lab.tool(lab.server, f"adduser-{user.name}", f"adduser {shlex.quote(user.name)} --password-stdin",
                 stdin=user.password, timeout=120)
    lab.start_transfer_server()
    lab.respawn(lab.server, tty, command, "answer")
    wait_tone(lab, 1)
    lab.setup_seconds = time.monotonic() - t


def hang_up_during_tone(lab: Lab) -> list[str]:
    """The caller goes off hook, hears the dial tone, and hangs up (DTR) before its first digit."""
    assert lab.line is not None
    client = lab.client_names[0]
    agent = lab.client(client)
    since = len(lab.line.events)
    mark = f"hungup-{since}"
    step = agent.send("hang-up-in-tone", render("lab/hang-up-in-tone.sh.j2", number=NUMBER, mark=mark))
    lab.say(f"{client}$ off hook, waits for the dial tone, hangs up before the first digit (DTR)")
    lab.line.wait_for(f"{CLIENT_NUMBERS[0]} dial tone heard", timeout=60, since=since)
    drop_dtr(lab.line.pty(lab.number_of[client]), 0.3)
    agent.guest.put(mark, "")
    step.wait(60, show=lambda line: lab.say(f"  | {line}"))
    return list(lab.line.events)[since:]


def stock_call(lab: Lab, call: Call, user: User, transfer: int, number: str = NUMBER) -> Call:
    """A stock pppd + chat caller (default LCP timers) dials ``number``: up, ping, data both ways, then
    pppd stopped. Works on an exchange line too (bench/direct_connect.py compares the two)."""
    client = call.client
    agent = lab.client(client)
    lab.say(f"== Call {call.number}: {client} dials with a stock pppd and chat (pppd's default timers)")
    (agent.guest.folder / ".stdin").write_text(f"{user.name} {STOCK_PEER} \"{user.password}\"\n")
    (agent.guest.folder / ".stdin").chmod(0o600)
    lab.step(agent, "stock-setup", render("lab/stock-setup.sh.j2", peer=STOCK_PEER, user=user.name, number=number),
             title=f"write /etc/ppp/peers/{STOCK_PEER}, /etc/ppp/chat-{STOCK_PEER}, its pap-secrets line (by hand)",
             timeout=30)
    lab.drain(client)
    with failing_at(call):
        since = time.monotonic()
        result = lab.step(agent, "stock-dial", f"pppd call {STOCK_PEER} updetach",
                          title=f"pppd call {STOCK_PEER} updetach", timeout=150)
        lab.parse_dial(call, result, since)
        if call.remote_ip is None:
            call.remote_ip = "192.168.32.1"
        lab.ping(client, call)
        if transfer:
            lab.transfer(client, call, transfer)
        lab.step(agent, "stock-hangup", render("lab/stop-pppd.sh.j2"), title="kill the stock pppd (it hangs up)",
                 timeout=60)
        lab.port_closed(client)
        call.ok = True
    return call


def wrong_password(lab: Lab, call: Call, wrong: User) -> Call:
    client = call.client
    lab.say(f"== Call {call.number}: {client} dials with a wrong password")
    lab.setup_client(client, wrong, new_password=True)
    lab.drain(client)
    lab.dial(client, call, expect_refusal=True)
    lab.port_closed(client)
    call.ok = call.refused
    if not call.ok:
        raise UserError("the server did not refuse a wrong password on the direct line")
    return call


def run(*, bps: int | None = None, keep: bool = False, say: Say | None = None, transfer: int = MIB,
        folder: str | Path | None = None) -> Report:
    """``dialup-admin lab --direct``: set up a direct line, make the calls above, report.

    Never raises for a lab failure: the report says what failed and where the logs are.
    """
    start = time.monotonic()
    user = User("dreamcast", "Lab-Password-1")
    wrong = User("dreamcast", "Wrong-Password-9")
    lab = Lab(folder, bps=bps, say=say, keep=keep, direct=True)
    lab.dial_number = NUMBER
    report = Report(lab.folder)
    client = lab.client_names[0]
    with reporting(lab, report, start), lab:
        report.boot_seconds = dict(lab.boot_seconds)
        setup_server(lab, [user])
        report.setup_seconds = lab.setup_seconds
        lab.setup_client(client, user)
        call = Call(1, client, user.name, caller="dialup-admin dial (X4)")
        report.calls.append(call)
        lab.call(call, transfer=transfer)
        wait_tone(lab, 2)
        lab.say("== A caller hangs up during the dial tone")
        gone = hang_up_during_tone(lab)
        if any(" DTMF " in e for e in gone):
            raise UserError("the caller dialed a digit before hanging up: the scenario did not happen")
        stock = Call(2, client, user.name, caller="stock pppd + chat")
        report.calls.append(stock)
        stock_call(lab, stock, user, transfer)
        wait_tone(lab, 3)
        refused = Call(3, client, user.name, caller="dialup-admin dial (X4)", expect_refusal=True)
        report.calls.append(refused)
        wrong_password(lab, refused, wrong)
        wait_tone(lab, 4)
        lab.ok = True
    return report

