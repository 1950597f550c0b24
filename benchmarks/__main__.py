"""python -m benchmarks: actor efficiency, scaling, training throughput, viewer cost,
memory and wire cost, measured on real services; prints tables, writes JSON.

Targets (issue 6): actor >= 1.0x a bare loop; scaling >= 0.95 of linear up to
the core count; >= 1,200 emulator frames/s while training with 8 actors;
viewer <= 2% slower; <= 120 MB per actor and <= 1.5 GB for 8 actors + learner +
relay; <= 1.1 frames of 84x84 on the rollout wire per agent step. Every figure
is min / median / max over alternating repeats; targets are judged by the
median, memory caps by the worst case. A busy machine (docs/BENCHMARKS.md) is
refused unless --allow-busy, which marks the results busy.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.busy import code_version, machine_facts
from common.config import Checked, fail, option, parse_config, require

PROG = "python -m benchmarks"
SECTIONS = ("policy", "actors", "training", "viewer")
BUSY_EXIT = 3  # not bad input (2): the machine, not the command, is the problem


@dataclass
class BenchConfig(Checked):
    quick: bool = option(False, "short runs and fewer repeats (a smoke test)")
    only: str = option("", f"comma-separated sections to run (default all: {','.join(SECTIONS)})")
    repeats: int = option(0, "repeats per figure (0: 2 with --quick, else 3)")
    actors: int = option(8, "actor processes in the training and viewer runs")
    inference: str = option("numpy", "how actors run the policy (if the actor has --inference)",
                            choices=["numpy", "torch"])
    results_dir: str = option("benchmarks/results", "where the JSON results are written")
    allow_busy: bool = option(False, "measure even if the machine is busy at the start "
                              "(the results are marked busy)")

    def check(self) -> None:
        unknown = sorted(set(self.sections) - set(SECTIONS))
        require(not unknown, f"--only: unknown section(s) {', '.join(unknown)}, "
                             f"expected some of {', '.join(SECTIONS)}")
        require(1 <= self.actors <= 64, "--actors must be between 1 and 64")
        require(0 <= self.repeats <= 20, "--repeats must be between 0 and 20")

    @property
    def sections(self) -> list[str]:
        return [s.strip() for s in self.only.split(",") if s.strip()] or list(SECTIONS)


def machine(start: dict) -> dict:
    return {**machine_facts(), "load_at_start": start["load"], "steal_at_start": start["steal"]}


def table(title: str, header: list[str], rows: list[list]) -> None:
    cells = [header] + [[f"{c:.3g}" if isinstance(c, float) else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    print(f"\n{title}")
    for i, row in enumerate(cells):
        print("  " + "  ".join(c.ljust(w) for c, w in zip(row, widths)))
        if i == 0:
            print("  " + "  ".join("-" * w for w in widths))


def report(results: dict, section: str) -> None:
    """The section's figures (min / median / max) and what the machine was doing."""
    from benchmarks import figures

    sources = figures.sources_of(results)
    rows = [[f.key, f.target, figures.stat_text(f.stat, f.fmt), f.stat["n"], f.met]
            for f in figures.all_figures(sources) if section in f.sections]
    if section == "training":
        rows += [[v["variant"], "", figures.stat_text(
                    figures.spread([w["fps"] for w in v["windows"]]), "{:,.0f}"),
                  len(v["windows"]), ""] for v in results["training"]]
    table(f"{section} ({figures.conditions_text(results, section)})",
          ["#", "target", "min / median / max", "n", "met?"], rows)


def main(argv: list[str] | None = None) -> int:
    cfg = parse_config(BenchConfig, argv, PROG, __doc__.split("\n\n")[0])
    # Heavy imports after argument checks, so --help and bad input are instant.
    from benchmarks import actor_bench, busy, system_bench
    from benchmarks.procs import ProcessGroup

    start = busy.conditions_now(5.0)
    if start["busy"] and not cfg.allow_busy:
        return fail(PROG, f"machine busy: {'; '.join(start['busy_reasons'])}. Measure on a "
                          f"quiet machine, or pass --allow-busy to record results marked busy",
                    BUSY_EXIT)
    quick, sections = cfg.quick, cfg.sections
    repeats = cfg.repeats or (2 if quick else 3)
    out_dir = Path(cfg.results_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    log_root = Path(tempfile.mkdtemp(prefix="retrofleet-bench-logs-"))
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = out_dir / f"{'quick' if quick else 'full'}-{stamp}.json"
    results: dict = {"format": 2, "code": code_version(), "machine": machine(start),
                     "busy_at_start": start["busy"],
                     "busy_reasons": start["busy_reasons"], "quick": quick, "repeats": repeats,
                     "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                     "conditions": {}}

    def save() -> None:  # after every section: Ctrl-C keeps what was measured
        path.write_text(json.dumps(results, indent=1, default=str))

    def process_group(name: str) -> ProcessGroup:
        return ProcessGroup(log_root / stamp / name)

    cores = os.cpu_count() or 1
    levels = sorted({1, *range(1, cores + 1), *([] if quick else [4, 8])})
    variants = system_bench.VARIANTS[:2] if quick else system_bench.VARIANTS
    busy_note = " (machine busy: results marked busy)" if start["busy"] else ""
    print(f"{PROG}: sections {sections}, repeats {repeats}, results in {path}{busy_note}",
          flush=True)
    try:
        with busy.ConditionSampler() as sampler:
            for section in sections:
                began = time.time()
                print(f"\n== {section}", flush=True)
                if section == "policy":
                    results["policy"] = actor_bench.policy_latency(repeats, 2.0 if quick else 4.0)
                elif section == "actors":
                    with process_group("actors") as pg:
                        results["actors"] = actor_bench.actors(
                            pg, repeats, 4.0 if quick else 8.0, levels, cfg.inference)
                elif section == "training":
                    results["training"] = system_bench.training(
                        process_group, variants, cfg.actors, warm_updates=3,
                        warm_seconds=5.0 if quick else 15.0, seconds=20.0 if quick else 40.0,
                        rounds=repeats, inference=cfg.inference, conditions=sampler.during)
                else:
                    results["viewer"] = system_bench.viewer_cost(
                        process_group, system_bench.VARIANTS[0], cfg.actors, warm_updates=3,
                        phase_seconds=15.0 if quick else 25.0, phases=repeats,
                        inference=cfg.inference, conditions=sampler.during)
                results["conditions"][section] = sampler.during(began, time.time())
                save()
                report(results, section)
    except KeyboardInterrupt:
        results["interrupted"] = True
        save()
        print(f"\n{PROG}: interrupted; the sections finished so far are in {path}",
              file=sys.stderr)
        return 130
    results["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    save()
    print(f"\nwrote {path} (service logs in {log_root}); "
          f"update the docs with: python scripts/gen_benchmark_docs.py")
    return 0


if __name__ == "__main__":
    sys.exit(main())
