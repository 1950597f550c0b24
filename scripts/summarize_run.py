"""Print a run's learning curve from metrics.jsonl, one line per N minutes of training.

    .venv/bin/python scripts/summarize_run.py runs/airstriker [--every 3]

Minutes count training only: while the learner was stopped (between a stop and
its restart) the clock does not run.
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script

from common.config import OneLineErrorParser  # noqa: E402 (needs the path above)
from common.metrics import read_metrics  # noqa: E402

PROG = "summarize_run"
SLACK = 1.5  # a gap this many times longer than the row's own interval (+ 5 s) is a stop


def restarted(prev: dict, row: dict) -> bool:
    """A new learner process wrote ``row``: it resumed from another checkpoint, or
    its update counter went back (--fresh, or updates redone after a crash)."""
    return row.get("resumed_from") != prev.get("resumed_from") or row["update"] <= prev["update"]


def own_seconds(row: dict, steps: int) -> float:
    """How long the learner spent on ``row``: its ``sps`` is the row's ``steps``
    over the time since the previous update (gathering plus this update)."""
    if row.get("sps") and steps > 0:
        return steps / row["sps"]
    return row.get("update_seconds", 0.0)


def training_seconds(rows: list[dict]) -> tuple[list[float], int]:
    """Seconds of training up to each row (file order), and how many stops there were."""
    total, out, stops = 0.0, [], 0
    steps_at_update: dict[int, int] = {0: 0}  # update -> env steps after it
    for i, row in enumerate(rows):
        prev = rows[i - 1] if i else None
        resumed_at = steps_at_update.get(row["update"] - 1)
        steps = row["env_steps"] - (resumed_at if resumed_at is not None else row["env_steps"])
        own = own_seconds(row, steps)
        if prev is None:
            total += own
        elif restarted(prev, row):
            total += own
            stops += 1
        else:
            gap = row["time"] - prev["time"]
            if gap > SLACK * own + 5:  # paused or suspended: count the row's own time only
                gap = own
                stops += 1
            total += gap
        steps_at_update[row["update"]] = row["env_steps"]
        out.append(total)
    return out, stops


def main(argv: list[str] | None = None) -> int:
    parser = OneLineErrorParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("run", help="run directory (holds metrics.jsonl)")
    parser.add_argument("--every", type=float, default=3.0,
                        help="minutes of training between lines (default: 3)")
    args = parser.parse_args(argv)
    if not math.isfinite(args.every) or args.every <= 0:
        parser.error("--every must be a positive number of minutes")
    path = Path(args.run) / "metrics.jsonl"
    if not path.exists():
        print(f"{PROG}: error: {path} does not exist", file=sys.stderr)
        return 2
    rows = read_metrics(path)
    if not rows:
        print(f"{PROG}: error: {path} has no rows yet", file=sys.stderr)
        return 2
    seconds, stops = training_seconds(rows)
    print("| minutes | env steps | frames | updates | episodes | mean return (last 100) "
          "| agent steps/s |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    next_mark = 0.0
    for i, (row, elapsed) in enumerate(zip(rows, seconds)):
        minutes = elapsed / 60
        if minutes >= next_mark or i == len(rows) - 1:
            mean = row["mean_return"]
            sps = row["env_steps"] / max(elapsed, 1e-9)
            print(f"| {minutes:.1f} | {row['env_steps']:,} | {row['frames']:,} | {row['update']} | "
                  f"{row['episodes']} | {'-' if mean is None else f'{mean:.1f}'} | {sps:.0f} |")
            next_mark = (int(minutes / args.every) + 1) * args.every
    wall = (rows[-1]["time"] - rows[0]["time"] + own_seconds(rows[0], rows[0]["env_steps"])) / 60
    print(f"\n{seconds[-1] / 60:.1f} minutes of training over {wall:.1f} minutes of wall-clock "
          f"time; {stops} stop(s) of the learner not counted.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
