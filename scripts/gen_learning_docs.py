"""Write the learning-result tables of README.md and docs/RESULTS.md (and their PNGs)
from the committed result files in benchmarks/results/learning/.

    .venv/bin/python scripts/gen_learning_docs.py          rewrite the tables and PNGs
    .venv/bin/python scripts/gen_learning_docs.py --check  exit 1 if a table is out of date

Each block names the docs that show it, one experiment folder and the labels to
show, in order (a label "FOLDER/LABEL" comes from another folder); only the text
between its markers (``<!-- learning:NAME:begin -->`` ... ``end -->``) is generated. The
PNGs are redrawn on a rewrite but not compared by --check (their bytes depend
on the plotting library's version).
"""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run as a script: make the repository importable

from benchmarks.learning.report import (  # noqa: E402
    cpu_markdown,
    dynamics_markdown,
    load_runs,
    markdown,
    pairs_markdown,
    plot,
)

RESULTS = REPO / "benchmarks" / "results" / "learning"
STEPS = (50_000, 100_000, 150_000, 200_000, 250_000, 300_000, 400_000)
B2B_STEPS = (100_000, 200_000, 300_000, 350_000, 400_000)
B2B_MINUTES = (10, 20, 29.5)
B2B_SEEDS = (1, 5, 6)  # the 30-minute pairs, each run alone on the machine
# The default env (sticky actions 0.25, no-op starts): 18-minute pairs, so 400
# (SB3's mean near 200k steps without sticky actions) rather than 600.
DEFAULT_STEPS = (50_000, 100_000, 150_000, 200_000, 250_000)
DEFAULT_MINUTES = (5, 10, 15, 17.5)
DEFAULT_SEEDS = (0, 1, 2)
BREAKOUT_STEPS = (100_000, 200_000, 300_000, 400_000, 500_000)


@dataclass(frozen=True)
class Block:
    name: str
    docs: tuple[str, ...]  # files that show the table, relative to the repository
    folder: str  # under benchmarks/results/learning
    labels: tuple[str, ...]  # "label" in ``folder``, or "other-folder/label"
    minutes: tuple[float, ...] = (10, 20, 30)
    steps: tuple[int, ...] = STEPS
    seeds: tuple[int, ...] = ()  # only these seeds (empty: all)
    png: str = ""  # relative to the repository; "" for none
    title: str = "Airstriker-Genesis-v0, 2 CPU cores"
    score: float = 600.0
    # "curves": score by steps and minutes (and the PNG); "evaluations": the folder's
    # *.eval.json; "cpu": CPU per agent step; "pairs": first label against second,
    # seed by seed, at the last minute mark; "dynamics": clip fraction, KL, entropy
    table: str = "curves"

    def __post_init__(self) -> None:
        if self.table not in ("curves", "evaluations", "cpu", "pairs", "dynamics"):
            raise ValueError(f"block {self.name}: unknown table {self.table!r}")


IN_README, IN_RESULTS = ("README.md",), ("docs/RESULTS.md",)
IN_BOTH = IN_README + IN_RESULTS
BLOCKS = [
    Block("sb3", IN_README, "airstriker-sb3env", ("sb3", "retrofleet", "rf-slow-learner"),
          minutes=(), steps=STEPS[:4], png="docs/img/learning-sb3.png",
          title="Airstriker, no sticky actions, 2 CPU cores: retrofleet vs SB3 PPO"),
    Block("sb3", IN_RESULTS, "airstriker-sb3env",
          ("sb3", "retrofleet", "rf-slow-learner", "rf-slow-learner-today"), steps=STEPS[:4]),
    # 29.5 min, not 30: SB3's clock starts with its training, so a 30-minute
    # budget ends at 29.8 minutes of curve.
    Block("b2b", IN_BOTH, "airstriker-sb3env", ("sb3", "retrofleet"), seeds=B2B_SEEDS,
          steps=B2B_STEPS, minutes=B2B_MINUTES, png="docs/img/learning-b2b.png",
          title="Airstriker, no sticky actions, 2 CPU cores: back to back, seeds 1, 5, 6"),
    Block("ablations", IN_RESULTS, "airstriker-sb3env",
          ("sb3", "rf-e2-vclip", "rf-e2-novclip-vf1", "ref-e4-novclip-vf1", "rf-slow-learner",
           "rf-slow-learner-today", "rf-e4-vclip"),
          minutes=(), steps=STEPS[:6], png="docs/img/learning-ablations.png",
          title="Airstriker, no sticky actions: ablations (per sample)"),
    Block("vloss-dynamics", IN_RESULTS, "airstriker-sb3env",
          ("rf-slow-learner-today", "rf-e4-vclip"), table="dynamics"),
    Block("async", IN_RESULTS, "airstriker-sb3env",
          ("rf-slow-learner-today", "rf-async", "rf-async-nocorrect"),
          minutes=(), steps=STEPS[:4], png="docs/img/learning-async.png",
          title="Airstriker, no sticky actions: lockstep vs async (per sample)"),
    Block("async-dynamics", IN_RESULTS, "airstriker-sb3env",
          ("rf-slow-learner-today", "rf-async", "rf-async-nocorrect"), table="dynamics"),
    Block("b2b-pairs", IN_RESULTS, "airstriker-sb3env", ("retrofleet", "sb3"),
          seeds=B2B_SEEDS, minutes=B2B_MINUTES[-1:], table="pairs"),
    Block("default", IN_RESULTS, "airstriker-default", ("sb3", "retrofleet"),
          seeds=DEFAULT_SEEDS, steps=DEFAULT_STEPS, minutes=DEFAULT_MINUTES, score=400.0,
          png="docs/img/learning-default.png",
          title="Airstriker, default env (sticky 0.25): back to back, seeds 0, 1, 2"),
    Block("default-pairs", IN_BOTH, "airstriker-default", ("retrofleet", "sb3"),
          seeds=DEFAULT_SEEDS, minutes=DEFAULT_MINUTES[-1:], score=400.0, table="pairs"),
    Block("cpu", IN_RESULTS, "cpu-budget", ("sb3", "retrofleet"), table="cpu"),
    Block("breakout", IN_BOTH, "breakout-30min", ("retrofleet",), score=10.0,
          steps=BREAKOUT_STEPS,
          png="docs/img/learning-breakout.png",
          title="Breakout-Atari2600-v0, default settings, 2 CPU cores"),
    Block("breakout-eval", IN_BOTH, "breakout-30min", ("retrofleet",),
          table="evaluations"),
]


