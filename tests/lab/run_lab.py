"""Deploy the GPU Spark cluster onto the running lab: the `make lab` driver.

Steps: build the GPU test double packages (the lab has no GPU), check
that every lab host responds to Ansible, install the double's driver stand-in
on the worker hosts (a real site has its NVIDIA driver before site.yml
runs), run playbooks/site.yml with the lab's variables, and print the time
it took. The playbook itself prints the master URL and the verification
summary.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
LAB_DIR = (ROOT / os.environ.get("LAB_DIR", ".lab")).resolve()
DOUBLE_BUILDER = ROOT / "tests" / "nvidia_double" / "build.py"
LAB_VARS = ROOT / "tests" / "lab" / "lab_vars.yml"
SITE = ROOT / "playbooks" / "site.yml"
PREPARE_DOUBLE = ROOT / "tests" / "lab" / "prepare_gpu_double.yml"


def step(message: str) -> None:
    print(f"\n== {message}", flush=True)


def run(cmd: list[str]) -> None:
    bin_dir = Path(sys.executable).parent
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
               ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), LAB_DIR=str(LAB_DIR))
    result = subprocess.run(cmd, cwd=ROOT, env=env, check=False)
    if result.returncode != 0:
        raise SystemExit(f"run_lab: failed (rc={result.returncode}): {' '.join(cmd)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inventory", required=True, help="inventory written by lab.py up")
    parser.add_argument("--lab-name", default="gpu-spark-lab",
                        help="the lab's name, for the commands printed at the end (make's LAB_NAME)")
    args = parser.parse_args()
    bin_dir = Path(sys.executable).parent

    step("building the GPU test double packages (no GPU exists in the lab)")
    run([sys.executable, str(DOUBLE_BUILDER), "--output", str(LAB_DIR / "nvidia-double")])

    step("checking that every lab host responds to Ansible")
    run([str(bin_dir / "ansible"), "all", "-i", args.inventory, "-m", "ansible.builtin.ping"])

    step("installing the GPU test double's driver stand-in on the worker hosts")
    run([str(bin_dir / "ansible-playbook"), str(PREPARE_DOUBLE), "-i", args.inventory,
         "-e", f"@{LAB_VARS}"])

    step("deploying with playbooks/site.yml")
    started = time.monotonic()
    run([str(bin_dir / "ansible-playbook"), str(SITE), "-i", args.inventory,
         "-e", f"@{LAB_VARS}"])
    elapsed = time.monotonic() - started

    step(f"site.yml finished in {elapsed:.0f} s")
    suffix = "" if args.lab_name == "gpu-spark-lab" else f" LAB_NAME={args.lab_name}"
    print(f"Re-run it with: make lab{suffix} (idempotent); remove the lab with: make lab-down{suffix}")


if __name__ == "__main__":
    main()
