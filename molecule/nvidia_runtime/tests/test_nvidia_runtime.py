"""Checks of the nvidia_runtime role on a converged Debian 12 host with the GPU test double.

The host runs a real Docker Engine under systemd. Its "GPUs" come from the
GPU test double: a fake nvidia-smi and stand-in toolkit programs that
record their calls in /var/log/gpu-spark-test-double/calls.jsonl, so these
tests prove the wiring and never GPU work.
"""

from __future__ import annotations

import json

import pytest

CALLS_LOG = "/var/log/gpu-spark-test-double/calls.jsonl"
FACTS_FILE = "/var/tmp/molecule-nvidia-runtime-facts.json"
STARTS_BEFORE_FILE = "/var/tmp/nvidia-runtime-docker-starts"
SMOKE_IMAGE = "gpu-spark-test-double-smoke:1"
FAKE_SMI = "/opt/gpu-spark-test-double/bin/nvidia-smi"
REPO_URL = "http://127.0.0.1:18080"
DOUBLE_MOUNTS = [
    "--volume=/usr:/usr:ro",
    "--volume=/opt/gpu-spark-test-double:/opt/gpu-spark-test-double:ro",
    "--volume=/etc/gpu-spark-test-double:/etc/gpu-spark-test-double:ro",
]
PACKAGES = [
    "nvidia-container-toolkit",
    "nvidia-container-toolkit-base",
    "libnvidia-container-tools",
    "libnvidia-container1",
]


def docker_log(host) -> str:
    return host.run("journalctl --unit=docker.service --no-pager --lines=30").stdout


def read_daemon_json(host) -> dict:
    return json.loads(host.file("/etc/docker/daemon.json").content_string)


def read_calls(host) -> list[dict]:
    text = host.file(CALLS_LOG).content_string
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def run_container(host, *args: str) -> str:
    """Run a throwaway container with the test double's files mounted; return its output."""
    command = ["docker", "run", "--rm", *DOUBLE_MOUNTS, *args]
    result = host.run(" ".join(command))
    assert result.rc == 0, f"{' '.join(command)} failed: {result.stdout}{result.stderr}\n{docker_log(host)}"
    return result.stdout


def calls_since(host, before: int) -> list[dict]:
    return read_calls(host)[before:]


def test_apt_source_uses_base_url(host):
    source = host.file("/etc/apt/sources.list.d/nvidia-container-toolkit.list")
    assert source.mode == 0o644
    assert (
        f"deb [signed-by=/etc/apt/keyrings/nvidia-container-toolkit.asc] {REPO_URL}/stable/deb/$(ARCH) /"
        in source.content_string
    )


def test_repository_key_installed(host):
    key = host.file("/etc/apt/keyrings/nvidia-container-toolkit.asc")
    assert key.user == "root"
    assert key.mode == 0o644
    assert "BEGIN PGP PUBLIC KEY BLOCK" in key.content_string


def test_apt_trusts_signed_repository(host):
    policy = host.run("apt-cache policy nvidia-container-toolkit")
    assert "gpusparktestdouble" in policy.stdout
    assert f"{REPO_URL}/stable/deb/amd64" in policy.stdout


@pytest.mark.parametrize("package", PACKAGES)
def test_toolkit_package_installed(host, package):
    assert host.package(package).is_installed


def test_retired_package_replaced(host):
    assert not host.package("nvidia-docker2").is_installed


def test_daemon_json_has_runtime(host):
    config = read_daemon_json(host)
    assert config["runtimes"]["nvidia"]["path"] == "/usr/bin/nvidia-container-runtime"
    assert "default-runtime" not in config


def test_daemon_json_keeps_mirror(host):
    assert read_daemon_json(host)["registry-mirrors"] == ["http://127.0.0.1:5000"]


def test_daemon_json_keeps_data_root(host):
    assert read_daemon_json(host)["data-root"] == "/var/lib/docker"


def test_docker_restarted_once(host):
    before = int(host.file(STARTS_BEFORE_FILE).content_string.strip() or 0)
    now = host.run("journalctl --unit=docker.service _PID=1 --output=cat --no-pager | grep -c '^Started'")
    assert int(now.stdout.strip()) - before == 1, docker_log(host)


def test_docker_lists_runtime(host):
    runtimes = json.loads(host.check_output("docker info --format '{{json .Runtimes}}'"))
    assert "nvidia" in runtimes
    assert runtimes["nvidia"]["path"] == "/usr/bin/nvidia-container-runtime"


