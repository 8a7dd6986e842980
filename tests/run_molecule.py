"""Run every molecule scenario, a few at a time, and summarise the results.

Each scenario's output goes to .lab/molecule-logs/<scenario>.log and is
printed in full when the scenario fails. Whatever happens, each
scenario's lab hosts are removed afterwards. The exit status is non-zero
when any scenario fails or when no scenario was found.

Usage: python tests/run_molecule.py [--jobs N] [SCENARIO ...]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOG_DIR = ROOT / ".lab" / "molecule-logs"


def discover_scenarios() -> list[str]:
    return sorted(path.parent.name for path in (ROOT / "molecule").glob("*/molecule.yml"))


def run_scenario(name: str) -> tuple[str, int, float]:
    log_path = LOG_DIR / f"{name}.log"
    started = time.monotonic()
    print(f"run_molecule: {name}: started", flush=True)
    bin_dir = Path(sys.executable).parent
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
               PY_COLORS="0", ANSIBLE_FORCE_COLOR="0")
    with log_path.open("w") as log:
        result = subprocess.run(
            [str(bin_dir / "molecule"), "test", "--scenario-name", name],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env, check=False,
        )
        # The scenario's destroy step normally does this; it is repeated
        # so that a crash of molecule itself leaves no hosts behind.
        subprocess.run(
            [sys.executable, str(ROOT / "tests" / "lab" / "lab.py"), "down",
             "--lab", f"molecule-{name}"],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, check=False,
        )
    elapsed = time.monotonic() - started
    state = "passed" if result.returncode == 0 else f"FAILED (rc={result.returncode})"
    print(f"run_molecule: {name}: {state} in {elapsed:.0f} s, log {log_path}", flush=True)
    return name, result.returncode, elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description="Run molecule scenarios.")
    parser.add_argument("--jobs", type=int, default=int(os.environ.get("MOLECULE_JOBS", "2")),
                        help="scenarios run at the same time (default: 2, or $MOLECULE_JOBS)")
    parser.add_argument("scenarios", nargs="*", help="scenario names (default: all)")
    args = parser.parse_args()

    scenarios = args.scenarios or discover_scenarios()
    if not scenarios:
        print("run_molecule: no molecule scenarios found under molecule/", file=sys.stderr)
        return 1
    LOG_DIR.mkdir(parents=True, exist_ok=True)

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        results = list(pool.map(run_scenario, scenarios))

    failed = [result[0] for result in results if result[1] != 0]
    for name in failed:
        print(f"\n===== molecule log of failed scenario {name} =====", flush=True)
        print((LOG_DIR / f"{name}.log").read_text(errors="replace"), flush=True)
    print("\nrun_molecule: summary")
    for name, returncode, elapsed in results:
        print(f"  {name:<24} {'passed' if returncode == 0 else 'FAILED':<8} {elapsed:6.0f} s")
    print(f"  total wall time {time.monotonic() - started:.0f} s, "
          f"{len(results) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
