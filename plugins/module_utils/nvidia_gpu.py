# -*- coding: utf-8 -*-
# Copyright: gpu_spark.cluster maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure parsing helpers behind the nvidia_gpu_facts module.

Nothing here runs a command: the module runs ``nvidia-smi`` and hands the
text over, so every output format can be unit-tested from recorded samples.
"""

from __future__ import annotations

import csv
import os
import re

NVIDIA_PCI_VENDOR = "0x10de"

# PCI base class 0x03 is "display controller" (VGA 0x0300, 3D 0x0302).
# NVIDIA's HDMI audio functions (0x0403) and NVSwitches (0x0680) share the
# vendor id but are not GPUs, so they are left out.
DISPLAY_CONTROLLER_CLASS_PREFIX = "0x03"

# The columns requested from `nvidia-smi --query-gpu`, in this order.
QUERY_GPU_FIELDS = ("index", "uuid", "name", "memory.total", "driver_version", "pci.bus_id")
QUERY_GPU_ARGS = [
    "--query-gpu=" + ",".join(QUERY_GPU_FIELDS),
    "--format=csv,noheader,nounits",
]

# Messages nvidia-smi prints when it cannot reach a working driver. The
# first one comes with exit code 9 when the kernel module is not loaded.
DRIVER_FAILURE_PATTERNS = (
    "couldn't communicate with the nvidia driver",
    "failed to initialize nvml",
    "driver/library version mismatch",
    "nvml library not found",
    "unable to determine the device handle",
)

NO_DEVICES_MESSAGE = "no devices were found"

_GPU_LINE = re.compile(
    r"^\s*GPU\s+(?P<index>\d+)\s*:\s*(?P<name>.*?)\s*\(UUID:\s*(?P<uuid>[^)\s]+)\s*\)\s*$"
)
# Two formats exist. Drivers from R470 on print
#   "  MIG 1g.5gb      Device  0: (UUID: MIG-c6d4f1ef-...)"
# and R450/R460 printed
#   "  MIG 3g.20gb Device 0: (UUID: MIG-GPU-e91edf3b-.../1/0)".
_MIG_LINE = re.compile(
    r"^\s*MIG\s+(?P<profile>\S+)\s+Device\s+(?P<index>\d+)\s*:\s*\(UUID:\s*(?P<uuid>[^)\s]+)\s*\)\s*$"
)
_DRIVER_VERSION = re.compile(r"Driver Version:\s*(?P<version>[0-9][0-9.]*)")
_CUDA_VERSION = re.compile(r"CUDA Version:\s*(?P<version>[0-9][0-9.]*)")


class NvidiaSmiOutputError(ValueError):
    """Raised when nvidia-smi output has a line in no known format."""


def _optional_int(value: str) -> int | None:
    """Convert a CSV cell to int. `[N/A]`, `N/A` and empty cells give None."""
    text = value.strip()
    if not text or text.strip("[]").upper() in ("N/A", "NOT SUPPORTED", "UNKNOWN ERROR"):
        return None
    # Without `nounits` the cell reads "40960 MiB".
    text = text.split()[0]
    return int(text)


def _optional_text(value: str) -> str | None:
    text = value.strip()
    if not text or text.strip("[]").upper() == "N/A":
        return None
    return text


def parse_query_gpu(text: str) -> list[dict]:
    """Parse `nvidia-smi --query-gpu=<QUERY_GPU_FIELDS> --format=csv,noheader,nounits`.

    Blank lines are skipped. Raise NvidiaSmiOutputError for a line that does
    not have one cell per requested field or whose index is not a number.
    """
    gpus = []
    rows = csv.reader(text.splitlines(), skipinitialspace=True)
    for line_number, row in enumerate(rows, start=1):
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != len(QUERY_GPU_FIELDS):
            raise NvidiaSmiOutputError(
                f"nvidia-smi --query-gpu line {line_number} has {len(row)} fields, "
                f"expected {len(QUERY_GPU_FIELDS)} ({', '.join(QUERY_GPU_FIELDS)}): {','.join(row)!r}"
            )
        index, uuid, name, memory, driver_version, pci_bus_id = (cell.strip() for cell in row)
        try:
            gpu_index = int(index)
            memory_total_mib = _optional_int(memory)
        except ValueError as error:
            raise NvidiaSmiOutputError(
                f"nvidia-smi --query-gpu line {line_number} is not numeric where expected: {error}"
            ) from error
        gpus.append({
            "index": gpu_index,
            "uuid": uuid,
            "name": name,
            "memory_total_mib": memory_total_mib,
            "driver_version": _optional_text(driver_version),
            "pci_bus_id": _optional_text(pci_bus_id),
        })
    return sorted(gpus, key=lambda gpu: gpu["index"])


def parse_list_gpus(text: str) -> tuple[list[dict], list[dict]]:
    """Parse `nvidia-smi -L` into (gpus, mig_devices).

    Each MIG device belongs to the GPU line above it. Lines in neither
    format (warnings, blank lines) are ignored because `-L` is only used for
    the MIG listing and for the GPU count when `--query-gpu` is missing.
    """
    gpus: list[dict] = []
    mig_devices: list[dict] = []
    for line in text.splitlines():
        gpu_match = _GPU_LINE.match(line)
        if gpu_match:
            gpus.append({
                "index": int(gpu_match.group("index")),
                "name": gpu_match.group("name"),
                "uuid": gpu_match.group("uuid"),
            })
            continue
        mig_match = _MIG_LINE.match(line)
        if mig_match and gpus:
            mig_devices.append({
                "gpu_index": gpus[-1]["index"],
                "gpu_uuid": gpus[-1]["uuid"],
                "index": int(mig_match.group("index")),
                "profile": mig_match.group("profile"),
                "uuid": mig_match.group("uuid"),
            })
    return gpus, mig_devices


def parse_smi_header(text: str) -> dict:
    """Read the driver and CUDA versions from the banner of a plain `nvidia-smi` run."""
    driver = _DRIVER_VERSION.search(text)
    cuda = _CUDA_VERSION.search(text)
    return {
        "driver_version": driver.group("version") if driver else None,
        "cuda_version": cuda.group("version") if cuda else None,
    }


def classify_smi_result(rc: int, stdout: str, stderr: str) -> str:
    """Classify one nvidia-smi run as `ok`, `no_devices` or `driver_error`.

    nvidia-smi prints its error messages on stdout, so both streams are read.
    "No devices were found" (exit code 6) means that NVML initialized but
    found no GPU, which is not a driver failure.
    """
    combined = f"{stdout}\n{stderr}".lower()
    if NO_DEVICES_MESSAGE in combined:
        return "no_devices"
    if rc != 0 or any(pattern in combined for pattern in DRIVER_FAILURE_PATTERNS):
        return "driver_error"
    return "ok"


def first_message_line(stdout: str, stderr: str) -> str:
    """Return the first non-blank line of nvidia-smi's output, for error reports."""
    for line in f"{stdout}\n{stderr}".splitlines():
        if line.strip():
            return line.strip()
    return ""


