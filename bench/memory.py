"""Figure 5: resident memory of the Spark master and worker containers at idle.

The memory is read from each container's cgroup files through its lab
host (usage minus page cache), because `docker stats` reports 0 on cgroup
v1 machines. A cluster counts as idle once its workers are ALIVE and
`--settle` seconds have passed; then `--repeat` samples are taken 2 s
apart. The cluster deployed by site.yml is measured next to the one the
hand recipe starts (`--only manual` measures the hand recipe alone, for
machines without a working site.yml).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as bench  # noqa: E402  (sibling module, not an installed package)

FIGURE = "memory"
WORKER_HOSTS = 2
SAMPLE_INTERVAL = 2.0
DEFAULT_SETTLE = 20.0


def sample(lab: bench.Lab, samples: int, settle: float) -> dict[str, list[float]]:
    """Return resident MiB per container kind: one value per container and sample."""
    bench.log(f"memory on {lab.name}: waiting {settle:.0f} s for the cluster to settle")
    time.sleep(settle)
    values: dict[str, list[float]] = {"master": [], "worker": []}
    containers = bench.spark_containers(lab)
    if not any(c.kind == "master" for c in containers) or not any(c.kind == "worker" for c in containers):
        raise bench.BenchError(f"no Spark master or worker container found on lab {lab.name}")
    for index in range(samples):
        if index:
            time.sleep(SAMPLE_INTERVAL)
        for container in containers:
            memory = bench.container_memory(container)
            values[container.kind].append(memory["resident"] / 2**20)
    return values


def measure(labs: dict[str, bench.Lab], samples: int, settle: float = DEFAULT_SETTLE) -> dict:
    """Measure each deployed lab; `labs` maps "site" and/or "manual" to a lab."""
    figure = bench.Figure(FIGURE, "Figure 5: resident memory of idle Spark containers")
    names = {"site": "site.yml", "manual": "hand recipe"}
    for side, lab in labs.items():
        values = sample(lab, samples, settle)
        figure.add(f"{names[side]}: master", values["master"], "MiB")
        figure.add(f"{names[side]}: worker (each)", values["worker"], "MiB")
    figure.notes.append(f"usage minus page cache from the cgroup files; {samples} samples "
                        f"{SAMPLE_INTERVAL:.0f} s apart after {settle:.0f} s idle")
    return bench.finish(figure)


def main() -> None:
    parser = bench.base_parser(__doc__.splitlines()[0], repeat=3)
    parser.add_argument("--only", choices=("site", "manual"), help="measure one deployment only")
    parser.add_argument("--settle", type=float, default=DEFAULT_SETTLE,
                        help=f"seconds of idle before sampling (default: {DEFAULT_SETTLE:.0f})")
    args = parser.parse_args()
    sides = (args.only,) if args.only else ("site", "manual")

    def body() -> None:
        bench.prepare_inputs(double=True)
        labs: dict[str, bench.Lab] = {}
        try:
            for side in sides:
                lab = bench.Lab("memory", WORKER_HOSTS + 1)
                lab.__enter__()
                labs[side] = lab
                if side == "site":
                    bench.run_site(lab, "memory-site", bench.ansible_env(args.ansible_env))
                else:
                    bench.manual_deploy(lab, "memory-manual")
            measure(labs, args.repeat, args.settle)
        finally:
            for lab in labs.values():
                lab.down()

    bench.main_wrapper(body)


if __name__ == "__main__":
    main()
