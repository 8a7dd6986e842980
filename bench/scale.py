"""Figure 4: cold deploy and idempotent re-run time with 1, 2 and 4 worker hosts.

For each worker host count, a fresh lab (1 master host plus the worker
hosts) is deployed with site.yml and then re-run once. The growth per
added host is the least-squares slope of the median times over the worker
host counts. Ansible configures the hosts in parallel (forks), so the
target is a near-flat curve: a slope of at most 15 % of the 1-worker time
per added host, for both the cold deploy and the re-run.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as bench  # noqa: E402  (sibling module, not an installed package)

FIGURE = "scale"
DEFAULT_COUNTS = (1, 2, 4)
FLAT_SHARE = 0.15


def slope(xs: list[float], ys: list[float]) -> float:
    """Return the least-squares slope of ys over xs."""
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    denominator = sum((x - mean_x) ** 2 for x in xs)
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys)) / denominator


def measure(repeat: int, extra_env: dict[str, str], counts: tuple[int, ...] = DEFAULT_COUNTS,
            known: dict[int, tuple[list[float], list[float]]] | None = None) -> dict:
    """Measure figure 4; `known` maps a worker host count to (cold, re-run) times measured elsewhere.

    bench/run_all.py passes the 2-worker times of figures 1 and 2 there
    instead of deploying that lab a third time.
    """
    bench.prepare_inputs(double=True)
    figure = bench.Figure(FIGURE, "Figure 4: deploy time by number of worker hosts")
    known = known or {}
    counts = tuple(sorted(set(counts) | set(known)))
    cold: dict[int, list[float]] = {count: list(known.get(count, ([], []))[0]) for count in counts}
    rerun: dict[int, list[float]] = {count: list(known.get(count, ([], []))[1]) for count in counts}
    changed: list[int] = []
    for repetition in range(1, repeat + 1):
        for count in counts:
            if count in known:
                continue
            with bench.Lab("scale", count + 1) as lab:
                first = bench.run_site(lab, f"scale-{count}-cold-{repetition}", extra_env)
                second = bench.run_site(lab, f"scale-{count}-rerun-{repetition}", extra_env)
                cold[count].append(first.seconds)
                rerun[count].append(second.seconds)
                changed.append(second.changed)

    for count in counts:
        figure.add(f"cold deploy, {count} worker host(s)", cold[count], "s")
    for count in counts:
        figure.add(f"re-run, {count} worker host(s)", rerun[count], "s")

    xs = [float(count) for count in counts]
    for name, times in (("cold deploy", cold), ("re-run", rerun)):
        medians = [statistics.median(times[count]) for count in counts]
        growth = slope(xs, medians)
        base = medians[0]
        figure.add(f"{name}: growth per added worker host", [growth], "s")
        figure.target(f"{name} near flat: growth per added host at most {FLAT_SHARE:.0%} "
                      f"of the {counts[0]}-worker time",
                      growth <= FLAT_SHARE * base,
                      f"{growth:+.1f} s per host against {base:.1f} s ({growth / base:+.0%})")
    figure.notes.append(f"changed tasks on the re-runs: {changed}")
    for count in known:
        figure.notes.append(f"the {count}-worker times are those of figures 1a and 2 of the same run")
    if extra_env:
        figure.notes.append(f"Ansible settings overridden: {extra_env}")
    return bench.finish(figure)


def main() -> None:
    parser = bench.base_parser(__doc__.splitlines()[0], repeat=1)
    parser.add_argument("--counts", default=",".join(map(str, DEFAULT_COUNTS)),
                        help="comma-separated worker host counts (default: 1,2,4)")
    args = parser.parse_args()
    counts = tuple(int(item) for item in args.counts.split(","))
    if len(counts) < 2:
        parser.error("--counts needs at least two worker host counts to compute a slope")
    bench.main_wrapper(lambda: measure(args.repeat, bench.ansible_env(args.ansible_env), counts))


if __name__ == "__main__":
    main()
