"""Print a run's learning curve from metrics.jsonl, one line per N minutes.

    python scripts/summarize_run.py runs/airstriker [--every 3]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", help="run directory (holds metrics.jsonl)")
    parser.add_argument("--every", type=float, default=3.0, help="minutes between lines")
    args = parser.parse_args(argv)
    path = Path(args.run) / "metrics.jsonl"
    if not path.exists():
        print(f"summarize_run: error: {path} does not exist", file=sys.stderr)
        return 2
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    if not rows:
        print(f"summarize_run: error: {path} has no rows yet", file=sys.stderr)
        return 2
    start = rows[0]["time"] - rows[0]["update_seconds"]
    print("| minutes | env steps | frames | updates | episodes | mean return (last 100) | agent steps/s |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    next_mark = 0.0
    for i, row in enumerate(rows):
        minutes = (row["time"] - start) / 60
        if minutes >= next_mark or i == len(rows) - 1:
            mean = row["mean_return"]
            sps = row["env_steps"] / max(row["time"] - start, 1e-9)
            print(f"| {minutes:.1f} | {row['env_steps']:,} | {row['frames']:,} | {row['update']} | "
                  f"{row['episodes']} | {'-' if mean is None else f'{mean:.1f}'} | {sps:.0f} |")
            next_mark = (int(minutes / args.every) + 1) * args.every
    return 0


if __name__ == "__main__":
    sys.exit(main())
