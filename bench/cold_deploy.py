"""Figure 1: cold deploy with site.yml against the hand recipe on identical fresh hosts.

Each repetition creates two fresh 3-host labs from the same host image
(1 master host, 2 worker hosts, as `make lab`) and times, from the moment
the hosts are up:

(a) ``ansible-playbook playbooks/site.yml`` with the lab variables, which
    ends with the cluster's GPU verification job;
(b) bench/manual_recipe.sh run on every host at once: distribution
    packages, hand-written daemon.json, Docker restart, ``docker load`` of
    the same Spark archive (its copy into the host is timed), compose up,
    and polling the master until both workers are ALIVE.

The order of (a) and (b) alternates between repetitions so that a change
in machine load does not favour one side. Target: median(a) / median(b)
at most 1.3.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as bench  # noqa: E402  (sibling module, not an installed package)

FIGURE = "cold_deploy"
SITE_METRIC = "(a) site.yml, incl. GPU verification job"
TARGET_RATIO = 1.3
WORKERS = 2


def deploy(side: str, extra_env: dict[str, str], repetition: int, keep: bool) -> tuple[float, bench.Lab]:
    """Deploy one fresh lab with site.yml or the hand recipe; remove it unless `keep`."""
    lab = bench.Lab("cold", WORKERS + 1).__enter__()
    try:
        if side == "site":
            seconds = bench.run_site(lab, f"cold-site-{repetition}", extra_env).seconds
            # Not timed: proves that the run really ended with the workers ALIVE.
            bench.wait_for_workers(lab.master_url(), WORKERS, timeout=60)
        else:
            seconds = bench.manual_deploy(lab, f"cold-manual-{repetition}")
    except BaseException:
        lab.down()
        raise
    if not keep:
        lab.down()
    return seconds, lab


def measure(repeat: int, extra_env: dict[str, str], sides: tuple[str, ...] = ("site", "manual"),
            kept_labs: dict[str, bench.Lab] | None = None) -> dict:
    """Measure figure 1; with `kept_labs`, the last repetition's labs stay up and are stored there.

    The caller then owns those labs and must remove them (bench/run_all.py
    measures figures 2, 3 and 5 on them).
    """
    bench.prepare_inputs(double=True)
    figure = bench.Figure(FIGURE, f"Figure 1: cold deploy to {WORKERS} ALIVE workers on fresh lab hosts")
    times: dict[str, list[float]] = {"site": [], "manual": []}
    for repetition in range(1, repeat + 1):
        order = sides if repetition % 2 else tuple(reversed(sides))
        for side in order:
            bench.log(f"cold deploy {repetition}/{repeat}: {side}")
            keep = kept_labs is not None and repetition == repeat
            seconds, lab = deploy(side, extra_env, repetition, keep)
            times[side].append(seconds)
            if keep:
                kept_labs[side] = lab

    if "site" in sides:
        site = figure.add(SITE_METRIC, times["site"], "s")
    if "manual" in sides:
        manual = figure.add("(b) hand recipe (manual_recipe.sh)", times["manual"], "s")
    if "site" in sides and "manual" in sides:
        pairs = [a / b for a, b in zip(times["site"], times["manual"])]
        figure.add("a/b per repetition", pairs, "x")
        ratio = site["median"] / manual["median"]
        figure.target(f"median a/b at most {TARGET_RATIO}", ratio <= TARGET_RATIO,
                      f"a/b = {site['median']:.1f} s / {manual['median']:.1f} s = {ratio:.2f}")
    if extra_env:
        figure.notes.append(f"Ansible settings overridden: {extra_env}")
    if bench.double_debs():
        figure.notes.append("the hand recipe also installs the GPU test double's container toolkit "
                            "packages, as site.yml does")
    return bench.finish(figure)


def main() -> None:
    parser = bench.base_parser(__doc__.splitlines()[0], repeat=2)
    parser.add_argument("--only", choices=("site", "manual"),
                        help="measure one side only (for development; no ratio)")
    args = parser.parse_args()
    sides = (args.only,) if args.only else ("site", "manual")
    bench.main_wrapper(lambda: measure(args.repeat, bench.ansible_env(args.ansible_env), sides))


if __name__ == "__main__":
    main()
