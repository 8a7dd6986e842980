"""Verification job: prove that every Spark executor received its own GPU.

Submitted by the spark_gpu_cluster role with ``spark-submit`` in client
mode from the master container. Each task reports the worker and executor
it ran on, the GPU addresses Spark gave it, the UUID that nvidia-smi
reports for that address, and the device it would compute on. GPU
addresses are numbered per container, so every worker may report "0":
the check compares (worker, GPU UUID) pairs, never bare addresses.

The last line printed starts with RESULT_MARKER, followed by the result
as JSON. The exit status is 0 only when every check passed.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time

from pyspark.sql import SparkSession

from gpu_spark_device import auth_secret_from_environment, select_device, task_gpu_addresses

RESULT_MARKER = "GPU_SPARK_CLUSTER_CHECK"


def gpu_uuid(nvidia_smi: str, address: str) -> str:
    """Return the UUID nvidia-smi reports for a GPU address, or an error text."""
    try:
        completed = subprocess.run(
            [nvidia_smi, "--query-gpu=uuid", "-i", address, "--format=csv,noheader"],
            capture_output=True, text=True, timeout=30, check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"error: {error}"
    if completed.returncode != 0:
        return f"error: rc={completed.returncode} {completed.stderr.strip() or completed.stdout.strip()}"
    return completed.stdout.strip()


def describe_task(_partition):
    """Report where one task ran and which GPU it received."""
    addresses = task_gpu_addresses()
    nvidia_smi = os.environ.get("SPARK_GPU_CLUSTER_NVIDIA_SMI", "nvidia-smi")
    # A standalone executor runs in <work dir>/<app id>/<executor id>.
    executor_id = os.path.basename(os.getcwd())
    yield {
        "worker": os.environ.get("SPARK_GPU_CLUSTER_WORKER", socket.gethostname()),
        "executor": executor_id,
        "gpu_addresses": addresses,
        "gpu_uuids": [gpu_uuid(nvidia_smi, address) for address in addresses],
        "device": select_device(),
    }
    # Holding the task briefly spreads the tasks over every executor.
    time.sleep(0.5)


def registered_executor_count(spark) -> int:
    # The status map lists the driver as well as the executors.
    return spark.sparkContext._jsc.sc().getExecutorMemoryStatus().size() - 1  # pylint: disable=protected-access


def check_reports(reports: list[dict], expected_executors: int, use_gpus: bool) -> list[str]:
    """Return the list of failed checks; empty when the cluster is correct."""
    problems = []
    executors: dict[tuple[str, str], set[str]] = {}
    for report in reports:
        key = (report["worker"], report["executor"])
        executors.setdefault(key, set()).update(report["gpu_uuids"])
        if use_gpus and len(report["gpu_addresses"]) != 1:
            problems.append(f"task on {key} received GPU addresses {report['gpu_addresses']}, expected exactly one")
        for uuid in report["gpu_uuids"]:
            if uuid.startswith("error:"):
                problems.append(f"task on {key} could not read its GPU UUID: {uuid}")
    if len(executors) < expected_executors:
        problems.append(f"tasks ran on {len(executors)} executors, expected {expected_executors}")
    if use_gpus:
        owners: dict[str, tuple[str, str]] = {}
        for key, uuids in executors.items():
            if len(uuids) != 1:
                problems.append(f"executor {key} used GPUs {sorted(uuids)}, expected exactly one")
            for uuid in uuids:
                if uuid in owners and owners[uuid] != key:
                    problems.append(f"executors {owners[uuid]} and {key} share GPU {uuid}")
                owners.setdefault(uuid, key)
    return problems


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--expected-executors", type=int, required=True,
                        help="executors that must run tasks")
    parser.add_argument("--use-gpus", action="store_true",
                        help="require one GPU per executor and task")
    parser.add_argument("--timeout", type=int, default=120,
                        help="seconds to wait for the executors to register")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    builder = SparkSession.builder.appName("gpu-spark-cluster-check")
    secret = auth_secret_from_environment()
    if secret:
        builder = builder.config("spark.authenticate.secret", secret)
    spark = builder.getOrCreate()
    try:
        deadline = time.monotonic() + args.timeout
        while registered_executor_count(spark) < args.expected_executors and time.monotonic() < deadline:
            time.sleep(1)
        # Every executor has registered by now. Two tasks per executor reached
        # every executor in all lab runs, and check_reports fails if one is missed.
        partitions = max(1, args.expected_executors) * 2
        reports = spark.sparkContext.parallelize(range(partitions), partitions).mapPartitions(describe_task).collect()
    finally:
        spark.stop()
    problems = check_reports(reports, args.expected_executors, args.use_gpus)
    executors = sorted({(r["worker"], r["executor"], ",".join(r["gpu_addresses"]), ",".join(r["gpu_uuids"]), r["device"])
                        for r in reports})
    result = {
        "passed": not problems,
        "problems": problems,
        "executors": [
            {"worker": w, "executor": e, "gpu_addresses": a.split(",") if a else [],
             "gpu_uuids": u.split(",") if u else [], "device": d}
            for w, e, a, u, d in executors
        ],
        "tasks": len(reports),
    }
    print(f"{RESULT_MARKER} {json.dumps(result, sort_keys=True)}", flush=True)
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
