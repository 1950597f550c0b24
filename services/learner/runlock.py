"""One learner per run directory: an exclusive lock on ``runs/<name>/.lock``.

The lock is a kernel ``flock`` on an open file, so it goes away with the
holding process however it dies (kill -9 included): there is no stale lock
to clean up by hand. The file records the holder's host and PID so a second
learner can say whom it found. On a shared network file system whose flock
is not shared between hosts this cannot see a learner on another host.
"""
from __future__ import annotations

import fcntl
import os
import socket
from pathlib import Path


class RunLocked(RuntimeError):
    """Another learner holds the run directory."""


class RunLock:
    def __init__(self, run_path: Path):
        self.path = run_path / ".lock"
        self._file = None

    def acquire(self) -> None:
        """Take the lock or raise RunLocked naming the holder."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise RunLocked(f"run {self.path.parent} is in use by the learner {holder}; "
                            "stop it first, or choose another --run-name") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on host {socket.gethostname()}\n")
        handle.flush()
        self._file = handle

    def release(self) -> None:
        if self._file is not None:
            self._file.truncate(0)  # a PID left behind could name another process later
            self._file.close()  # closing drops the flock
            self._file = None
