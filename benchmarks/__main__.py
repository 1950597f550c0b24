"""python -m benchmarks: actor efficiency, scaling, training throughput, viewer cost,
memory and wire cost, measured on real services; prints tables, writes JSON.

Targets (issue 6): actor >= 1.0x a bare loop; scaling >= 0.95 of linear up to
the core count; >= 1,200 emulator frames/s while training with 8 actors;
viewer <= 2% slower; <= 120 MB per actor and <= 1.5 GB for 8 actors + learner +
relay; <= 1.1 frames of 84x84 on the rollout wire per agent step.
"""
from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from common.config import option, parse_config

PROG = "python -m benchmarks"
SECTIONS = ("policy", "actors", "training", "viewer")


@dataclass
class BenchConfig:
    quick: bool = option(False, "short runs and fewer repeats (a smoke test, ~5 minutes)")
    only: str = option("", f"comma-separated sections to run (default all: {','.join(SECTIONS)})")
    repeats: int = option(0, "repeats per figure (0: 2 with --quick, else 3)")
    actors: int = option(8, "actor processes in the training and viewer runs")
    inference: str = option("numpy", "how actors run the policy (if the actor has --inference)",
                            choices=["numpy", "torch"])
    results_dir: str = option("benchmarks/results", "where the JSON results are written")


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "system": platform.system(), "load_at_start": os.getloadavg()}