def scan_pci_devices(pci_devices_path: str) -> list[str]:
    """List the PCI addresses of NVIDIA display controllers under a sysfs folder.

    A folder that does not exist (containers without sysfs, other OSes)
    gives an empty list; unreadable entries are skipped.
    """
    if not os.path.isdir(pci_devices_path):
        return []
    addresses = []
    for address in sorted(os.listdir(pci_devices_path)):
        device = os.path.join(pci_devices_path, address)
        vendor = _read_sysfs_value(os.path.join(device, "vendor"))
        device_class = _read_sysfs_value(os.path.join(device, "class"))
        if vendor == NVIDIA_PCI_VENDOR and device_class.startswith(DISPLAY_CONTROLLER_CLASS_PREFIX):
            addresses.append(address)
    return addresses


def _read_sysfs_value(path: str) -> str:
    try:
        with open(path, encoding="ascii") as handle:
            return handle.read().strip().lower()
    except (OSError, UnicodeDecodeError):
        return ""


def build_facts(
    pci_devices: list[str],
    smi_path: str | None,
    query: tuple[int, str, str] | None,
    listing: tuple[int, str, str] | None,
    header: tuple[int, str, str] | None,
) -> dict:
    """Combine the PCI scan and the nvidia-smi results into the `nvidia_gpu` fact.

    Each of query, listing and header is the (rc, stdout, stderr) of one
    nvidia-smi run, or None when nvidia-smi was not found or not run.
    """
    facts = {
        "present": bool(pci_devices),
        "pci_devices": list(pci_devices),
        "nvidia_smi_path": smi_path,
        "driver_loaded": False,
        "driver_version": None,
        "cuda_version": None,
        "gpus": [],
        "mig_devices": [],
        "error": None,
    }
    if query is None:
        if pci_devices:
            facts["error"] = "nvidia-smi was not found, so the NVIDIA driver is not installed or not on PATH"
        return facts

    state = classify_smi_result(*query)
    if state == "driver_error":
        facts["error"] = first_message_line(query[1], query[2]) or f"nvidia-smi exited with code {query[0]}"
        return facts

    facts["driver_loaded"] = True
    if state == "no_devices":
        facts["error"] = "nvidia-smi reports: No devices were found"
        return facts

    gpus = parse_query_gpu(query[1])
    driver_versions = {gpu.pop("driver_version") for gpu in gpus} - {None}
    facts["gpus"] = gpus
    facts["present"] = bool(pci_devices or gpus)
    facts["driver_version"] = sorted(driver_versions)[0] if driver_versions else None

    if listing is not None and classify_smi_result(*listing) == "ok":
        facts["mig_devices"] = parse_list_gpus(listing[1])[1]
    if header is not None and classify_smi_result(*header) == "ok":
        versions = parse_smi_header(header[1])
        facts["cuda_version"] = versions["cuda_version"]
        facts["driver_version"] = facts["driver_version"] or versions["driver_version"]
    return facts
