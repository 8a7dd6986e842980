"""Run every benchmark figure in sequence and print one combined table.

To fit on a 2-core machine in about 30 minutes, no lab is deployed twice
for the same purpose. The labs of figure 1's last repetition stay up, and
figures 5 (memory at idle), 2 (idempotent re-runs) and 3 (ready latency)
are measured on them, in that order. Figure 3 restarts the containers and
leaves the cluster running again. Figure 4 takes its 2-worker point from
figures 1a and 2 and deploys only the 1- and 4-worker labs. With
`--without-site` only the hand recipe's figures run: 1b, 5 and 3 (hand
start). The combined result goes to .lab/bench/all.json.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as bench  # noqa: E402  (sibling module, not an installed package)
import cold_deploy  # noqa: E402
import idempotent  # noqa: E402
import memory  # noqa: E402
import ready_latency  # noqa: E402
import scale  # noqa: E402


def run_figure(name: str, results: list[dict], failures: list[str], call) -> dict | None:
    """Run one figure; a failure is recorded and the next figure still runs."""
    bench.log(f"=== {name}")
    try:
        data = call()
    except bench.BenchError as error:
        bench.log(f"{name} failed: {error}")
        failures.append(f"{name}: {str(error).splitlines()[0]}")
        return None
    results.append(data)
    return data


def row_values(data: dict | None, metric: str) -> list[float]:
    for row in (data or {}).get("rows", []):
        if row["metric"] == metric:
            return row["values"]
    return []


def site_figures(args, extra_env, results, failures) -> None:
    """Figure 1, then 5, 2 and 3 on the labs of its last repetition, then figure 4."""
    kept_labs: dict[str, bench.Lab] = {}
    rerun_data = None
    try:
        cold_data = run_figure("cold_deploy", results, failures,
                               lambda: cold_deploy.measure(args.cold_repeat, extra_env, kept_labs=kept_labs))
        if "site" in kept_labs:
            run_figure("memory", results, failures,
                       lambda: memory.measure(dict(kept_labs), args.memory_samples))
            rerun_data = run_figure("idempotent", results, failures,
                                    lambda: idempotent.measure(kept_labs["site"], args.idempotent_repeat, extra_env))
            run_figure("ready_latency", results, failures,
                       lambda: ready_latency.measure(kept_labs["site"], args.ready_repeat))
    finally:
        for lab in kept_labs.values():
            lab.down()

    known = {}
    cold_times = row_values(cold_data, cold_deploy.SITE_METRIC)
    rerun_times = row_values(rerun_data, idempotent.RERUN_METRIC)
    if cold_times and rerun_times:
        known[cold_deploy.WORKERS] = (cold_times, rerun_times)
    counts = tuple(count for count in scale.DEFAULT_COUNTS if count not in known)
    run_figure("scale", results, failures,
               lambda: scale.measure(args.scale_repeat, extra_env, counts, known))


def hand_only_figures(args, results, failures) -> None:
    """Figures 1b, 5 and 3 for the hand recipe alone, on the labs of figure 1's last repetition."""
    kept_labs: dict[str, bench.Lab] = {}
    try:
        run_figure("cold_deploy", results, failures,
                   lambda: cold_deploy.measure(args.cold_repeat, {}, ("manual",), kept_labs=kept_labs))
        if "manual" in kept_labs:
            lab = kept_labs["manual"]
            run_figure("memory", results, failures,
                       lambda: memory.measure({"manual": lab}, args.memory_samples))
            run_figure("ready_latency", results, failures,
                       lambda: ready_latency.measure(lab, args.ready_repeat, ("hand",)))
    finally:
        for lab in kept_labs.values():
            lab.down()


def main() -> None:
    parser = bench.base_parser(__doc__.splitlines()[0], repeat=None)
    parser.add_argument("--cold-repeat", type=int, default=2, help="figure 1 repetitions (default: 2)")
    parser.add_argument("--idempotent-repeat", type=int, default=3, help="figure 2 repetitions (default: 3)")
    parser.add_argument("--ready-repeat", type=int, default=5, help="figure 3 repetitions (default: 5)")
    parser.add_argument("--scale-repeat", type=int, default=1, help="figure 4 repetitions (default: 1)")
    parser.add_argument("--memory-samples", type=int, default=3, help="figure 5 samples (default: 3)")
    parser.add_argument("--without-site", action="store_true",
                        help="measure only the hand recipe's figures (1b, 3 hand start, 5 hand recipe)")
    args = parser.parse_args()
    extra_env = bench.ansible_env(args.ansible_env)
    results: list[dict] = []
    failures: list[str] = []

    def body() -> None:
        started = time.monotonic()
        with_site = not args.without_site
        bench.prepare_inputs(double=True)
        if with_site:
            site_figures(args, extra_env, results, failures)
        else:
            hand_only_figures(args, results, failures)
        minutes = (time.monotonic() - started) / 60

        combined = {"environment": bench.environment(), "minutes": round(minutes, 1),
                    "load_average_at_end": os.getloadavg(),
                    "figures": results, "failures": failures, "finished": bench.utc_now()}
        path = bench.BENCH_DIR / "all.json"
        path.write_text(json.dumps(combined, indent=2) + "\n")
        print(f"\n== All figures ({minutes:.1f} min)")
        for line in bench.table_lines(results):
            print(line)
        for failure in failures:
            print(f"FAILED: {failure}")
        print(f"(saved to {path})", flush=True)
        if failures:
            raise SystemExit(1)

    bench.main_wrapper(body)


if __name__ == "__main__":
    main()
