"""Figure 3: cluster ready latency, role's start against a hand start without gating.

On a lab deployed with site.yml (1 master host, worker hosts as in
`make lab`), each repetition measures the time from `compose up` to all
workers ALIVE, polling the master's /json/ every 0.1 s from this machine:

- role: the Compose projects that the spark_gpu_cluster role wrote, brought
  down and then up on every host at once, as after a power cut. The role's
  workers wait for the master before they start.
- hand: the same image and the same number of workers per host, started
  at once with a plain Compose file per host and no gating (the hand
  recipe's way). A worker that comes up before its master retries
  registration only after Spark's 5 to 15 s back-off: the start-order race.

Both sides pay the same Compose start-up cost. Target: the role's median is
not above the hand start's, and the role's maximum is not above the hand
start's median plus 2 s (no slow outliers).

Without site.yml (`--only hand`), the lab is deployed with the hand recipe
and only the hand start is measured.
"""

from __future__ import annotations

import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as bench  # noqa: E402  (sibling module, not an installed package)

FIGURE = "ready_latency"
WORKER_HOSTS = 2
POLL_INTERVAL = 0.1
OUTLIER_MARGIN = 2.0
HAND_DIR = f"{bench.HOST_WORK_DIR}/hand-start"
HAND_PROJECT = "bench-hand-start"


@dataclass
class ComposeProject:
    host: str
    name: str
    working_dir: str
    config_files: list[str]
    compose: str  # "docker-compose" (v1) or "docker compose" (v2)

    def command(self, action: str) -> str:
        files = " ".join(f"-f {shlex.quote(path)}" for path in self.config_files)
        return (f"cd {shlex.quote(self.working_dir)} && "
                f"{self.compose} -p {shlex.quote(self.name)} {files} {action}")


def compose_projects(lab: bench.Lab) -> list[ComposeProject]:
    """Find the Compose projects of the running Spark containers, from their labels."""
    template = ('{{.Label "com.docker.compose.project"}}\t{{.Label "com.docker.compose.project.working_dir"}}\t'
                '{{.Label "com.docker.compose.project.config_files"}}\t{{.Label "com.docker.compose.version"}}')
    projects = {}
    for container in bench.spark_containers(lab):
        out = bench.host_exec(container.host, f"docker ps --filter id={container.container_id} "
                                              f"--format {shlex.quote(template)}").strip()
        if not out:
            continue
        name, working_dir, files, version = (out.split("\t") + ["", "", "", ""])[:4]
        if not name:
            raise bench.BenchError(f"container {container.name} on {container.host} is not from Compose")
        compose = "docker-compose" if version.startswith("1.") else "docker compose"
        projects[(container.host, name)] = ComposeProject(
            container.host, name, working_dir, [f for f in files.split(",") if f], compose)
    return list(projects.values())


def compose_all(projects: list[ComposeProject], action: str) -> None:
    bench.in_parallel([lambda p=p: bench.host_exec(p.host, p.command(action)) for p in projects])


def time_start(lab: bench.Lab, projects: list[ComposeProject], workers: int) -> float:
    """Run `compose up -d` on every host at once; return seconds until `workers` are ALIVE."""
    url = lab.master_url()
    started = time.monotonic()
    compose_all(projects, "up -d")
    return bench.wait_for_workers(url, workers, interval=POLL_INTERVAL, since=started)


def write_hand_projects(lab: bench.Lab, image: str, workers_per_host: dict[str, int],
                        compose: str) -> list[ComposeProject]:
    """Write plain Compose files without gating: master and workers as the role places them."""
    master_ip = lab.ip(lab.master)
    projects = []
    for host in lab.hosts:
        services = []
        if host == lab.master:
            services.append(("spark-master", "org.apache.spark.deploy.master.Master "
                             f"--host {master_ip} --port {bench.MASTER_PORT} "
                             f"--webui-port {bench.MASTER_UI_PORT}"))
        for index in range(workers_per_host.get(host, 0)):
            services.append((f"spark-worker-{index + 1}", "org.apache.spark.deploy.worker.Worker "
                             f"--port {7078 + index} --webui-port {8081 + index} "
                             f"spark://{master_ip}:{bench.MASTER_PORT}"))
        if not services:
            continue
        lines = ['version: "2.4"', "services:"]
        for name, args in services:
            lines += [
                f"  {name}:",
                f"    image: {image}",
                "    network_mode: host",
                "    entrypoint: [\"/bin/sh\", \"-c\"]",
                f"    command: ['exec \"$$SPARK_HOME/bin/spark-class\" {args}']",
            ]
        text = "\n".join(lines) + "\n"
        bench.host_exec(host, f"mkdir -p {HAND_DIR} && cat > {HAND_DIR}/compose.yml <<'EOF'\n{text}EOF")
        projects.append(ComposeProject(host, HAND_PROJECT, HAND_DIR, [f"{HAND_DIR}/compose.yml"], compose))
    return projects


