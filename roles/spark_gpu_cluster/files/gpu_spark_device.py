"""Pick the compute device for PySpark tasks on a GPU-scheduled cluster.

Import it in your own PySpark code (ship it with ``--py-files``)::

    from gpu_spark_device import select_device, task_gpu_addresses

    def run_partition(rows):
        device = select_device()           # "cuda", "mps" or "cpu"
        addresses = task_gpu_addresses()   # GPUs Spark gave this task
        ...

Spark hands each task GPU addresses as the container numbers them. Inside
a worker container that sees only its own GPUs, address "0" is the first
of those, which is also what ``cuda:0`` means to PyTorch there.
torch is optional: without it every task uses the CPU.
"""

from __future__ import annotations

import os
from typing import Any, Optional

__all__ = ["select_device", "task_gpu_addresses", "task_device", "auth_secret_from_environment"]

# Spark's standalone worker hands the RPC secret to its executors in this
# variable. The gpu_spark.cluster role sets it in the master and worker
# containers from the secret file.
AUTH_SECRET_ENVIRONMENT_VARIABLE = "_SPARK_AUTH_SECRET"


def _import_torch() -> Optional[Any]:
    try:
        import torch  # pylint: disable=import-outside-toplevel
    except ImportError:
        return None
    return torch


def select_device(torch_module: Optional[Any] = None) -> str:
    """Return "cuda" when PyTorch sees a CUDA GPU, else "mps" on Apple silicon, else "cpu".

    ``torch_module`` replaces the imported torch, for tests and for callers
    that already hold it.
    """
    torch = torch_module if torch_module is not None else _import_torch()
    if torch is None:
        return "cpu"
    if torch.cuda.is_available():
        return "cuda"
    backends = getattr(torch, "backends", None)
    mps = getattr(backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


def task_gpu_addresses(resource_name: str = "gpu") -> list[str]:
    """Return the addresses of the GPUs Spark assigned to the running task.

    Outside a Spark task, or in a task that requested no GPU, the list is
    empty.
    """
    from pyspark import TaskContext  # pylint: disable=import-outside-toplevel

    context = TaskContext.get()
    if context is None:
        return []
    resource = context.resources().get(resource_name)
    if resource is None:
        return []
    return list(resource.addresses)


def task_device(torch_module: Optional[Any] = None) -> str:
    """Return a PyTorch device string for the running task, such as "cuda:0".

    The CUDA ordinal is the first GPU address Spark assigned to the task; a
    task with no GPU address uses "cuda" as PyTorch's current device.
    """
    device = select_device(torch_module)
    if device != "cuda":
        return device
    addresses = task_gpu_addresses()
    return f"cuda:{addresses[0]}" if addresses else "cuda"


def auth_secret_from_environment() -> Optional[str]:
    """Return the cluster's RPC secret when the driver runs in a cluster container.

    A client-mode driver must set ``spark.authenticate.secret`` itself;
    reading it from the environment keeps it off the command line.
    """
    return os.environ.get(AUTH_SECRET_ENVIRONMENT_VARIABLE) or None
