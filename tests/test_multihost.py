"""Several machines on one: network namespaces on a private bridge, CurveZMQ on.

Four "hosts", each a network namespace with one address on 10.77.0.0/24,
joined by veth pairs to a bridge that lives in a fifth namespace (the
"switch"), so nothing is added to this machine's own network:

    trainer  10.77.0.1   relay + learner
    hosta    10.77.0.2   actors a0, a1
    hostb    10.77.0.3   actors b0, b1
    watcher  10.77.0.4   viewer (--snapshot)

The fleet trains over real TCP with encryption and authentication, the
learner is killed with SIGKILL and started again on its host, and the test
checks that the actors on both hosts carried on (same processes, resumed
updates from all four) and that the viewer saw every actor.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

from common.checkpoint import checkpoint_paths
from tests.conftest import REPO, Services, process_identity, read_metrics, wait_for
from tests.test_viewer_live import netns_problem

pytestmark = pytest.mark.slow

SUBNET = "10.77.0"
HOSTS = {"trainer": 1, "hosta": 2, "hostb": 3, "watcher": 4}
TRAINER = f"{SUBNET}.{HOSTS['trainer']}"
ACTORS = {"hosta": ("a0", "a1"), "hostb": ("b0", "b1")}
ROLLOUT_LEN = 32
SMALL = ("--batch-steps", str(4 * ROLLOUT_LEN), "--epochs", "1", "--minibatches", "2",
         "--checkpoint-interval", "2")


def run(*cmd: str) -> None:
    subprocess.run(cmd, check=True, capture_output=True, timeout=20)


@contextmanager
def private_lan(tag: str):
    """Namespaces for HOSTS on one bridge; yields {host: namespace name}. Always removed."""
    switch = f"{tag}sw"
    made: list[str] = []
    try:
        run("ip", "netns", "add", switch)
        made.append(switch)
        in_switch = ("ip", "netns", "exec", switch, "ip")
        run(*in_switch, "link", "add", "br0", "type", "bridge")
        run(*in_switch, "link", "set", "br0", "up")
        namespaces = {}
        for host, n in HOSTS.items():
            ns = f"{tag}{host}"
            run("ip", "netns", "add", ns)
            made.append(ns)
            # One cable: "port<n>" on the switch, "eth0" in the host.
            run(*in_switch, "link", "add", f"port{n}", "type", "veth",
                "peer", "name", "eth0", "netns", ns)
            run(*in_switch, "link", "set", f"port{n}", "master", "br0", "up")
            in_host = ("ip", "netns", "exec", ns, "ip")
            run(*in_host, "addr", "add", f"{SUBNET}.{n}/24", "dev", "eth0")
            run(*in_host, "link", "set", "eth0", "up")
            run(*in_host, "link", "set", "lo", "up")
            namespaces[host] = ns
        yield namespaces
    finally:
        for ns in reversed(made):  # the switch last: its end of each cable goes with it
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=20)


class Hosts(Services):
    """Services started inside a host's namespace (``ip netns exec`` execs, so the
    Popen pid is the service itself and SIGKILL reaches it)."""

    def __init__(self, tmp_path: Path, namespaces: dict[str, str], keys: Path):
        super().__init__(tmp_path)
        self.namespaces = namespaces
        self.curve = ("--curve-dir", str(keys))

    def start_on(self, host: str, module: str, *args: str, log: str) -> subprocess.Popen:
        out = open(self.tmp_path / f"{log}.log", "ab")
        cmd = ["ip", "netns", "exec", self.namespaces[host], sys.executable, "-m", module,
               *args, *self.curve]
        proc = subprocess.Popen(cmd, cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.procs.append(proc)
        return proc

    def trainer_learner(self, run_dir: Path) -> subprocess.Popen:
        return self.start_on("trainer", "services.learner", "--run-dir", str(run_dir),
                             "--run-name", "t", "--rollout-bind", f"tcp://{TRAINER}:5555",
                             "--weights-bind", f"tcp://{TRAINER}:5556",
                             "--telemetry-endpoint", f"tcp://{TRAINER}:5557",
                             "--torch-threads", "1", "--log-interval", "1", *SMALL, log="learner")

    def remote_actor(self, host: str, actor_id: str) -> subprocess.Popen:
        return self.start_on(host, "services.actor", "--actor-id", actor_id,
                             "--rollout-endpoint", f"tcp://{TRAINER}:5555",
                             "--weights-endpoint", f"tcp://{TRAINER}:5556",
                             "--telemetry-endpoint", f"tcp://{TRAINER}:5557",
                             "--rollout-len", str(ROLLOUT_LEN), "--frame-fps", "2",
                             "--wait-learner", "120", "--log-interval", "2",
                             log=f"actor-{actor_id}")


@pytest.fixture
def hosts(tmp_path):
    problem = netns_problem()
    if problem:
        pytest.skip(problem)
    keys = tmp_path / "keys"
    subprocess.run([sys.executable, "-m", "services.keys", str(keys)], cwd=REPO, check=True,
                   capture_output=True, timeout=60)
    with private_lan(f"rf{os.getpid() % 100000}") as namespaces:
        fleet = Hosts(tmp_path, namespaces, keys)
        try:
            yield fleet
        finally:
            fleet.stop_all()


def test_fleet_on_three_hosts_survives_a_learner_kill(hosts, tmp_path):
    run_dir = tmp_path / "runs"
    run_path = run_dir / "t"
    everyone = {a for ids in ACTORS.values() for a in ids}
    hosts.start_on("trainer", "services.relay", "--in-bind", f"tcp://{TRAINER}:5557",
                   "--out-bind", f"tcp://{TRAINER}:5558", log="relay")
    learner = hosts.trainer_learner(run_dir)
    actors = {a: hosts.remote_actor(host, a) for host, ids in ACTORS.items() for a in ids}
    log = lambda: hosts.log_text("learner")[-3000:]

    def newest_saved_update() -> int:
        newest = checkpoint_paths(run_path / "checkpoints")
        return int(newest[0].stem.split("-")[1]) if newest else -1

    def seen(rows: list[dict]) -> set[str]:
        return {a for r in rows for a in r["actors"]}

    wait_for(lambda: (r := read_metrics(run_path)) and len(r) >= 3 and seen(r) == everyone
             and newest_saved_update() >= 2, 300,
             "3 updates from all four actors and a checkpoint after update 2", diagnostics=log)
    # Read once they run (ip netns exec has become the actor by now).
    identities = {a: process_identity(p.pid) for a, p in actors.items()}
    assert all("services.actor" in cmd for cmd, _ in identities.values())
    learner.send_signal(signal.SIGKILL)
    learner.wait(timeout=30)
    saved_update = newest_saved_update()
    by_update = {r["update"]: r for r in read_metrics(run_path)}

    # Both actor hosts notice, and keep their processes.
    for ids in ACTORS.values():
        wait_for(lambda: "learner away" in hosts.log_text(f"actor-{ids[0]}"), 90,
                 f"actor {ids[0]} to report the learner away")
    assert all(p.poll() is None for p in actors.values())

    hosts.trainer_learner(run_dir)
    resumed = lambda: [r for r in read_metrics(run_path) if r["resumed_from"]]
    rows = wait_for(lambda: (r := resumed()) and seen(r) == everyone and r, 300,
                    "resumed updates from all four actors", diagnostics=log)
    first = rows[0]
    assert "/checkpoints/" in first["resumed_from"]
    assert first["update"] == saved_update + 1
    assert first["policy_version"] == saved_update + 1
    assert first["env_steps"] > by_update[saved_update]["env_steps"]
    # The same actor processes (command line and start time from /proc): none restarted.
    assert {a: process_identity(p.pid) for a, p in actors.items()} == identities
    assert all(p.poll() is None for p in actors.values())
    assert all(r["rejected_messages"] == 0 for r in read_metrics(run_path))

    # A viewer on its own host, with nothing but the relay's address and its key.
    out = tmp_path / "watcher.png"
    viewer = hosts.start_on("watcher", "services.viewer", "--relay-endpoint",
                            f"tcp://{TRAINER}:5558", "--snapshot", str(out), "--min-tiles", "4",
                            "--snapshot-wait", "3", "--web-port", "0", "--timeout", "120",
                            log="viewer")
    assert viewer.wait(timeout=180) == 0, hosts.log_text("viewer")[-2000:]
    side = json.loads(Path(f"{out}.json").read_text())
    assert {t["actor_id"] for t in side["tiles"]} == everyone
    assert side["live_tiles"] == 4 and side["learner_present"]
    assert len({t["seed"] for t in side["tiles"]}) == 4
