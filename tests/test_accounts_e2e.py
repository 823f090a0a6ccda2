"""The pap-secrets rule against the real pppd 2.4.9, in user-mode Linux guests with kernel PPP.

The server guest runs the tool (setup-server, adduser --ip) on its private /etc, then
real pppd as mgetty's AutoPPP would (``auth -chap +pap login``) on a null-modem pty
pair; the client guest dials with PAP. Four sessions:

1. ``login``, right password: accepted, and the caller gets its static address
   from the pap-secrets entry although options.ttyS1 names another remote address;
2. ``login``, wrong password: refused;
3. no ``login`` option, right password: accepted (the ``@login`` secret makes pppd
   check /etc/shadow anyway);
4. no ``login`` option, wrong password: refused -- the entry is no open door;
5. the same entry hand-edited to the secret ``""``, no ``login``, wrong password:
   accepted. That is the open door the ``@login`` rule avoids.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dialup_admin.lab import Guest, GuestResult
from dialup_admin.lab.guest import tool_command
from tests.support.lab import needs_uml, pty_pair

PW = "Right-Password-1"
SESSIONS = [("login", PW), ("login", "Wrong-Password-9"), ("", PW), ("", "Wrong-Password-9"),
            ("", "Wrong-Password-9")]  # 5: the same with the secret "" instead of @login

SERVER = f"""
set -u
TOOL={tool_command()}
: > /etc/ppp/options   # only what the tool writes counts (the host's has crtscts, no use on a pty)
$TOOL setup-server --tty ttyS1 --init none --mgetty /sbin/mgetty || exit 1
echo {PW} | $TOOL adduser mailstation --password-stdin --ip 192.168.32.12 || exit 1
cat /etc/ppp/options.ttyS1
n=0
for opt in {" ".join(repr(s[0]) if s[0] else "''" for s in SESSIONS)}; do
    n=$((n + 1))
    # Session 5 shows why the tool never writes "": the same entry with an empty secret.
    [ $n = 5 ] && sed -i 's/^mailstation[[:space:]][*][[:space:]]@login/mailstation * ""/' /etc/ppp/pap-secrets
    lab_mark ready-$n
    pppd /dev/ttyS1 57600 local nodetach passive noipv6 auth -chap +pap $opt debug
    echo "server session $n ($opt) pppd exit $?"
done
"""

CLIENT = """
set -u
n=0
for pw in {passwords}; do
    n=$((n + 1))
    printf 'mailstation * "%s"\\n' "$pw" > /etc/ppp/pap-secrets
    lab_wait_file ready-$n 90 || {{ echo "server not ready for session $n"; exit 1; }}
    sleep 1
    pppd /dev/ttyS1 57600 local nodetach noauth noipv6 noipdefault user mailstation &
    pid=$!
    # Up (IPCP done) or pppd gone (refused), whichever comes first.
    up=no; i=0
    while kill -0 $pid 2>/dev/null && [ $i -lt 600 ]; do
        if ip -4 -o addr show dev ppp0 up 2>/dev/null | grep -q ' inet '; then up=yes; break; fi
        i=$((i + 1)); sleep 0.05
    done
    if [ $up = yes ]; then
        echo "client session $n: $(ip -4 -o addr show dev ppp0 | awk '{{print $4, $5, $6}}')"
        kill $pid
    else
        echo "client session $n: no link"
    fi
    wait $pid
    echo "client session $n pppd exit $?"
done
"""


def explain(result: GuestResult) -> str:
    return (f"guest {result.name} exit {result.status}\n--- output\n{result.output}"
            f"--- syslog\n{result.syslog}")


@pytest.mark.e2e
@needs_uml
def test_login_secret_and_static_address_with_real_pppd(tmp_path: Path) -> None:
    passwords = " ".join(pw for _, pw in SESSIONS)
    with pty_pair() as (line_a, line_b):
        server = Guest("acct-server", SERVER, serial=[line_a], folder=tmp_path / "server")
        client = Guest("acct-client", CLIENT.format(passwords=passwords), serial=[line_b], folder=tmp_path / "client")
        with server, client:
            for n in range(1, len(SESSIONS) + 1):
                server.wait_for_file(f"ready-{n}", timeout=120)
                client.put(f"ready-{n}", "")
            client_result = client.wait(timeout=120)
            server_result = server.wait(timeout=60)
    out = client_result.output
    why = explain(client_result) + explain(server_result)
    assert "192.168.32.1:192.168.32.2" in server_result.output, why  # options.ttyS1 names another remote
    # 1: login + right password: in, with the static address from pap-secrets.
    assert "client session 1: 192.168.32.12 peer 192.168.32.1/32" in out, why
    assert "user mailstation logged in" in server_result.syslog or "PAP peer authentication succeeded" in (
        server_result.syslog), why
    # 2 and 4: wrong password: refused, with or without pppd's login option.
    assert "client session 2: no link" in out and "client session 4: no link" in out, why
    # 3: no login option, right password: still checked against /etc/shadow, accepted.
    assert "client session 3: 192.168.32.12 peer 192.168.32.1/32" in out, why
    # 5: with "" instead of @login and no login option, a wrong password gets in.
    assert "client session 5: 192.168.32.12 peer 192.168.32.1/32" in out, why
