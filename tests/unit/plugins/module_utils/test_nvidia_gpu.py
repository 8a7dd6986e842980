"""Unit tests for the nvidia-smi parsers behind nvidia_gpu_facts.

The fixtures are nvidia-smi output in the formats drivers R460 to R580
print; UUIDs in them are made up.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

COLLECTIONS = Path(__file__).resolve().parents[4] / "collections"
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))

from ansible_collections.gpu_spark.cluster.plugins.module_utils.nvidia_gpu import (  # noqa: E402
    NvidiaSmiOutputError,
    build_facts,
    classify_smi_result,
    parse_list_gpus,
    parse_query_gpu,
    parse_smi_header,
    scan_pci_devices,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "nvidia_gpu"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("name", "count", "first_uuid", "memory", "driver"),
    [
        ("query_four_a100.txt", 4, "GPU-5d5ba0d6-d33d-2b2c-524d-9e3d8d2b8a77", 40960, "535.104.05"),
        ("query_one_rtx.txt", 1, "GPU-2b7c9e41-0f3a-6d58-c1e2-7a9b3d4f5e60", 24576, "550.54.14"),
        ("query_odd_whitespace.txt", 1, "GPU-9e1d2c3b-4a5f-6e7d-8c9b-0a1f2e3d4c5b", 15360, "470.57.02"),
        ("query_memory_na.txt", 1, "GPU-7f6e5d4c-3b2a-1908-f7e6-d5c4b3a29180", None, "580.95.05"),
    ],
)
def test_query_gpu_parses_fixture(name, count, first_uuid, memory, driver):
    gpus = parse_query_gpu(fixture(name))
    assert len(gpus) == count
    assert gpus[0]["index"] == 0
    assert gpus[0]["uuid"] == first_uuid
    assert gpus[0]["memory_total_mib"] == memory
    assert gpus[0]["driver_version"] == driver


def test_query_gpu_keeps_index_order():
    gpus = parse_query_gpu(fixture("query_four_a100.txt"))
    assert [gpu["index"] for gpu in gpus] == [0, 1, 2, 3]
    assert gpus[3]["pci_bus_id"] == "00000000:4E:00.0"


def test_query_gpu_strips_odd_whitespace():
    gpu = parse_query_gpu(fixture("query_odd_whitespace.txt"))[0]
    assert gpu["name"] == "Tesla T4"
    assert gpu["pci_bus_id"] == "00000000:00:1E.0"


def test_query_gpu_accepts_crlf_lines():
    text = fixture("query_one_rtx.txt").replace("\n", "\r\n")
    assert parse_query_gpu(text)[0]["pci_bus_id"] == "00000000:01:00.0"


def test_query_gpu_empty_output():
    assert parse_query_gpu("") == []


@pytest.mark.parametrize(
    "text",
    [
        "0, GPU-x, Tesla T4, 15360\n",
        "zero, GPU-x, Tesla T4, 15360, 470.57.02, 00000000:00:1E.0\n",
        "0, GPU-x, Tesla T4, lots, 470.57.02, 00000000:00:1E.0\n",
    ],
)
def test_query_gpu_rejects_malformed_line(text):
    with pytest.raises(NvidiaSmiOutputError):
        parse_query_gpu(text)


@pytest.mark.parametrize(
    ("name", "gpu_count", "mig_count"),
    [
        ("list_no_mig.txt", 2, 0),
        ("list_mig_r535.txt", 2, 3),
        ("list_mig_r460.txt", 1, 2),
        ("no_devices.txt", 0, 0),
    ],
)
def test_list_gpus_counts_devices(name, gpu_count, mig_count):
    gpus, mig_devices = parse_list_gpus(fixture(name))
    assert len(gpus) == gpu_count
    assert len(mig_devices) == mig_count


def test_list_gpus_mig_r535_fields():
    mig = parse_list_gpus(fixture("list_mig_r535.txt"))[1][2]
    assert mig["gpu_index"] == 0
    assert mig["gpu_uuid"] == "GPU-5d5ba0d6-d33d-2b2c-524d-9e3d8d2b8a77"
    assert mig["index"] == 2
    assert mig["profile"] == "1g.5gb"
    assert mig["uuid"] == "MIG-c6d4f1ef-42e4-5de3-91c7-45d71c87eb3f"


def test_list_gpus_mig_r460_uuid():
    mig = parse_list_gpus(fixture("list_mig_r460.txt"))[1][1]
    assert mig["uuid"] == "MIG-GPU-e91edf3b-b297-37c1-a2a7-7601c3238fa2/2/0"
    assert mig["profile"] == "3g.20gb"


def test_list_gpus_reads_names():
    gpus = parse_list_gpus(fixture("list_no_mig.txt"))[0]
    assert gpus[1]["name"] == "NVIDIA A100-SXM4-40GB"
    assert gpus[1]["uuid"] == "GPU-8a2f2f3e-1b6c-9d1e-7f0c-41e5b6c2a913"


@pytest.mark.parametrize(
    ("name", "driver", "cuda"),
    [
        ("header_r535.txt", "535.104.05", "12.2"),
        ("header_r470.txt", "470.57.02", "11.4"),
        ("no_devices.txt", None, None),
    ],
)
def test_smi_header_reads_versions(name, driver, cuda):
    versions = parse_smi_header(fixture(name))
    assert versions["driver_version"] == driver
    assert versions["cuda_version"] == cuda


@pytest.mark.parametrize(
    ("rc", "name", "expected"),
    [
        (0, "query_one_rtx.txt", "ok"),
        (6, "no_devices.txt", "no_devices"),
        (9, "driver_not_loaded.txt", "driver_error"),
        (18, "driver_version_mismatch.txt", "driver_error"),
        (255, "nvml_unknown_error.txt", "driver_error"),
        (0, "nvml_unknown_error.txt", "driver_error"),
    ],
)
def test_classify_smi_result_cases(rc, name, expected):
    assert classify_smi_result(rc, fixture(name), "") == expected


def test_classify_reads_stderr_too():
    assert classify_smi_result(6, "", fixture("no_devices.txt")) == "no_devices"


def write_pci_device(root: Path, address: str, vendor: str, device_class: str) -> None:
    device = root / address
    device.mkdir(parents=True)
    (device / "vendor").write_text(vendor + "\n")
    (device / "class").write_text(device_class + "\n")


def test_pci_scan_finds_nvidia_gpus(tmp_path):
    write_pci_device(tmp_path, "0000:07:00.0", "0x10de", "0x030200")
    write_pci_device(tmp_path, "0000:01:00.0", "0x10de", "0x030000")
    write_pci_device(tmp_path, "0000:01:00.1", "0x10de", "0x040300")
    write_pci_device(tmp_path, "0000:00:02.0", "0x8086", "0x030000")
    assert scan_pci_devices(str(tmp_path)) == ["0000:01:00.0", "0000:07:00.0"]


def test_pci_scan_missing_folder(tmp_path):
    assert scan_pci_devices(str(tmp_path / "absent")) == []


def test_pci_scan_skips_unreadable_entry(tmp_path):
    (tmp_path / "0000:03:00.0").mkdir()
    assert scan_pci_devices(str(tmp_path)) == []


SMI = "/usr/bin/nvidia-smi"
PCI = ["0000:07:00.0"]


def test_facts_working_driver():
    facts = build_facts(
        PCI, SMI,
        (0, fixture("query_four_a100.txt"), ""),
        (0, fixture("list_mig_r535.txt"), ""),
        (0, fixture("header_r535.txt"), ""),
    )
    assert facts["present"] is True
    assert facts["driver_loaded"] is True
    assert facts["driver_version"] == "535.104.05"
    assert facts["cuda_version"] == "12.2"
    assert len(facts["gpus"]) == 4
    assert "driver_version" not in facts["gpus"][0]
    assert len(facts["mig_devices"]) == 3
    assert facts["error"] is None


def test_facts_gpu_without_driver():
    facts = build_facts(PCI, None, None, None, None)
    assert facts["present"] is True
    assert facts["driver_loaded"] is False
    assert facts["gpus"] == []
    assert "not found" in facts["error"]


def test_facts_driver_not_communicating():
    failed = (9, fixture("driver_not_loaded.txt"), "")
    facts = build_facts(PCI, SMI, failed, failed, failed)
    assert facts["present"] is True
    assert facts["driver_loaded"] is False
    assert facts["driver_version"] is None
    assert facts["error"].startswith("NVIDIA-SMI has failed")


def test_facts_no_devices_found():
    empty = (6, fixture("no_devices.txt"), "")
    facts = build_facts([], SMI, empty, empty, empty)
    assert facts["present"] is False
    assert facts["driver_loaded"] is True
    assert facts["gpus"] == []
    assert "No devices were found" in facts["error"]


def test_facts_no_gpu_no_driver():
    facts = build_facts([], None, None, None, None)
    assert facts["present"] is False
    assert facts["driver_loaded"] is False
    assert facts["error"] is None


def test_facts_gpus_without_pci_entries():
    facts = build_facts([], SMI, (0, fixture("query_one_rtx.txt"), ""), None, None)
    assert facts["present"] is True
    assert facts["gpus"][0]["name"] == "NVIDIA GeForce RTX 3090"
    assert facts["cuda_version"] is None


def test_facts_failed_listing_keeps_gpus():
    facts = build_facts(
        PCI, SMI,
        (0, fixture("query_one_rtx.txt"), ""),
        (255, fixture("nvml_unknown_error.txt"), ""),
        (0, fixture("header_r470.txt"), ""),
    )
    assert len(facts["gpus"]) == 1
    assert facts["mig_devices"] == []
    assert facts["driver_version"] == "550.54.14"
