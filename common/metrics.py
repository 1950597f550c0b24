"""Reading a run's metrics.jsonl (one JSON object per PPO update)."""
from __future__ import annotations

import json
from pathlib import Path


def read_metrics(path: Path) -> list[dict]:
    """Every complete row of ``path`` (a metrics.jsonl file); [] if it does not exist.

    A line being written right now (or one cut short by a crash) is skipped.
    """
    path = Path(path)
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            pass
    return rows
