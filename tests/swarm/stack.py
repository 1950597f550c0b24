"""One `docker stack deploy` of docker-stack.yml under its own name, for tests/swarm."""
from __future__ import annotations

import os
import subprocess
import time

import pytest

from tests.conftest import REPO
from tests.docker_helpers import docker, read_jsonl

STACK_FILES = [REPO / "docker-stack.yml", REPO / "tests/swarm/docker-stack.test.yml"]
IMAGE = os.environ.get("RETROFLEET_IMAGE", "retrofleet:latest")
RUN_METRICS = "/app/runs/swarm-test/metrics.jsonl"  # tests/swarm/docker-stack.test.yml

SKIP_REASON = "swarm tests are opt-in: RETROFLEET_SWARM_TESTS=1 (bash scripts/ci_swarm.sh sets it)"
OPTED_IN = os.environ.get("RETROFLEET_SWARM_TESTS") == "1"


def require_swarm(image: str = IMAGE) -> None:
    """Opted in, a missing swarm or image fails the test instead of skipping it."""
    state = docker("info", "--format", "{{.Swarm.LocalNodeState}}", check=False).strip()
    if state != "active":
        pytest.fail(f"this engine is not in a swarm (state {state or 'unknown'}): docker "
                    "swarm init --advertise-addr 127.0.0.1 (bash scripts/ci_swarm.sh does it)")
    if subprocess.run(["docker", "image", "inspect", image], capture_output=True,
                      timeout=60).returncode != 0:
        pytest.fail(f"image {image} is missing: build it first (bash scripts/ci_swarm.sh does)")


class SwarmStack:
    """Deploys, inspects and removes one stack; ``env`` fills the file's ${VARS}."""

    def __init__(self, name: str, env: dict[str, str]):
        self.name = name
        self.env = {**os.environ, "RETROFLEET_IMAGE": IMAGE, **env}

    def deploy(self) -> None:
        files = [arg for path in STACK_FILES for arg in ("-c", str(path))]
        # --resolve-image never: the image is the local engine's, not a registry's.
        proc = subprocess.run(["docker", "stack", "deploy", "--resolve-image", "never", *files,
                               self.name], cwd=REPO, env=self.env, capture_output=True,
                              text=True, timeout=120)
        assert proc.returncode == 0, f"stack deploy failed:\n{proc.stdout}\n{proc.stderr}"

    def service(self, name: str) -> str:
        return f"{self.name}_{name}"

    def containers(self, service: str, running: bool = True) -> list[str]:
        """Full container ids of a service's tasks on this node, newest first."""
        out = docker("ps", *(() if running else ("-a",)), "--no-trunc", "-q", "--filter",
                     f"label=com.docker.swarm.service.name={self.service(service)}", timeout=60)
        return out.split()

    def tasks(self, service: str) -> dict[str, str]:
        """task id -> container id, for the running tasks of ``service``."""
        out = docker("ps", "--no-trunc", "--filter",
                     f"label=com.docker.swarm.service.name={self.service(service)}",
                     "--format", '{{.Label "com.docker.swarm.task.id"}} {{.ID}}', timeout=60)
        return dict(line.split() for line in out.splitlines() if line.strip())

    def task_errors(self, service: str) -> str:
        """What `docker service ps` says about the service's tasks (state | error)."""
        return docker("service", "ps", "--no-trunc", "--format",
                      "{{.CurrentState}} | {{.Error}}", self.service(service), timeout=60,
                      check=False)

    def service_logs(self, service: str, tail: int = 15) -> str:
        """The last lines of every task (the services log to stderr, which this keeps)."""
        return subprocess.run(["docker", "service", "logs", "--no-trunc", "--tail", str(tail),
                               self.service(service)], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=60).stdout

    def metrics(self) -> list[dict]:
        """The learner's metrics.jsonl rows, also while its task is being replaced."""
        ids = self.containers("learner") or self.containers("learner", running=False)
        return read_jsonl(ids[0], RUN_METRICS) if ids else []

    def logs(self) -> str:
        parts = [f"--- {s}: {self.task_errors(s).splitlines()[:3]}\n{self.service_logs(s)}"
                 for s in ("learner", "actor", "relay", "viewer")]
        return "\n".join(parts)[-8000:]

    def remove(self, timeout: float = 120.0) -> None:
        """`docker stack rm`, then wait for its containers and delete its volume."""
        docker("stack", "rm", self.name, timeout=60, check=False)
        deadline = time.monotonic() + timeout
        label = f"label=com.docker.stack.namespace={self.name}"
        while time.monotonic() < deadline:
            left = docker("ps", "-aq", "--filter", label, timeout=60, check=False).split()
            if not left:
                break
            time.sleep(2)
        volume = f"{self.name}_runs"  # goes once no container uses it
        while time.monotonic() < deadline and docker("volume", "ls", "-q", "--filter",
                                                     f"name={volume}", check=False).strip():
            docker("volume", "rm", volume, timeout=60, check=False)
            time.sleep(1)
