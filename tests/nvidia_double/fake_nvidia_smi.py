"""GPU test double: a fake nvidia-smi that reports made-up GPUs.

Installed at /opt/gpu-spark-test-double/bin/nvidia-smi, never on PATH, so
it cannot hide the real nvidia-smi that the NVIDIA runtime mounts into
containers. It needs only python3, so a container that bind-mounts this
file (and /etc/gpu-spark-test-double for the same GPU UUIDs as the host)
together with a python3 can run it too.

Configuration, all optional:
- /etc/gpu-spark-test-double/gpus: number of GPUs on the host (default 2).
- /etc/gpu-spark-test-double/hostname: host name used in the UUIDs
  (default: this machine's host name). The package writes it at install
  time so that containers report the host's UUIDs.
- NVIDIA_VISIBLE_DEVICES: `all`, `none`/`void`, or a comma list of host
  GPU indexes or UUIDs. When it is set, the visible GPUs are numbered from
  0, as the real tool does inside a container.
"""

from __future__ import annotations

import os
import socket
import sys

# The variable lets unit tests point the fake at a temporary folder.
CONFIG_DIR = os.environ.get("GPU_SPARK_TEST_DOUBLE_CONFIG_DIR", "/etc/gpu-spark-test-double")
DEFAULT_GPU_COUNT = 2
DRIVER_VERSION = "550.54.15"
CUDA_VERSION = "12.4"
GPU_NAME = "GPU Test Double"
MEMORY_MIB = 16384

# Exit codes of the real nvidia-smi.
EXIT_INVALID_ARGUMENT = 2
EXIT_NO_DEVICES = 6

FIELDS = {
    "index": ("index", lambda gpu, units: str(gpu["index"])),
    "count": ("count", lambda gpu, units: str(gpu["count"])),
    "uuid": ("uuid", lambda gpu, units: gpu["uuid"]),
    "gpu_uuid": ("uuid", lambda gpu, units: gpu["uuid"]),
    "name": ("name", lambda gpu, units: gpu["name"]),
    "gpu_name": ("name", lambda gpu, units: gpu["name"]),
    "memory.total": ("memory.total [MiB]", lambda gpu, units: f"{MEMORY_MIB} MiB" if units else str(MEMORY_MIB)),
    "memory.used": ("memory.used [MiB]", lambda gpu, units: "0 MiB" if units else "0"),
    "memory.free": ("memory.free [MiB]", lambda gpu, units: f"{MEMORY_MIB} MiB" if units else str(MEMORY_MIB)),
    "driver_version": ("driver_version", lambda gpu, units: DRIVER_VERSION),
    "pci.bus_id": ("pci.bus_id", lambda gpu, units: gpu["pci_bus_id"]),
    "gpu_bus_id": ("pci.bus_id", lambda gpu, units: gpu["pci_bus_id"]),
    "mig.mode.current": ("mig.mode.current", lambda gpu, units: "[N/A]"),
}


class UsageError(Exception):
    """Invalid command line or configuration; printed as nvidia-smi would."""


def read_config(name: str) -> str | None:
    try:
        with open(os.path.join(CONFIG_DIR, name), encoding="utf-8") as handle:
            return handle.read().strip() or None
    except OSError:
        return None


def host_gpus() -> list[dict]:
    count_text = read_config("gpus")
    try:
        count = int(count_text) if count_text is not None else DEFAULT_GPU_COUNT
    except ValueError as error:
        raise UsageError(f"{CONFIG_DIR}/gpus must contain a whole number, not {count_text!r}") from error
    host = read_config("hostname") or socket.gethostname()
    return [
        {
            "host_index": index,
            "uuid": f"GPU-test-double-{host}-{index}",
            "name": GPU_NAME,
            "pci_bus_id": f"00000000:{0x10 + index:02X}:00.0",
        }
        for index in range(count)
    ]