def begin(name: str) -> str:
    return f"<!-- learning:{name}:begin -->"


def end(name: str) -> str:
    return f"<!-- learning:{name}:end -->"


def evaluation_table(block: Block) -> str:
    """One row per committed evaluation report (services.evaluate --json)."""
    paths = sorted(p for label in block.labels
                   for p in (RESULTS / block.folder).glob(f"{label}-seed*.eval.json"))
    if not paths:
        return f"(no evaluation files in benchmarks/results/learning/{block.folder} yet)\n"
    lines = ["| run | checkpoint: agent steps trained | episodes | checkpoint mean ± std "
             "(min-max) | random mean ± std (min-max) | ratio | episode length, checkpoint / "
             "random |", "|---|---:|---:|---|---|---:|---|"]
    for path in paths:
        report = json.loads(path.read_text())
        pol, rnd = report["policy"], report["random"]
        ratio = report["gain"]["ratio"] if report.get("gain") else None
        lines.append(
            f"| {path.name.removesuffix('.eval.json')} | {report['env_steps']:,} | "
            f"{pol['episodes']} | {pol['mean_return']:.1f} ± {pol['std_return']:.1f} "
            f"({pol['min_return']:.0f}-{pol['max_return']:.0f}) | {rnd['mean_return']:.1f} ± "
            f"{rnd['std_return']:.1f} ({rnd['min_return']:.0f}-{rnd['max_return']:.0f}) | "
            f"{'-' if ratio is None else f'{ratio:.2f}x'} | "
            f"{pol['mean_length']:.0f} / {rnd['mean_length']:.0f} |")
    settings = json.loads(paths[0].read_text())["settings"]
    lines += ["", f"Settings: {settings['game']}, {'greedy' if settings['greedy'] else 'sampled'}"
              f" actions, sticky {settings['sticky_prob']:g}, no-op starts <= "
              f"{settings['noop_max']}, seed {settings['seed']}; random play uses the same "
              "episode seeds."]
    return "\n".join(lines) + "\n"


def block_runs(block: Block) -> dict[str, list[dict]]:
    """{label as shown: runs} in the block's order; labels without files are left out."""
    runs = {}
    for entry in block.labels:
        folder, _, label = entry.rpartition("/")
        found = load_runs(RESULTS / (folder or block.folder), [label]).get(label, [])
        found = [r for r in found if not block.seeds or r["seed"] in block.seeds]
        if found:
            runs[entry] = found
    return runs


def render(block: Block) -> str:
    source = (f"<!-- generated by scripts/gen_learning_docs.py from "
              f"benchmarks/results/learning/{block.folder}: do not edit -->\n")
    if block.table == "evaluations":
        return source + evaluation_table(block)
    runs = block_runs(block)
    if not runs:
        return (f"(no result files for {', '.join(block.labels)} in "
                f"benchmarks/results/learning/{block.folder} yet)\n")
    if block.table == "cpu":
        return source + cpu_markdown(runs)
    if block.table == "pairs":
        return source + pairs_markdown(runs, block.score, block.minutes[-1])
    if block.table == "dynamics":
        return source + dynamics_markdown(runs)
    return source + markdown(runs, list(block.steps), list(block.minutes), block.score)


def replace_block(text: str, doc: str, block: Block, body: str) -> str:
    start, stop = text.find(begin(block.name)), text.find(end(block.name))
    if start < 0 or stop < start:
        raise SystemExit(f"gen_learning_docs: error: {doc} lacks the markers "
                         f"{begin(block.name)} ... {end(block.name)}")
    return text[:start] + begin(block.name) + "\n" + body + text[stop:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="exit 1 if a generated table differs from the result files")
    args = parser.parse_args(argv)
    stale = []
    bodies = {block: render(block) for block in BLOCKS}
    for doc in sorted({doc for b in BLOCKS for doc in b.docs}):
        path = REPO / doc
        text = path.read_text()
        new = text
        for block in (b for b in BLOCKS if doc in b.docs):
            new = replace_block(new, doc, block, bodies[block])
        if new != text:
            stale.append(doc)
            if not args.check:
                path.write_text(new)
    if args.check:
        if stale:
            print(f"gen_learning_docs: out of date: {', '.join(stale)} (run "
                  ".venv/bin/python scripts/gen_learning_docs.py)", file=sys.stderr)
            return 1
        return 0
    for block in BLOCKS:
        runs = block_runs(block)
        if block.png and runs and block.table == "curves":
            plot(runs, REPO / block.png, block.title, per_minute=bool(block.minutes),
                 max_steps=max(block.steps))
    print(f"gen_learning_docs: wrote {', '.join(stale) or 'nothing new'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
