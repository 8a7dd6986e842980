"""Check that the merged daemon.json is in place and that dockerd applies it."""

from __future__ import annotations

import json

import pytest

DAEMON_JSON = "/etc/docker/daemon.json"


def docker_journal(host) -> str:
    return host.run("journalctl --unit docker.service --no-pager --lines 40").stdout


@pytest.fixture(name="docker_info")
def fixture_docker_info(host) -> dict:
    result = host.run("docker info --format '{{json .}}'")
    assert result.rc == 0, f"docker info failed: {result.stderr}\n{docker_journal(host)}"
    return json.loads(result.stdout)


def test_daemon_json_file_mode(host):
    daemon_json = host.file(DAEMON_JSON)
    assert daemon_json.user == "root"
    assert daemon_json.group == "root"
    assert daemon_json.mode == 0o644


def test_daemon_json_keeps_order(host):
    document = json.loads(host.file(DAEMON_JSON).content_string)
    assert list(document) == ["registry-mirrors", "data-root", "runtimes"]


def test_daemon_json_has_no_hosts(host):
    document = json.loads(host.file(DAEMON_JSON).content_string)
    assert "hosts" not in document


def test_docker_service_running(host):
    docker = host.service("docker")
    assert docker.is_running, docker_journal(host)
    assert docker.is_enabled


def test_runtime_is_registered(host, docker_info):
    runtime = docker_info["Runtimes"].get("test-double-runtime", {})
    assert runtime.get("path") == "/usr/bin/runc", docker_journal(host)


def test_registry_mirror_is_active(host, docker_info):
    mirrors = docker_info["RegistryConfig"]["Mirrors"]
    assert "http://127.0.0.1:5000/" in mirrors, docker_journal(host)


def test_data_root_applies(host, docker_info):
    assert docker_info["DockerRootDir"] == "/var/lib/docker/lab-data-root", docker_journal(host)


def test_backup_contains_previous_file(host):
    backups = host.run("ls /etc/docker").stdout.split()
    backup_names = [name for name in backups if name.startswith("daemon.json.") and name.endswith("~")]
    assert len(backup_names) == 1, backups
    previous = json.loads(host.file(f"/etc/docker/{backup_names[0]}").content_string)
    assert "runtimes" not in previous