def table(title: str, header: list[str], rows: list[list]) -> None:
    cells = [header] + [[f"{c:.3g}" if isinstance(c, float) else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    print(f"\n{title}")
    for i, row in enumerate(cells):
        print("  " + "  ".join(c.rjust(w) for c, w in zip(row, widths)))
        if i == 0:
            print("  " + "  ".join("-" * w for w in widths))


def report_policy(res: dict) -> None:
    table("Policy inference, batch 1, one thread (real observations)",
          ["backend", "ms/call", "process RSS MB", "torch loaded"],
          [[k, v["ms_per_call"], v["process_rss_mb"], v["torch_loaded"]] for k, v in res.items()])


def report_actors(res: dict) -> None:
    bare = res["bare_sps"]
    table(f"Actor efficiency (agent steps/s; actor inference: {res['inference']})",
          ["what", "steps/s", "actor / this"],
          [["actor process (rollouts+frames)", res["actor_sps"], 1.0],
           *[[f"bare loop {k}", v, res["actor_sps"] / v] for k, v in bare.items()]])
    print(f"  env stack vs stable-retro plain env.step (no policy): "
          f"{res['stack_vs_plain_env_only']:.2f}x")
    table(f"Scaling ({res['cores']} cores; linear = min(N, cores) x one actor)",
          ["actors", "total steps/s", "of linear"],
          [[k, v["sps"], v["of_linear"]] for k, v in res["scaling"].items()])
    mem = res["actor_memory"]
    table("Wire and memory", ["what", "value"],
          [["rollout bytes per agent step", res["wire_bytes_per_step"]],
           ["= 84x84 frames per agent step", res["wire_frames_per_step"]],
           ["actor RSS MB (median)", sorted(m["rss_mb"] for m in mem.values())[len(mem) // 2]],
           ["actor PSS MB (median)", sorted(m["pss_mb"] for m in mem.values())[len(mem) // 2]],
           ["torch loaded in an actor", res["actor_torch_loaded"]]])


def memory_rows(memory: dict) -> list[list]:
    roles: dict[str, list[dict]] = {}
    for name, m in memory.items():
        roles.setdefault(name.split("-")[0], []).append(m)
    rows = [[role, len(ms), max(m["rss_mb"] for m in ms), sum(m["rss_mb"] for m in ms),
             sum(m["pss_mb"] for m in ms), any(m.get("torch_loaded") for m in ms)]
            for role, ms in roles.items()]
    rows.append(["total", sum(r[1] for r in rows), "", sum(r[3] for r in rows),
                 sum(r[4] for r in rows), ""])
    return rows


def report_training(res: list[dict]) -> None:
    table("Training throughput (learner's metrics, after warm-up)",
          ["setting", "frames/s", "agent steps/s", "update s", "policy lag", "updates"],
          [[r["variant"], r["fps"], r["sps"], r.get("update_seconds", float("nan")),
            r.get("lag_mean", float("nan")), r["updates"]] for r in res])
    table(f"Peak memory during '{res[0]['variant']}' (MB)",
          ["process", "count", "max RSS", "sum RSS", "sum PSS", "torch"],
          memory_rows(res[0]["memory"]))


def report_viewer(res: dict) -> None:
    table(f"Viewer cost ({res['variant']}; alternating phases in one run)",
          ["phase", "frames/s (median)", "phases"],
          [[k, v, len(res["phases"][k])] for k, v in res["fps"].items()])
    print(f"  slowdown with a viewer attached: {100 * res['slowdown']:.1f}%  "
          f"(viewer peak RSS {res['viewer_memory'].get('rss_mb', float('nan')):.0f} MB, "
          f"{res['stream_bytes_read'] / 1e6:.1f} MB of MJPEG read by a client)")


def main(argv: list[str] | None = None) -> int:
    cfg = parse_config(BenchConfig, argv, PROG, __doc__.split("\n\n")[0])
    sections = [s.strip() for s in cfg.only.split(",") if s.strip()] or list(SECTIONS)
    unknown = sorted(set(sections) - set(SECTIONS))
    if unknown:
        print(f"{PROG}: error: unknown section(s) {unknown}, expected some of {SECTIONS}",
              file=sys.stderr)
        return 2
    if not 1 <= cfg.actors <= 64:
        print(f"{PROG}: error: --actors must be between 1 and 64", file=sys.stderr)
        return 2
    # Heavy imports after argument checks, so --help and bad input are instant.
    from benchmarks import actor_bench, system_bench
    from benchmarks.procs import ProcessGroup

    quick = cfg.quick
    repeats = cfg.repeats or (2 if quick else 3)
    out_dir = Path(cfg.results_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    log_root = Path(tempfile.mkdtemp(prefix="retrofleet-bench-logs-"))
    stamp = time.strftime("%Y%m%d-%H%M%S")
    results: dict = {"machine": machine(), "quick": quick, "repeats": repeats,
                     "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}

    def process_group(name: str) -> ProcessGroup:
        return ProcessGroup(log_root / stamp / name)

    cores = os.cpu_count() or 1
    levels = sorted({1, *range(1, cores + 1), *([] if quick else [4, 8])})
    variants = system_bench.VARIANTS[:2] if quick else system_bench.VARIANTS
    default = system_bench.VARIANTS[0]
    print(f"{PROG}: sections {sections}, repeats {repeats}, results in {out_dir}", flush=True)
    if "policy" in sections:
        results["policy"] = actor_bench.policy_latency(repeats, 2.0 if quick else 4.0)
        report_policy(results["policy"])
    if "actors" in sections:
        with process_group("actors") as pg:
            results["actors"] = actor_bench.actors(pg, repeats, 4.0 if quick else 8.0, levels,
                                                   cfg.inference)
        report_actors(results["actors"])
    if "training" in sections:
        results["training"] = system_bench.training(
            process_group, variants, cfg.actors, warm_updates=3,
            seconds=20.0 if quick else 40.0, windows=repeats, inference=cfg.inference)
        report_training(results["training"])
    if "viewer" in sections:
        results["viewer"] = system_bench.viewer_cost(
            process_group, default, cfg.actors, warm_updates=3,
            phase_seconds=15.0 if quick else 25.0, phases=repeats, inference=cfg.inference)
        report_viewer(results["viewer"])
    results["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    path = out_dir / f"{'quick' if quick else 'full'}-{stamp}.json"
    path.write_text(json.dumps(results, indent=1, default=str))
    (out_dir / f"latest{'-quick' if quick else ''}.json").write_text(path.read_text())
    print(f"\nwrote {path} (service logs in {log_root})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
