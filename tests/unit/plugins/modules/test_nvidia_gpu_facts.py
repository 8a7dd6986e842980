"""Unit tests for the nvidia_gpu_facts module, run against stand-in nvidia-smi scripts.

Each stand-in is a small shell script that prints a recorded nvidia-smi
output sample and exits with the code the real tool uses for that case.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

COLLECTIONS = Path(__file__).resolve().parents[4] / "collections"
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))

from ansible.module_utils.testing import patch_module_args  # noqa: E402

from ansible_collections.gpu_spark.cluster.plugins.modules import nvidia_gpu_facts  # noqa: E402

FIXTURES = Path(__file__).resolve().parents[1] / "module_utils" / "fixtures" / "nvidia_gpu"


def write_stand_in(tmp_path: Path, query: str, listing: str, header: str, rc: int = 0) -> Path:
    """Write an nvidia-smi stand-in that handles --query-gpu, -L and a plain call."""
    script = tmp_path / "nvidia-smi"
    script.write_text(
        "#!/bin/sh\n"
        "case \"$1\" in\n"
        f"  --query-gpu=*) cat '{FIXTURES / query}' ;;\n"
        f"  -L) cat '{FIXTURES / listing}' ;;\n"
        f"  *) cat '{FIXTURES / header}' ;;\n"
        "esac\n"
        f"exit {rc}\n"
    )
    script.chmod(0o755)
    return script


def run_module(capsys, args: dict) -> dict:
    with patch_module_args(args), pytest.raises(SystemExit):
        nvidia_gpu_facts.main()
    return json.loads(capsys.readouterr().out)


@pytest.fixture(name="pci_root")
def fixture_pci_root(tmp_path):
    device = tmp_path / "pci" / "0000:07:00.0"
    device.mkdir(parents=True)
    (device / "vendor").write_text("0x10de\n")
    (device / "class").write_text("0x030200\n")
    return tmp_path / "pci"


def test_module_reports_working_gpus(tmp_path, capsys, pci_root):
    smi = write_stand_in(tmp_path, "query_four_a100.txt", "list_mig_r535.txt", "header_r535.txt")
    result = run_module(capsys, {"nvidia_smi_path": str(smi), "pci_devices_path": str(pci_root)})
    facts = result["ansible_facts"]["nvidia_gpu"]
    assert result["changed"] is False
    assert facts["present"] is True
    assert facts["pci_devices"] == ["0000:07:00.0"]
    assert facts["driver_version"] == "535.104.05"
    assert facts["cuda_version"] == "12.2"
    assert [gpu["index"] for gpu in facts["gpus"]] == [0, 1, 2, 3]
    assert len(facts["mig_devices"]) == 3


def test_module_reports_driver_failure(tmp_path, capsys, pci_root):
    smi = write_stand_in(tmp_path, "driver_not_loaded.txt", "driver_not_loaded.txt",
                         "driver_not_loaded.txt", rc=9)
    result = run_module(capsys, {"nvidia_smi_path": str(smi), "pci_devices_path": str(pci_root)})
    facts = result["ansible_facts"]["nvidia_gpu"]
    assert result.get("failed") is not True
    assert facts["present"] is True
    assert facts["driver_loaded"] is False
    assert "couldn't communicate" in facts["error"]


def test_module_missing_smi_path_fails(tmp_path, capsys, pci_root):
    result = run_module(capsys, {"nvidia_smi_path": str(tmp_path / "absent"),
                                 "pci_devices_path": str(pci_root)})
    assert result["failed"] is True
    assert "nvidia_smi_path" in result["msg"]


def test_module_unparsable_output_fails(tmp_path, capsys, pci_root):
    smi = write_stand_in(tmp_path, "header_r535.txt", "list_no_mig.txt", "header_r535.txt")
    result = run_module(capsys, {"nvidia_smi_path": str(smi), "pci_devices_path": str(pci_root)})
    assert result["failed"] is True
    assert "cannot parse" in result["msg"]
    assert result["rc"] == 0
