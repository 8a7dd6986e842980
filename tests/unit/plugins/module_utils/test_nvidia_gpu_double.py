"""Tests that the GPU test double's fake nvidia-smi prints what the real parsers accept.

The fake runs as a subprocess with its configuration in a temporary folder,
so these tests check the same output that the lab hosts see.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest

COLLECTIONS = Path(__file__).resolve().parents[4] / "collections"
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))

from ansible_collections.gpu_spark.cluster.plugins.module_utils.nvidia_gpu import (  # noqa: E402
    QUERY_GPU_ARGS,
    build_facts,
    classify_smi_result,
    parse_list_gpus,
    parse_query_gpu,
)

FAKE_SMI = Path(__file__).resolve().parents[3] / "nvidia_double" / "fake_nvidia_smi.py"


class SmiResult(NamedTuple):
    """One run of the fake, in the (rc, stdout, stderr) order build_facts takes."""

    rc: int
    stdout: str
    stderr: str


@pytest.fixture(name="run_fake")
def fixture_run_fake(tmp_path):
    (tmp_path / "gpus").write_text("3\n")
    (tmp_path / "hostname").write_text("gpu-host\n")

    def run(args: list[str], visible: str | None = None) -> SmiResult:
        env = {key: value for key, value in os.environ.items() if key != "NVIDIA_VISIBLE_DEVICES"}
        env["GPU_SPARK_TEST_DOUBLE_CONFIG_DIR"] = str(tmp_path)
        if visible is not None:
            env["NVIDIA_VISIBLE_DEVICES"] = visible
        result = subprocess.run([sys.executable, str(FAKE_SMI), *args],
                                capture_output=True, text=True, env=env, check=False)
        return SmiResult(result.returncode, result.stdout, result.stderr)

    return run


def test_fake_query_parses(run_fake):
    result = run_fake(QUERY_GPU_ARGS)
    gpus = parse_query_gpu(result.stdout)
    assert result.rc == 0
    assert [gpu["index"] for gpu in gpus] == [0, 1, 2]
    assert gpus[2]["uuid"] == "GPU-test-double-gpu-host-2"
    assert gpus[0]["memory_total_mib"] == 16384


@pytest.mark.parametrize(
    ("visible", "uuids"),
    [
        ("all", ["GPU-test-double-gpu-host-0", "GPU-test-double-gpu-host-1", "GPU-test-double-gpu-host-2"]),
        ("1", ["GPU-test-double-gpu-host-1"]),
        ("2,0", ["GPU-test-double-gpu-host-0", "GPU-test-double-gpu-host-2"]),
        ("GPU-test-double-gpu-host-2", ["GPU-test-double-gpu-host-2"]),
    ],
)
def test_fake_honours_visible_devices(run_fake, visible, uuids):
    gpus = parse_query_gpu(run_fake(QUERY_GPU_ARGS, visible=visible).stdout)
    assert [gpu["uuid"] for gpu in gpus] == uuids
    assert [gpu["index"] for gpu in gpus] == list(range(len(uuids)))


@pytest.mark.parametrize("visible", ["none", "void", ""])
def test_fake_no_visible_devices(run_fake, visible):
    result = run_fake(["-L"], visible=visible)
    assert result.rc == 6
    assert classify_smi_result(*result) == "no_devices"


def test_fake_unknown_device_fails(run_fake):
    result = run_fake(["-L"], visible="7")
    assert result.rc == 2
    assert "unknown GPUs: 7" in result.stdout


def test_fake_list_and_select(run_fake):
    gpus, mig_devices = parse_list_gpus(run_fake(["-L", "-i", "1"]).stdout)
    assert [gpu["uuid"] for gpu in gpus] == ["GPU-test-double-gpu-host-1"]
    assert mig_devices == []


def test_fake_with_header_row(run_fake):
    stdout = run_fake(["--query-gpu=index,memory.total", "--format=csv"]).stdout
    assert stdout.splitlines() == ["index, memory.total [MiB]", "0, 16384 MiB", "1, 16384 MiB", "2, 16384 MiB"]


def test_fake_invalid_field_fails(run_fake):
    result = run_fake(["--query-gpu=index,clocks.magic", "--format=csv"])
    assert result.rc == 2
    assert 'Field "clocks.magic" is not a valid field to query.' in result.stdout


def test_fake_feeds_facts_builder(run_fake):
    facts = build_facts([], "/opt/gpu-spark-test-double/bin/nvidia-smi",
                        run_fake(QUERY_GPU_ARGS), run_fake(["-L"]), run_fake([]))
    assert facts["present"] is True
    assert facts["driver_loaded"] is True
    assert facts["driver_version"] == "550.54.15"
    assert facts["cuda_version"] == "12.4"
    assert len(facts["gpus"]) == 3
