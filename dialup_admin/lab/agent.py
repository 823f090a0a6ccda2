"""A command runner inside a lab guest: the host sends shell steps, one at a time, and reads their results.

The guest's command is :func:`agent_script`, a loop that waits for ``cmd-N`` in its
folder (the host's :meth:`Agent.send`), runs it with ``/bin/sh`` (the lab's shell
helpers sourced), writes its output to ``out-N`` as it goes and its exit status to
``rc-N`` when it ends. ``stop-N`` ends the loop (the guest then powers off).

So the host drives every step of a scenario from Python, prints each step's output
while it runs (the guest's writes reach the host file at once through hostfs), times
it, and names the step that failed, with its output and the guest's syslog.

What this changes on the host: files ``cmd-N``, ``out-N``, ``rc-N`` in the guest's folder.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dialup_admin.lab.guest import LIBRARY, Guest, GuestError, tail
from dialup_admin.render import render

HEARTBEAT = "heartbeat"
HEARTBEAT_STALE = 30  # seconds without the host touching HEARTBEAT before a waiting agent gives up

def agent_script() -> str:
    """The guest's command: the loop that runs the host's steps (``templates/lab/agent.sh.j2``)."""
    return render("lab/agent.sh.j2", library=LIBRARY, heartbeat=HEARTBEAT, heartbeat_stale=HEARTBEAT_STALE)


@dataclass(frozen=True)
class StepResult:
    """A finished step: what it was called, its exit status, its whole output, its host wall time."""

    name: str
    status: int
    output: str
    seconds: float

    @property
    def ok(self) -> bool:
        return self.status == 0

    @property
    def lines(self) -> list[str]:
        return self.output.splitlines()


class Step:
    """A step sent to a guest and not yet collected."""

    def __init__(self, agent: Agent, number: int, name: str) -> None:
        self.agent = agent
        self.number = number
        self.name = name
        self.started = time.monotonic()
        self._seen = 0
        self._result: StepResult | None = None

    @property
    def out_path(self) -> Path:
        return self.agent.guest.folder / f"out-{self.number}"

    @property
    def rc_path(self) -> Path:
        return self.agent.guest.folder / f"rc-{self.number}"

    def done(self) -> bool:
        return self.rc_path.exists()

    def new_lines(self) -> list[str]:
        """Whole lines of output written since the last call (for showing a step as it runs)."""
        try:
            data = self.out_path.read_bytes()
        except OSError:
            return []
        end = data.rfind(b"\n", self._seen) + 1
        if end <= self._seen:
            return []
        chunk, self._seen = data[self._seen:end], end
        return chunk.decode(errors="replace").splitlines()

    def wait(self, timeout: float, show: Callable[[str], None] | None = None, check: bool = True) -> StepResult:
        """Wait for the step to end, calling ``show`` with each new output line.

        Raises :class:`GuestError` (stage = the step's name) when it does not end within
        ``timeout`` s, when the guest stops, or (with ``check``) when it exits non-zero.
        """
        if self._result is None:
            deadline = time.monotonic() + timeout
            while not self.done():
                if show is not None:
                    for line in self.new_lines():
                        show(line)
                if not self.agent.guest.running:
                    raise self.agent.error(self.name, "the guest stopped during this step")
                if time.monotonic() > deadline:
                    raise self.agent.error(self.name, f"did not finish within {timeout:g} s")
                time.sleep(0.05)
            seconds = time.monotonic() - self.started
            status = _read_int(self.rc_path)
            if show is not None:
                for line in self.new_lines():
                    show(line)
                rest = self._rest()
                if rest:
                    show(rest)
            output = self.out_path.read_text(errors="replace") if self.out_path.exists() else ""
            self._result = StepResult(self.name, status, output, seconds)
        if check and self._result.status != 0:
            lines = tail(self._result.output, 1)
            why = lines[-1] if lines else "no output"
            raise self.agent.error(self.name, f"exit status {self._result.status}: {why}", self._result.output)
        return self._result

    def _rest(self) -> str:
        try:
            return self.out_path.read_bytes()[self._seen:].decode(errors="replace").strip()
        except OSError:
            return ""


def _read_int(path: Path) -> int:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return -1


class Agent:
    """The host's end of a guest running :func:`agent_script` (the guest must be started with it)."""

    def __init__(self, guest: Guest) -> None:
        self.guest = guest
        self._next = 1
        self.steps: list[Step] = []

    def send(self, name: str, script: str) -> Step:
        """Hand the guest the next step (a shell script); returns at once."""
        number = self._next
        self._next += 1
        step = Step(self, number, name)
        self.guest.put(f"cmd-{number}", script if script.endswith("\n") else script + "\n")
        self.steps.append(step)
        return step

    def run(self, name: str, script: str, timeout: float = 60, show: Callable[[str], None] | None = None,
            check: bool = True) -> StepResult:
        """Send a step and wait for it (see :meth:`Step.wait`)."""
        return self.send(name, script).wait(timeout, show=show, check=check)

    def stop(self) -> None:
        """End the agent's loop: the guest powers off (collect it with ``guest.wait``)."""
        self.guest.put(f"stop-{self._next}", "")

    def error(self, stage: str, message: str, output: str = "") -> GuestError:
        """A :class:`GuestError` for ``stage``, with the step's output and the guest's syslog tail."""
        self.guest.keep = True
        lines = [f"{self.guest.name} output: {ln}" for ln in tail(output, 25)]
        syslog = self.guest.folder / "syslog.log"
        text = syslog.read_text(errors="replace") if syslog.exists() else ""
        lines += [f"{self.guest.name} syslog: {ln}" for ln in tail(text, 15)]
        return GuestError(self.guest.name, stage, message, self.guest.folder, lines)
