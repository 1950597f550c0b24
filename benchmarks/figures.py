"""The figures of a results file, each as min / median / max over its repeats.

One place turns benchmarks/results/*.json into what ``python -m benchmarks``
prints and what scripts/gen_benchmark_docs.py writes into docs/BENCHMARKS.md.
Ratios are taken per repeat (both sides measured in the same repeat), then
summarised. Targets are judged by the median, caps by the worst case.

Every committed format is read: older files hold the same per-repeat runs but
no load/steal samples (only the load average at start), and their training
windows were consecutive in one run per setting rather than interleaved.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.busy import LOAD_PER_CORE, STEAL_LIMIT, busy_reasons, spread

SECTIONS = ("policy", "actors", "training", "viewer")

# Targets of issue 6.
ACTOR_VS_BARE = 1.0
SCALING_OF_LINEAR = 0.95
TRAINING_FPS = 1200
VIEWER_SLOWDOWN = 0.02
ACTOR_CAP_MB = 120
FLEET_CAP_MB = 1500
WIRE_FRAMES = 1.1


@dataclass
class Figure:
    key: str                   # row label in the tables
    what: str
    target: str
    stat: dict                 # min / median / max / n
    fmt: str                   # format of one value, e.g. "{:.2f}x"
    met: str
    sections: tuple[str, ...]  # the results sections it comes from
    note: str = ""
    short: str = ""            # a shorter ``what`` for the README

    def label(self) -> str:
        return self.short or self.what


@dataclass
class Source:
    """One results file, as the docs cite it."""
    path: Path
    data: dict
    sections: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.path.name


def newest_sources(results_dir: Path) -> dict[str, Source]:
    """For each section, the newest full-*.json that has it (names sort by time)."""
    chosen: dict[str, Source] = {}
    for path in sorted(Path(results_dir).glob("full-*.json"), reverse=True):
        data = json.loads(path.read_text())
        source = None
        for section in SECTIONS:
            if section in data and section not in chosen:
                source = source or Source(path, data)
                source.sections.append(section)
                chosen[section] = source
    return chosen


# --- load and steal ---------------------------------------------------------------

def start_conditions(data: dict) -> dict:
    """Load (and steal, if recorded) when the run started, with the busy verdict."""
    machine = data.get("machine", {})
    load = machine.get("load_at_start") or [float("nan")] * 3
    steal = machine.get("steal_at_start")
    cores = machine.get("cores") or 1
    reasons = busy_reasons(load[0], steal if steal is not None else 0.0, cores)
    return {"load": load, "steal": steal, "cores": cores, "busy": bool(reasons),
            "reasons": reasons}


def section_conditions(data: dict, section: str) -> dict | None:
    """load1 and steal sampled while a section ran (None in older files)."""
    return data.get("conditions", {}).get(section)


def busy_during(cond: dict | None, cores: int) -> bool | None:
    if not cond or not cond["load1"]["n"]:
        return None
    return bool(busy_reasons(cond["load1"]["median"], cond["steal"]["median"], cores))


def conditions_text(data: dict, section: str) -> str:
    start = start_conditions(data)
    load = " / ".join(f"{x:.2f}" for x in start["load"])
    text = f"load at start {load} (1/5/15 min): {'busy' if start['busy'] else 'quiet'}"
    if start["steal"] is not None:
        text += f", steal {100 * start['steal']:.1f}%"
    cond = section_conditions(data, section)
    if cond is None or not cond["load1"]["n"]:
        return text + "; nothing sampled during the run (older format)"
    during = busy_during(cond, start["cores"])
    steal = {**cond["steal"], **{k: 100 * cond["steal"][k] for k in ("min", "median", "max")}}
    return (text + f"; during: load {stat_text(cond['load1'], '{:.2f}')}, steal "
            f"{stat_text(steal, '{:.1f}%')}: {'busy' if during else 'quiet'}")


def busy_rule() -> str:
    return (f"busy = 1-minute load average above {LOAD_PER_CORE:g} per core, "
            f"or CPU steal above {100 * STEAL_LIMIT:g}%")


# --- summaries --------------------------------------------------------------------

def stat_text(stat: dict, fmt: str) -> str:
    if not stat["n"]:
        return "n/a"
    if stat["n"] == 1:
        return fmt.format(stat["median"])
    return " / ".join(fmt.format(stat[k]) for k in ("min", "median", "max"))


def target_verdict(stat: dict, target: float, higher_is_better: bool = True) -> str:
    """Judged by the median; says so when some repeats fall on the other side."""
    if not stat["n"]:
        return "not measured"
    better = (lambda v: v >= target) if higher_is_better else (lambda v: v <= target)
    if better(stat["median"]):
        worst = stat["min"] if higher_is_better else stat["max"]
        return "yes" if better(worst) else "yes by the median, not in every repeat"
    best = stat["max"] if higher_is_better else stat["min"]
    return "no by the median, met in some repeats" if better(best) else "no"


def cap_verdict(stat: dict, cap: float) -> str:
    """A cap holds only if the worst case is under it."""
    if not stat["n"]:
        return "not measured"
    return "yes (worst case)" if stat["max"] <= cap else "no: the worst case is over"


def ratios(numerators: list[float], denominators: list[float]) -> list[float]:
    return [a / b for a, b in zip(numerators, denominators) if b]


# --- the figures --------------------------------------------------------------------

def summary(values: list[float], fmt: str) -> str:
    return stat_text(spread(values), fmt)


def policy_figures(res: dict) -> list[Figure]:
    numpy_ms = [r["ms_per_call"] for r in res["numpy"]["runs"]]
    torch_ms = [r["ms_per_call"] for r in res["torch"]["runs"]]
    speedup = spread(ratios(torch_ms, numpy_ms))
    rss = {kind: res[kind]["process_rss_mb"] for kind in ("numpy", "torch")}
    return [Figure("policy", "numpy policy vs torch, batch 1 (torch ms / numpy ms per call)",
                   "numpy at least as fast as torch", speedup, "{:.2f}x",
                   target_verdict(speedup, 1.0), ("policy",),
                   f"numpy {summary(numpy_ms, '{:.2f}')} ms, torch {summary(torch_ms, '{:.2f}')}"
                   f" ms; process RSS {rss['numpy']:.0f} vs {rss['torch']:.0f} MB",
                   short="numpy vs torch policy, batch 1")]


def actor_figures(res: dict) -> list[Figure]:
    one = res["scaling"]["1"]["runs"]
    bare = res["bare_runs"]
    cores = res["cores"]
    vs_stack = spread(ratios(one, bare["stack+numpy"]))
    vs_plain = spread(ratios(one, bare["plain+numpy"]))
    stack_plain = spread(ratios(bare["stack+none"], bare["plain+none"]))
    figures = [
        Figure("1", "actor process vs a bare loop of the same env stack + numpy inference",
               f">= {ACTOR_VS_BARE:.1f}x", vs_stack, "{:.2f}x",
               target_verdict(vs_stack, ACTOR_VS_BARE), ("actors",),
               f"actor {summary(one, '{:.0f}')} agent steps/s, bare loop "
               f"{summary(bare['stack+numpy'], '{:.0f}')}; vs stable-retro's plain "
               f"env.step + numpy loop: {stat_text(vs_plain, '{:.2f}x')}",
               short="actor vs bare loop (same env stack + inference)"),
        Figure("1b", "env stack vs stable-retro's plain env.step, no policy",
               "(no target)", stack_plain, "{:.2f}x", "-", ("actors",),
               f"{summary(bare['stack+none'], '{:.0f}')} vs "
               f"{summary(bare['plain+none'], '{:.0f}')} steps/s"),
    ]
    for k in sorted(res["scaling"], key=int):
        n, runs = int(k), res["scaling"][k]["runs"]
        if n == 1:
            continue
        of_linear = spread(ratios(runs, [min(n, cores) * x for x in one]))
        at_cores = n == cores
        figures.append(Figure(
            "2" if at_cores else f"2 ({n})", f"scaling: {n} actors on {cores} cores, of linear",
            f">= {SCALING_OF_LINEAR:g} up to N = cores" if at_cores else "(beyond the cores)",
            of_linear, "{:.2f}",
            target_verdict(of_linear, SCALING_OF_LINEAR) if at_cores else "-",
            ("actors",), f"{summary(runs, '{:.0f}')} steps/s in all",
            short=f"scaling, {n} actors on {cores} cores"))
    wire = spread([res["wire_frames_per_step"]])
    figures.append(Figure("6", "rollout wire bytes per agent step, in 84x84 frames",
                          f"<= {WIRE_FRAMES:g}", wire, "{:.2f}",
                          target_verdict(wire, WIRE_FRAMES, higher_is_better=False), ("actors",),
                          f"{res['wire_bytes_per_step']:,.0f} bytes per step",
                          short="rollout wire, 84x84 frames per agent step"))
    return figures


def training_windows(variant: dict) -> list[dict]:
    return variant.get("windows") or [variant]  # the oldest files kept one window


def window_memories(variant: dict) -> list[dict]:
    """Per-process peak memory of each window (older files: one for the whole run)."""
    windows = training_windows(variant)
    return [w["memory"] for w in windows if "memory" in w] or [variant["memory"]]


def schedule_text(variant: dict) -> str:
    if variant.get("schedule") == "interleaved":
        return "windows interleaved with the other settings, a fresh system each"
    return "windows consecutive in one run per setting (older format)"


def actor_count(variant: dict) -> int:
    return sum(1 for name in variant["memory"] if name.startswith("actor"))


def window_fps(variant: dict) -> list[float]:
    return [w["fps"] for w in training_windows(variant)]


def training_figures(res: list[dict]) -> list[Figure]:
    default = res[0]
    fps = spread(window_fps(default))
    others = "; ".join(f"{v['variant']}: {spread(window_fps(v))['median']:,.0f}" for v in res[1:])
    note = schedule_text(default) + (f"; other settings (median): {others}" if others else "")
    return [Figure("3", f"emulator frames/s while training, {actor_count(default)} actors + "
                        f"learner: {default['variant']}",
                   f">= {TRAINING_FPS:,}", fps, "{:,.0f}", target_verdict(fps, TRAINING_FPS),
                   ("training",), note,
                   short=f"training, {actor_count(default)} actors + learner, "
                         f"{default['variant']} (frames/s)")]


def viewer_pairs(res: dict) -> list[float]:
    """Slowdown of each 'with' phase against the 'without' phase just before it."""
    phases = res["phases"]
    return [1 - w["fps"] / wo["fps"] for wo, w in zip(phases["without"], phases["with"])
            if wo["fps"]]


def viewer_figures(res: dict) -> list[Figure]:
    slow = spread([100 * x for x in viewer_pairs(res)])
    fps = {k: [p["fps"] for p in v] for k, v in res["phases"].items()}
    cpu = res.get("viewer_cpu")
    cpu_text = ""
    if cpu:  # recorded since the busy rule came in
        relay = res["relay_cpu"]["with"]
        cpu_text = (f"; CPU while attached, % of one core: viewer "
                    f"{summary([100 * c for c in cpu], '{:.1f}')}, relay "
                    f"{summary([100 * c for c in relay], '{:.1f}')}")
    return [Figure("4", "training slowdown with a viewer + one MJPEG client attached "
                        "(each 'with' phase vs the 'without' phase before it)",
                   f"<= {100 * VIEWER_SLOWDOWN:g}%", slow, "{:.1f}%",
                   target_verdict(slow, 100 * VIEWER_SLOWDOWN, higher_is_better=False),
                   ("viewer",),
                   f"frames/s without {summary(fps['without'], '{:,.0f}')}, with "
                   f"{summary(fps['with'], '{:,.0f}')}{cpu_text}; the client read "
                   f"{res['stream_bytes_read'] / 1e6:.0f} MB of MJPEG",
                   short="viewer attached (training slowdown)")]


def actor_peaks(sources: dict[str, Source]) -> list[float]:
    """Peak RSS of every actor process: the actor benchmark's and the training runs'."""
    peaks = []
    if "actors" in sources:
        peaks += [m.get("peak_rss_mb", m["rss_mb"])
                  for m in sources["actors"].data["actors"]["actor_memory"].values()]
    if "training" in sources:
        for memory in window_memories(sources["training"].data["training"][0]):
            peaks += [m["rss_mb"] for name, m in memory.items() if name.startswith("actor")]
    return peaks


def fleet_totals(training: list[dict]) -> tuple[list[float], list[float]]:
    """(RSS sums, PSS sums) of per-process peaks, one per training window of the default."""
    rss, pss = [], []
    for memory in window_memories(training[0]):
        rss.append(sum(m["rss_mb"] for m in memory.values()))
        pss.append(sum(m["pss_mb"] for m in memory.values()))
    return rss, pss


def memory_figures(sources: dict[str, Source]) -> list[Figure]:
    figures = []
    peaks = spread(actor_peaks(sources))
    if peaks["n"]:
        where = tuple(s for s in ("actors", "training") if s in sources)
        figures.append(Figure("5a", "peak RSS per actor process (every actor measured)",
                              f"<= {ACTOR_CAP_MB} MB", peaks, "{:.1f} MB",
                              cap_verdict(peaks, ACTOR_CAP_MB), where, torch_text(sources),
                              short="peak RSS per actor"))
    if "training" in sources:
        rss, pss = fleet_totals(sources["training"].data["training"])
        pss_stat = spread(pss)
        n = actor_count(sources["training"].data["training"][0])
        figures.append(Figure("5b", f"{n} actors + learner + relay, sum of per-process peak PSS "
                                    "(shared pages split between sharers)",
                              f"<= {FLEET_CAP_MB / 1000:g} GB", pss_stat, "{:,.0f} MB",
                              cap_verdict(pss_stat, FLEET_CAP_MB), ("training",),
                              f"summed RSS (shared pages counted in every process): "
                              f"{stat_text(spread(rss), '{:,.0f}')} MB, "
                              f"{cap_verdict(spread(rss), FLEET_CAP_MB)}",
                              short=f"{n} actors + learner + relay, summed PSS"))
    return figures


def torch_text(sources: dict[str, Source]) -> str:
    if "actors" not in sources:
        return ""
    loaded = sources["actors"].data["actors"]["actor_torch_loaded"]
    return "torch loaded in an actor" if loaded else "no actor loaded torch"


def all_figures(sources: dict[str, Source]) -> list[Figure]:
    figures = []
    if "policy" in sources:
        figures += policy_figures(sources["policy"].data["policy"])
    if "actors" in sources:
        figures += actor_figures(sources["actors"].data["actors"])
    if "training" in sources:
        figures += training_figures(sources["training"].data["training"])
    if "viewer" in sources:
        figures += viewer_figures(sources["viewer"].data["viewer"])
    figures += memory_figures(sources)
    order = ["policy", "1", "1b", "2", "3", "4", "5a", "5b", "6"]
    return sorted(figures, key=lambda f: order.index(f.key.split(" ")[0]))


def sources_of(data: dict, name: str = "this run") -> dict[str, Source]:
    """One in-memory results dict, as newest_sources() would give it."""
    source = Source(Path(name), data, [s for s in SECTIONS if s in data])
    return {section: source for section in source.sections}