def measure(lab: bench.Lab, repeat: int, sides: tuple[str, ...] = ("role", "hand")) -> dict:
    figure = bench.Figure(FIGURE, "Figure 3: ready latency from compose up to all workers ALIVE")
    containers = bench.spark_containers(lab)
    workers_per_host: dict[str, int] = {}
    for container in containers:
        if container.kind == "worker":
            workers_per_host[container.host] = workers_per_host.get(container.host, 0) + 1
    workers = sum(workers_per_host.values())
    masters = [c for c in containers if c.kind == "master"]
    if len(masters) != 1 or workers == 0:
        raise bench.BenchError(f"expected 1 master and some workers on lab {lab.name}, "
                               f"found {len(masters)} and {workers}")
    image = bench.host_exec(masters[0].host, f"docker inspect --format '{{{{.Config.Image}}}}' "
                                             f"{masters[0].container_id}").strip()
    deployed = compose_projects(lab)
    hand = write_hand_projects(lab, image, workers_per_host, deployed[0].compose)
    bench.log(f"ready latency on {lab.name}: {workers} workers on {len(workers_per_host)} hosts, "
              f"image {image}, {deployed[0].compose}")

    times: dict[str, list[float]] = {"role": [], "hand": []}
    try:
        compose_all(deployed, "down")
        for repetition in range(1, repeat + 1):
            for side in sides:
                projects = deployed if side == "role" else hand
                seconds = time_start(lab, projects, workers)
                times[side].append(seconds)
                bench.log(f"ready latency {repetition}/{repeat} {side}: {seconds:.2f} s")
                compose_all(projects, "down")
    finally:
        # Leave the lab as deployed, for the figures that run after this one.
        compose_all(hand, "down --remove-orphans")
        compose_all(deployed, "up -d")
    bench.wait_for_workers(lab.master_url(), workers, timeout=180)

    labels = {"role": "role's Compose projects (workers wait for master)",
              "hand": "hand start, same image, no gating"}
    rows = {side: figure.add(labels[side], times[side], "s") for side in sides}
    if "role" in rows and "hand" in rows:
        role, hand_row = rows["role"], rows["hand"]
        figure.target("role's median not above the hand start's median",
                      role["median"] <= hand_row["median"],
                      f"role {role['median']:.1f} s, hand {hand_row['median']:.1f} s")
        limit = hand_row["median"] + OUTLIER_MARGIN
        figure.target(f"no slow outliers: role's maximum at most the hand median + {OUTLIER_MARGIN:.0f} s",
                      role["max"] <= limit,
                      f"role max {role['max']:.1f} s, limit {limit:.1f} s, hand max {hand_row['max']:.1f} s")
    figure.notes.append(f"{workers} workers on {len(workers_per_host)} hosts, polled every {POLL_INTERVAL} s")
    return bench.finish(figure)


def main() -> None:
    parser = bench.base_parser(__doc__.splitlines()[0], repeat=5)
    parser.add_argument("--only", choices=("hand",),
                        help="deploy with the hand recipe and measure the hand start only")
    args = parser.parse_args()

    def body() -> None:
        bench.prepare_inputs(double=True)
        with bench.Lab("ready", WORKER_HOSTS + 1) as lab:
            if args.only == "hand":
                bench.manual_deploy(lab, "ready-manual")
                measure(lab, args.repeat, ("hand",))
            else:
                bench.run_site(lab, "ready-site", bench.ansible_env(args.ansible_env))
                measure(lab, args.repeat)

    bench.main_wrapper(body)


if __name__ == "__main__":
    main()
