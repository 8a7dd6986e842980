"""Checks of the docker and docker_compose roles on the converged test hosts.

Each host runs a real Docker Engine under systemd. The image
gpu-spark-docker-verify:1 was loaded by the docker role from the archive
that the scenario's prepare step built, because no registry is reachable.
"""

from __future__ import annotations

import json

import pytest

MIRROR = "http://127.0.0.1:5000"
VERIFY_IMAGE = "gpu-spark-docker-verify:1"
FACTS_FILE = "/var/tmp/molecule-docker-facts.json"
COMPOSE_PROJECT_DIR = "/var/tmp/molecule-compose-check"

# Release-specific expectations, by Debian major version.
EXPECTED = {
    "12": {
        "packages": ["docker.io", "docker-compose"],
        "server_major": "20.10",
        "compose_command": ["docker-compose"],
        "compose_prefix": "1.29.",
        "compose_v2": False,
    },
    "13": {
        "packages": ["docker.io", "docker-cli", "docker-compose"],
        "server_major": "26.1",
        "compose_command": ["docker", "compose"],
        "compose_prefix": "2.26.",
        "compose_v2": True,
    },
}

COMPOSE_FILE = f"""\
services:
  hello:
    image: {VERIFY_IMAGE}
    command: ["echo", "compose-ok"]
    network_mode: none
"""


def debian_major(host) -> str:
    return host.file("/etc/debian_version").content_string.strip().split(".")[0]


def docker_log(host) -> str:
    """Return the last lines of Docker's journal for failure messages."""
    return host.run("journalctl --unit=docker.service --no-pager --lines=30").stdout


def read_facts(host) -> dict:
    return json.loads(host.file(FACTS_FILE).content_string)


def read_daemon_json(host) -> dict:
    return json.loads(host.file("/etc/docker/daemon.json").content_string)


@pytest.fixture()
def expected(host):
    return EXPECTED[debian_major(host)]


def test_packages_installed(host, expected):
    for name in expected["packages"]:
        assert host.package(name).is_installed, f"{name} is not installed"


@pytest.mark.parametrize("unit", ["docker.service", "docker.socket"])
def test_units_enabled_and_running(host, unit):
    service = host.service(unit)
    assert service.is_enabled, f"{unit} is not enabled\n{docker_log(host)}"
    assert service.is_running, f"{unit} is not running\n{docker_log(host)}"


def test_docker_socket_listening(host):
    socket = host.socket("unix:///run/docker.sock")
    assert socket.is_listening, docker_log(host)


def test_daemon_json_file_mode(host):
    daemon_json = host.file("/etc/docker/daemon.json")
    assert daemon_json.user == "root"
    assert daemon_json.group == "root"
    assert daemon_json.mode == 0o644


def test_daemon_json_keeps_mirror(host):
    assert read_daemon_json(host)["registry-mirrors"] == [MIRROR]


def test_daemon_json_merges_settings(host):
    document = read_daemon_json(host)
    assert document["log-driver"] == "json-file"
    assert document["log-opts"] == {"max-size": "10m", "max-file": "3"}


def test_daemon_json_no_broken_runtime(host):
    assert "default-runtime" not in read_daemon_json(host)


def test_engine_uses_mirror(host):
    mirrors = host.check_output("docker info --format '{{json .RegistryConfig.Mirrors}}'")
    assert MIRROR in mirrors, docker_log(host)


def test_engine_uses_log_opts(host):
    container = host.check_output(f"docker create {VERIFY_IMAGE} true")
    try:
        config = json.loads(host.check_output(
            f"docker inspect --format '{{{{json .HostConfig.LogConfig}}}}' {container}"))
    finally:
        host.run(f"docker rm {container}")
    assert config["Type"] == "json-file"
    assert config["Config"] == {"max-size": "10m", "max-file": "3"}


def test_proxy_dropin_applied(host):
    environment = host.check_output("systemctl show --property=Environment docker.service")
    assert "HTTP_PROXY=http://127.0.0.1:3128" in environment
    assert "NO_PROXY=localhost,127.0.0.1" in environment


def test_engine_reports_proxy(host):
    proxy = host.check_output("docker info --format '{{.HTTPProxy}}'")
    assert proxy == "http://127.0.0.1:3128", docker_log(host)


def test_user_in_docker_group(host):
    assert "docker" in host.user("gpu-spark-tester").groups


def test_server_version_fact(host, expected):
    facts = read_facts(host)
    assert facts["docker_server_version"] == host.check_output("docker version --format '{{.Server.Version}}'")
    assert facts["docker_server_version"].startswith(expected["server_major"])


def test_service_manager_fact(host):
    assert read_facts(host)["docker_service_manager"] == "systemd"


def test_compose_facts(host, expected):
    facts = read_facts(host)
    assert facts["docker_compose_command"] == expected["compose_command"]
    assert facts["docker_compose_version"].startswith(expected["compose_prefix"])
    assert facts["docker_compose_v2"] is expected["compose_v2"]


def test_verify_container_runs(host):
    result = host.run(f"docker run --rm --network none {VERIFY_IMAGE} echo docker-verify-ok")
    assert result.rc == 0, result.stderr + docker_log(host)
    assert result.stdout.strip() == "docker-verify-ok"


def test_compose_project_runs(host):
    command = " ".join(read_facts(host)["docker_compose_command"])
    host.run_expect([0], "mkdir -p %s", COMPOSE_PROJECT_DIR)
    host.run_expect([0], "printf '%%s' %s > %s/docker-compose.yml", COMPOSE_FILE, COMPOSE_PROJECT_DIR)
    try:
        result = host.run(f"cd {COMPOSE_PROJECT_DIR} && {command} -p moleculecheck run --rm hello")
    finally:
        host.run(f"cd {COMPOSE_PROJECT_DIR} && {command} -p moleculecheck down")
    assert result.rc == 0, result.stderr + docker_log(host)
    assert "compose-ok" in result.stdout
