"""Checks of the single-host Spark cluster that playbooks/site.yml deployed.

One lab host runs the master and two workers in one Compose project; the
GPU test double reports two GPUs, one per worker.
"""

import hashlib
import json
import os
import time

import pytest
import testinfra.utils.ansible_runner

testinfra_hosts = testinfra.utils.ansible_runner.AnsibleRunner(
    os.environ["MOLECULE_INVENTORY_FILE"]
).get_hosts("spark_master")

MASTER = "gpu-spark-master"
WORKERS = ["gpu-spark-worker-1", "gpu-spark-worker-2"]
BIN_DIR = "/opt/gpu-spark/bin"
JOBS_DIR = "/opt/gpu-spark/jobs"
SPARK_HOME = "/opt/spark-python/pyspark"
FAKE_NVIDIA_SMI = "/opt/gpu-spark-test-double/bin/nvidia-smi"
RESULT_MARKER = "GPU_SPARK_CLUSTER_CHECK "
# Docker's GPU device request sets NVIDIA_VISIBLE_DEVICES for the
# container's first process only; `docker exec` has to copy it from there.
WITH_GPU_ENVIRONMENT = "export $(tr '\\0' '\\n' < /proc/1/environ | grep '^NVIDIA_VISIBLE_DEVICES='); "


def container_state(host, name):
    output = host.check_output("docker inspect --format '{{json .State}}' %s", name)
    return json.loads(output)


def master_document(host):
    output = host.check_output(
        "docker exec %s bash %s/spark-master-state.sh json spark-master 8080", MASTER, BIN_DIR
    )
    return json.loads(output)


def alive_workers(host):
    return [worker for worker in master_document(host)["workers"] if worker["state"] == "ALIVE"]


def run_in_worker(host, container, script):
    return host.check_output("docker exec %s bash -c %s", container, WITH_GPU_ENVIRONMENT + script)


def worker_logs(host, container):
    return host.run("docker logs --tail 40 %s", container).stderr


@pytest.mark.parametrize("container", [MASTER, *WORKERS])
def test_container_is_running(host, container):
    state = container_state(host, container)
    assert state["Running"], worker_logs(host, container)


def test_master_is_healthy(host):
    assert container_state(host, MASTER)["Health"]["Status"] == "healthy"


@pytest.mark.parametrize("port", [7077, 8080])
def test_master_port_on_loopback_only(host, port):
    listeners = host.check_output("ss -ltnH 'sport = :%s'", str(port)).splitlines()
    addresses = {line.split()[3].rsplit(":", 1)[0] for line in listeners}
    assert addresses == {"127.0.0.1"}


@pytest.mark.parametrize("port", [7078, 7079, 8081, 8082])
def test_worker_port_not_published(host, port):
    assert host.check_output("ss -ltnH 'sport = :%s'", str(port)) == ""


def test_secret_file_mode(host):
    secret = host.file("/etc/gpu-spark/spark-auth.env")
    assert secret.user == "root"
    assert secret.mode == 0o600


def test_secret_not_in_readable_files(host):
    secret = host.file("/etc/gpu-spark/spark-auth.env").content_string.strip().split("=", 1)[1]
    assert len(secret) >= 32
    assert secret not in host.file("/opt/gpu-spark/compose.yml").content_string
    assert secret not in host.file("/etc/gpu-spark/spark/spark-defaults.conf").content_string


@pytest.mark.parametrize("container", WORKERS)
def test_discovery_reports_one_gpu(host, container):
    output = run_in_worker(host, container, f"bash {BIN_DIR}/gpu-discovery.sh")
    assert json.loads(output) == {"name": "gpu", "addresses": ["0"]}


def test_discovery_fails_without_gpus(host):
    result = host.run(
        "docker exec --env NVIDIA_VISIBLE_DEVICES=none %s bash %s/gpu-discovery.sh", WORKERS[0], BIN_DIR
    )
    assert result.rc != 0
    assert "gpu-discovery:" in result.stderr


def test_workers_see_different_gpus(host):
    uuids = [
        run_in_worker(host, container, f"{FAKE_NVIDIA_SMI} --query-gpu=uuid -i 0 --format=csv,noheader").strip()
        for container in WORKERS
    ]
    assert uuids[0] != uuids[1]
    assert all(uuid.startswith("GPU-test-double-") for uuid in uuids)


def test_master_lists_both_workers(host):
    workers = sorted(alive_workers(host), key=lambda worker: worker["host"])
    assert [worker["host"] for worker in workers] == ["spark-worker-1", "spark-worker-2"]
    assert [worker["resources"]["gpu"]["addresses"] for worker in workers] == [["0"], ["0"]]


def test_check_job_gives_each_executor_a_gpu(host):
    result = host.run(
        "docker exec %s %s/bin/spark-submit --master spark://spark-master:7077"
        " --conf spark.executor.cores=1 --conf spark.executor.memory=512m --conf spark.driver.memory=512m"
        " --conf spark.executor.resource.gpu.amount=1 --conf spark.task.resource.gpu.amount=1"
        " --py-files %s/gpu_spark_device.py %s/gpu_check_job.py --expected-executors 2 --use-gpus",
        MASTER, SPARK_HOME, JOBS_DIR, JOBS_DIR,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith(RESULT_MARKER)]
    assert lines, result.stderr[-3000:]
    report = json.loads(lines[-1][len(RESULT_MARKER):])
    assert report["passed"], report["problems"]
    by_worker = {executor["worker"].split("/")[1]: executor["gpu_uuids"] for executor in report["executors"]}
    assert sorted(by_worker) == ["spark-worker-1", "spark-worker-2"]
    assert by_worker["spark-worker-1"] != by_worker["spark-worker-2"]


def test_job_record_matches_containers(host):
    # The record lets a re-run skip the job on an unchanged cluster, so its
    # fingerprint must be the one of the running containers and job files.
    record = json.loads(host.file("/opt/gpu-spark/gpu-check-passed.json").content_string)
    ids = host.check_output(
        "docker ps --all --no-trunc --filter label=com.docker.compose.project=gpu-spark --format '{{.ID}}'").split()
    sums = [
        host.check_output("sha1sum %s", f"{JOBS_DIR}/{name}").split()[0]
        for name in ("gpu_spark_device.py", "gpu_check_job.py")
    ]
    expected = hashlib.sha256(json.dumps({"containers": sorted(ids), "jobs": sums}).encode()).hexdigest()
    assert len(ids) == 3
    assert record["fingerprint"] == expected
    assert record["result"]["passed"] is True
    assert len(record["result"]["executors"]) == 2


def test_killed_worker_rejoins(host):
    before = container_state(host, WORKERS[0])
    old_ids = {worker["id"] for worker in alive_workers(host) if worker["host"] == "spark-worker-1"}
    host.check_output("kill -9 %s", str(before["Pid"]))

    deadline = time.monotonic() + 180
    rejoined = []
    while time.monotonic() < deadline and not rejoined:
        time.sleep(3)
        rejoined = [
            worker for worker in alive_workers(host)
            if worker["host"] == "spark-worker-1" and worker["id"] not in old_ids
        ]
    after = container_state(host, WORKERS[0])
    assert after["Pid"] != before["Pid"]
    assert rejoined, worker_logs(host, WORKERS[0])
    assert rejoined[0]["resources"]["gpu"]["addresses"] == ["0"]
