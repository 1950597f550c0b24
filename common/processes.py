"""Stopping processes: this one on SIGTERM or Ctrl-C, and its children (SIGTERM,
a shared grace period, then SIGKILL); and lowering this one's CPU priority."""
from __future__ import annotations

import os
import signal
import subprocess
import time
from typing import Callable


def stop_on_signals(request_stop: Callable[..., object]) -> None:
    """Call ``request_stop(signum, frame)`` on SIGTERM and on SIGINT (Ctrl-C)
    instead of dying, so the main loop ends its phase and cleans up."""
    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)


def _raise_interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def interrupt_on_signals() -> None:
    """Raise KeyboardInterrupt on SIGTERM and SIGINT, as Ctrl-C does in a terminal,
    so the caller's finally blocks clean up; SIGINT too where a shell started this
    in the background with it ignored."""
    stop_on_signals(_raise_interrupt)


def stop_processes(procs: dict[str, subprocess.Popen], grace: float,
                   on_kill: Callable[[str], None] | None = None) -> None:
    """Ask every running process to stop, wait up to ``grace`` seconds in all,
    then kill what is left (``on_kill(name)`` first, e.g. to say so)."""
    for proc in procs.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for name, proc in procs.items():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            if on_kill is not None:
                on_kill(name)
            proc.kill()
            proc.wait()


def lower_priority(increment: int) -> None:
    """``os.nice(increment)``, and the same for this session's CPU group when
    this process leads its session.

    With autogroup scheduling (on by default in many Linux kernels) the CPU is
    shared between sessions first; every service the launcher starts leads a
    session of its own, so a niced service would still get a full session's
    share. Only a session leader lowers its group: otherwise the group holds
    the shell that started it and everything else started from there."""
    niceness = os.nice(increment)
    if os.getsid(0) != os.getpid():
        return
    try:
        with open("/proc/self/autogroup", "w") as group:
            group.write(str(niceness))
    except OSError:
        pass  # no autogroup in this kernel: the process's own nice is all there is
