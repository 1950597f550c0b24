"""Rewrite the README's command reference from each command's --help.

    python scripts/gen_cli_docs.py          update README.md in place
    python scripts/gen_cli_docs.py --check  exit 1 if README.md is out of date
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
START, END = "<!-- cli:start -->", "<!-- cli:end -->"
COMMANDS = ["services.launch", "services.learner", "services.actor", "services.relay",
            "services.viewer", "services.play", "services.evaluate", "services.keys"]


def reference() -> str:
    parts = []
    for module in COMMANDS:
        out = subprocess.run([sys.executable, "-m", module, "--help"], cwd=REPO, check=True,
                             capture_output=True, text=True, env={"COLUMNS": "100"}).stdout
        parts.append(f"<details><summary><code>python -m {module} --help</code></summary>\n\n"
                     f"```\n{out.rstrip()}\n```\n</details>\n")
    return "\n".join(parts)


def main() -> int:
    readme = REPO / "README.md"
    text = readme.read_text()
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    updated = f"{head}{START}\n{reference()}{END}{tail}"
    if "--check" in sys.argv:
        if updated != text:
            print("README.md command reference is out of date: run python scripts/gen_cli_docs.py",
                  file=sys.stderr)
            return 1
        return 0
    readme.write_text(updated)
    return 0


if __name__ == "__main__":
    sys.exit(main())
