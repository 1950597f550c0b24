"""python -m benchmarks.nice_share: how much CPU a niced service really gives up.

Two busy loops share one core, each leading its own session as every service
the launcher starts does: a plain one, and one lowered by 10 either with
``os.nice`` alone or with ``common.processes.lower_priority``. Prints the
lowered loop's share of the core for each, with the load average, so the
effect of autogroup scheduling on this kernel is a measurement, not a guess.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.procs import REPO, cpu_seconds

LOOP = """import os, sys
from common.processes import lower_priority
os.sched_setaffinity(0, {0})
if sys.argv[1] == "os.nice":
    os.nice(10)
elif sys.argv[1] == "lower_priority":
    lower_priority(10)
while True:
    pass
"""


def lowered_share(how: str, seconds: float) -> float:
    procs = [subprocess.Popen([sys.executable, "-c", LOOP, mode], cwd=REPO, start_new_session=True)
             for mode in ("plain", how)]
    try:
        time.sleep(1.0)  # both running and lowered
        before = [cpu_seconds(p.pid) for p in procs]
        time.sleep(seconds)
        plain, lowered = (cpu_seconds(p.pid) - b for p, b in zip(procs, before))
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()
    return lowered / (plain + lowered)


def main() -> int:
    autogroup = Path("/proc/sys/kernel/sched_autogroup_enabled")
    state = autogroup.read_text().strip() if autogroup.exists() else "absent"
    load = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"sched_autogroup_enabled: {state}; load average {load} (1/5/15 min)")
    print("share of one core taken by the loop lowered by 10, against a plain loop "
          "(10% if the nice works, 50% if not):")
    for how in ("os.nice", "lower_priority"):
        shares = [lowered_share(how, 4.0) for _ in range(3)]
        spread = " / ".join(f"{s:.0%}" for s in sorted(shares))
        print(f"  {how:15s} {spread} (min / median / max)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