def visible_gpus(gpus: list[dict]) -> list[dict]:
    request = os.environ.get("NVIDIA_VISIBLE_DEVICES")
    if request is None:
        selected = gpus
    elif request.strip().lower() in ("", "none", "void"):
        selected = []
    elif request.strip().lower() == "all":
        selected = gpus
    else:
        requested = {item.strip() for item in request.split(",") if item.strip()}
        selected = [gpu for gpu in gpus if str(gpu["host_index"]) in requested or gpu["uuid"] in requested]
        known = {str(gpu["host_index"]) for gpu in gpus} | {gpu["uuid"] for gpu in gpus}
        unknown = sorted(requested - known)
        if unknown:
            raise UsageError(f"NVIDIA_VISIBLE_DEVICES names unknown GPUs: {', '.join(unknown)}")
    renumber = request is not None
    result = []
    for position, gpu in enumerate(selected):
        entry = dict(gpu, index=position if renumber else gpu["host_index"], count=len(selected))
        result.append(entry)
    return result


def parse_args(argv: list[str]) -> dict:
    options = {"query": None, "format": "", "list": False, "ids": None}
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg.startswith("--query-gpu="):
            options["query"] = arg.split("=", 1)[1]
        elif arg.startswith("--format="):
            options["format"] = arg.split("=", 1)[1]
        elif arg in ("-L", "--list-gpus"):
            options["list"] = True
        elif arg in ("-i", "--id"):
            if not args:
                raise UsageError(f"option {arg} requires a value")
            options["ids"] = args.pop(0)
        elif arg.startswith("--id="):
            options["ids"] = arg.split("=", 1)[1]
        else:
            raise UsageError(f"Invalid combination of input arguments: {arg}")
    return options


def select_ids(gpus: list[dict], ids: str | None) -> list[dict]:
    if ids is None:
        return gpus
    requested = [item.strip() for item in ids.split(",")]
    selected = [gpu for gpu in gpus if str(gpu["index"]) in requested or gpu["uuid"] in requested]
    if len(selected) != len(requested):
        raise UsageError(f"No GPU matches -i {ids}")
    return selected


def print_query(gpus: list[dict], query: str, fmt: str) -> None:
    flags = {flag.strip() for flag in fmt.split(",")}
    if "csv" not in flags:
        raise UsageError("this test double supports only --format=csv[,noheader][,nounits]")
    names = [name.strip() for name in query.split(",")]
    for name in names:
        if name not in FIELDS:
            raise UsageError(f'Field "{name}" is not a valid field to query.')
    units = "nounits" not in flags
    if "noheader" not in flags:
        print(", ".join(FIELDS[name][0] for name in names))
    for gpu in gpus:
        print(", ".join(FIELDS[name][1](gpu, units) for name in names))


def print_banner(gpus: list[dict]) -> None:
    line = "+" + "-" * 87 + "+"
    print("GPU test double: made-up GPUs, no GPU work is possible")
    print(line)
    print(f"| NVIDIA-SMI {DRIVER_VERSION:<22} Driver Version: {DRIVER_VERSION:<12} CUDA Version: {CUDA_VERSION:<8}|")
    print(line)
    for gpu in gpus:
        print(f"| {gpu['index']:>3}  {gpu['name']:<30} | {gpu['pci_bus_id']} | 0MiB / {MEMORY_MIB}MiB |")
    print(line)


def main(argv: list[str]) -> int:
    try:
        options = parse_args(argv)
        gpus = select_ids(visible_gpus(host_gpus()), options["ids"])
    except UsageError as error:
        print(error)
        return EXIT_INVALID_ARGUMENT
    if not gpus:
        print("No devices were found")
        return EXIT_NO_DEVICES
    try:
        if options["query"]:
            print_query(gpus, options["query"], options["format"])
        elif options["list"]:
            for gpu in gpus:
                print(f"GPU {gpu['index']}: {gpu['name']} (UUID: {gpu['uuid']})")
        else:
            print_banner(gpus)
    except UsageError as error:
        print(error)
        return EXIT_INVALID_ARGUMENT
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
