"""Checks of the three-host Spark cluster that playbooks/site.yml deployed.

The master runs on one lab host and one worker on each of two worker hosts.
All Spark containers use host networking and advertise the lab host's
address.
"""

import json
import os
import time

import pytest
import testinfra
import testinfra.utils.ansible_runner

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
RUNNER = testinfra.utils.ansible_runner.AnsibleRunner(INVENTORY)
MASTER_HOST = RUNNER.get_hosts("spark_master")[0]
WORKER_HOSTS = RUNNER.get_hosts("spark_workers")
testinfra_hosts = [MASTER_HOST, *WORKER_HOSTS]

MASTER = "gpu-spark-master"
WORKER = "gpu-spark-worker-1"
BIN_DIR = "/opt/gpu-spark/bin"
JOBS_DIR = "/opt/gpu-spark/jobs"
SPARK_HOME = "/opt/spark-python/pyspark"
RESULT_MARKER = "GPU_SPARK_CLUSTER_CHECK "


def connect(name):
    return testinfra.get_host(f"ansible://{name}?ansible_inventory={INVENTORY}")


def address_of(name):
    return connect(name).ansible("setup", "gather_subset=network")["ansible_facts"]["ansible_default_ipv4"]["address"]


def master_document():
    master = connect(MASTER_HOST)
    output = master.check_output(
        "docker exec %s bash %s/spark-master-state.sh json %s 8080", MASTER, BIN_DIR, address_of(MASTER_HOST)
    )
    return json.loads(output)


def alive_workers():
    return [worker for worker in master_document()["workers"] if worker["state"] == "ALIVE"]


def container_state(host, name):
    return json.loads(host.check_output("docker inspect --format '{{json .State}}' %s", name))


def test_spark_containers_running(host):
    name = MASTER if host.backend.get_hostname() == MASTER_HOST else WORKER
    assert container_state(host, name)["Running"]


def test_containers_use_host_network(host):
    name = MASTER if host.backend.get_hostname() == MASTER_HOST else WORKER
    mode = host.check_output("docker inspect --format '{{.HostConfig.NetworkMode}}' %s", name)
    assert mode == "host"


def test_secret_file_mode(host):
    secret = host.file("/etc/gpu-spark/spark-auth.env")
    assert secret.user == "root"
    assert secret.mode == 0o600


def test_hosts_share_one_secret(host):
    reference = connect(MASTER_HOST).file("/etc/gpu-spark/spark-auth.env").content_string
    assert host.file("/etc/gpu-spark/spark-auth.env").content_string == reference


def test_master_ui_not_on_all_interfaces(host):
    if host.backend.get_hostname() != MASTER_HOST:
        pytest.skip("the master UI runs on the master host only")
    listeners = host.check_output("ss -ltnH 'sport = :8080'").splitlines()
    addresses = {line.split()[3].rsplit(":", 1)[0] for line in listeners}
    assert addresses == {address_of(MASTER_HOST)}


def test_workers_register_with_host_addresses():
    expected = sorted(address_of(name) for name in WORKER_HOSTS)
    assert sorted(worker["host"] for worker in alive_workers()) == expected


def test_workers_offer_both_gpus():
    for worker in alive_workers():
        assert worker["resources"]["gpu"]["addresses"] == ["0", "1"]


def test_check_job_runs_across_hosts():
    master = connect(MASTER_HOST)
    master_address = address_of(MASTER_HOST)
    result = master.run(
        "docker exec %s %s/bin/spark-submit --master spark://%s:7077"
        " --conf spark.driver.host=%s --conf spark.driver.bindAddress=%s"
        " --conf spark.executor.cores=1 --conf spark.executor.memory=512m --conf spark.driver.memory=512m"
        " --conf spark.executor.resource.gpu.amount=1 --conf spark.task.resource.gpu.amount=1"
        " --py-files %s/gpu_spark_device.py %s/gpu_check_job.py --expected-executors 2 --use-gpus",
        MASTER, SPARK_HOME, master_address, master_address, master_address, JOBS_DIR, JOBS_DIR,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith(RESULT_MARKER)]
    assert lines, result.stderr[-3000:]
    report = json.loads(lines[-1][len(RESULT_MARKER):])
    assert report["passed"], report["problems"]
    hosts = {executor["worker"].split("/")[0] for executor in report["executors"]}
    assert hosts == set(WORKER_HOSTS)


def test_killed_worker_rejoins():
    worker_host = connect(WORKER_HOSTS[0])
    worker_address = address_of(WORKER_HOSTS[0])
    before = container_state(worker_host, WORKER)
    old_ids = {worker["id"] for worker in alive_workers() if worker["host"] == worker_address}
    worker_host.check_output("kill -9 %s", str(before["Pid"]))

    deadline = time.monotonic() + 180
    rejoined = []
    while time.monotonic() < deadline and not rejoined:
        time.sleep(3)
        rejoined = [
            worker for worker in alive_workers()
            if worker["host"] == worker_address and worker["id"] not in old_ids
        ]
    assert container_state(worker_host, WORKER)["Pid"] != before["Pid"]
    assert rejoined, worker_host.run("docker logs --tail 40 %s", WORKER).stderr
