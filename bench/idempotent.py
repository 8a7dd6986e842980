"""Figure 2: idempotent re-run of site.yml against Ansible's own floor.

On a lab deployed once with site.yml (1 master host, 2 worker hosts),
each repetition times:

- a re-run of site.yml with the same variables, and counts its `changed`
  tasks (must be 0);
- the floor: a playbook that gathers all facts (`ansible.builtin.setup`,
  as `ansible all -m ansible.builtin.setup`) and runs one no-op module
  (`ansible.builtin.ping`) on the same hosts.

The two alternate so that load changes hit both. Targets: changed = 0 on
every re-run, and median(re-run) / median(floor) at most 3.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as bench  # noqa: E402  (sibling module, not an installed package)

FIGURE = "idempotent"
WORKER_HOSTS = 2
RERUN_METRIC = "site.yml re-run"
TARGET_RATIO = 3.0

FLOOR_PLAYBOOK = """\
# Written by bench/idempotent.py: the least a playbook run on these hosts costs.
- name: Gather facts and run one no-op module
  hosts: all
  gather_facts: true
  tasks:
    - name: Reach every host once more
      ansible.builtin.ping:
"""


def measure(lab: bench.Lab, repeat: int, extra_env: dict[str, str]) -> dict:
    figure = bench.Figure(FIGURE, "Figure 2: idempotent re-run of site.yml against the Ansible floor")
    floor_playbook = bench.BENCH_DIR / "floor.yml"
    floor_playbook.parent.mkdir(parents=True, exist_ok=True)
    floor_playbook.write_text(FLOOR_PLAYBOOK)

    reruns, changed, floors = [], [], []
    for repetition in range(1, repeat + 1):
        result = bench.run_site(lab, f"idempotent-site-{repetition}", extra_env)
        reruns.append(result.seconds)
        changed.append(result.changed)
        floor = bench.run_playbook(lab, floor_playbook, f"idempotent-floor-{repetition}", extra_env)
        floors.append(floor.seconds)
        bench.log(f"idempotent {repetition}/{repeat}: re-run {result.seconds:.1f} s "
                  f"(changed={result.changed}), floor {floor.seconds:.1f} s")

    rerun_row = figure.add(RERUN_METRIC, reruns, "s")
    floor_row = figure.add("floor: setup + one no-op task", floors, "s")
    figure.add("changed tasks per re-run", changed, "tasks")
    figure.add("re-run / floor per repetition", [a / b for a, b in zip(reruns, floors)], "x")
    figure.target("changed = 0 on every re-run", max(changed) == 0, f"changed counts {changed}")
    ratio = rerun_row["median"] / floor_row["median"]
    figure.target(f"median re-run at most {TARGET_RATIO:.0f}x the floor", ratio <= TARGET_RATIO,
                  f"{rerun_row['median']:.1f} s / {floor_row['median']:.1f} s = {ratio:.2f}x")
    if extra_env:
        figure.notes.append(f"Ansible settings overridden: {extra_env}")
    return bench.finish(figure)


def main() -> None:
    parser = bench.base_parser(__doc__.splitlines()[0], repeat=3)
    args = parser.parse_args()
    extra_env = bench.ansible_env(args.ansible_env)

    def body() -> None:
        bench.prepare_inputs(double=True)
        with bench.Lab("idempotent", WORKER_HOSTS + 1) as lab:
            bench.run_site(lab, "idempotent-deploy", extra_env)
            measure(lab, args.repeat, extra_env)

    bench.main_wrapper(body)


if __name__ == "__main__":
    main()