def test_engine_keeps_mirror(host):
    mirrors = host.check_output("docker info --format '{{json .RegistryConfig.Mirrors}}'")
    assert "http://127.0.0.1:5000" in mirrors


def test_udev_rule_installed(host):
    rule = host.file("/etc/udev/rules.d/71-nvidia-dev-char.rules")
    assert rule.mode == 0o644
    assert "/usr/bin/nvidia-ctk system create-dev-char-symlinks --create-all" in rule.content_string


def test_dev_char_command_ran(host):
    calls = [call for call in read_calls(host) if call["program"] == "nvidia-ctk"]
    assert any("create-dev-char-symlinks" in call["argv"] for call in calls)


def test_facts_report_double_gpus(host):
    facts = json.loads(host.file(FACTS_FILE).content_string)
    hostname = host.file("/etc/gpu-spark-test-double/hostname").content_string.strip()
    assert facts["nvidia_runtime_enabled"] is True
    assert facts["nvidia_gpu"]["present"] is True
    assert facts["nvidia_gpu"]["driver_loaded"] is True
    assert facts["nvidia_gpu"]["driver_version"] == "550.54.15"
    assert facts["nvidia_gpu"]["cuda_version"] == "12.4"
    assert [gpu["uuid"] for gpu in facts["nvidia_gpu"]["gpus"]] == [
        f"GPU-test-double-{hostname}-0",
        f"GPU-test-double-{hostname}-1",
    ]
    assert facts["nvidia_gpu"]["gpus"][0]["memory_total_mib"] == 16384


def test_role_reports_smoke_gpus(host):
    facts = json.loads(host.file(FACTS_FILE).content_string)
    assert len(facts["nvidia_runtime_smoke_gpus"]) == 2
    assert facts["nvidia_runtime_smoke_gpus"][0].startswith("GPU 0: GPU Test Double")


def test_runtime_flag_reaches_stand_ins(host):
    before = len(read_calls(host))
    output = run_container(
        host, "--runtime=nvidia", "--env=NVIDIA_VISIBLE_DEVICES=all", SMOKE_IMAGE, FAKE_SMI, "-L",
    )
    calls = calls_since(host, before)
    creates = [c for c in calls if c["program"] == "nvidia-container-runtime" and "create" in c["argv"]]
    hooks = [c for c in calls if c["program"] == "nvidia-container-runtime-hook"]
    assert len(creates) == 1, calls
    assert creates[0]["container_env"]["NVIDIA_VISIBLE_DEVICES"] == "all"
    assert creates[0]["hook_added"] is True
    assert len(hooks) == 1, calls
    assert hooks[0]["container_env"]["NVIDIA_VISIBLE_DEVICES"] == "all"
    assert output.count("GPU Test Double") == 2


def test_gpus_flag_reaches_hook(host):
    before = len(read_calls(host))
    output = run_container(host, "--gpus=all", SMOKE_IMAGE, FAKE_SMI, "-L")
    calls = calls_since(host, before)
    hooks = [c for c in calls if c["program"] == "nvidia-container-runtime-hook"]
    assert len(hooks) == 1, calls
    assert hooks[0]["argv"][1:] == ["prestart"]
    assert hooks[0]["container_env"]["NVIDIA_VISIBLE_DEVICES"] == "all"
    assert output.count("GPU Test Double") == 2


def test_gpus_device_selects_one_gpu(host):
    hostname = host.file("/etc/gpu-spark-test-double/hostname").content_string.strip()
    before = len(read_calls(host))
    output = run_container(host, "--gpus=device=1", SMOKE_IMAGE, FAKE_SMI, "-L")
    hooks = [c for c in calls_since(host, before) if c["program"] == "nvidia-container-runtime-hook"]
    assert hooks[0]["container_env"]["NVIDIA_VISIBLE_DEVICES"] == "1"
    assert output.strip() == f"GPU 0: GPU Test Double (UUID: GPU-test-double-{hostname}-1)"


def test_plain_container_skips_hook(host):
    before = len(read_calls(host))
    run_container(host, SMOKE_IMAGE, "/usr/bin/true")
    programs = [c["program"] for c in calls_since(host, before)]
    assert "nvidia-container-runtime-hook" not in programs
