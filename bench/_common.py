"""Shared helpers for the benchmark scripts under bench/.

Every figure script measures on throwaway lab hosts made by
tests/lab/lab.py, prints its result as a final table, and writes the same
result as JSON to ``.lab/bench/<figure>.json``. Labs are named
``bench-<figure>-<n>`` so that they never clash with the molecule
scenarios or the ``make lab`` lab, and every lab a script creates is removed
again in a ``finally`` block, also on Ctrl-C and SIGTERM.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import json
import os
import platform
import re
import shlex
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAB_DIR = Path(os.environ.get("LAB_DIR", ROOT / ".lab")).resolve()
BENCH_DIR = LAB_DIR / "bench"
LOG_DIR = BENCH_DIR / "logs"
BIN_DIR = Path(sys.executable).parent
LAB_TOOL = ROOT / "tests" / "lab" / "lab.py"
SPARK_IMAGE_TOOL = ROOT / "tests" / "lab" / "spark_image.py"
DOUBLE_BUILDER = ROOT / "tests" / "nvidia_double" / "build.py"
DOUBLE_DIR = LAB_DIR / "nvidia-double"
LAB_VARS = ROOT / "tests" / "lab" / "lab_vars.yml"
SITE = ROOT / "playbooks" / "site.yml"
PREPARE_DOUBLE = ROOT / "tests" / "lab" / "prepare_gpu_double.yml"
MANUAL_RECIPE = ROOT / "bench" / "manual_recipe.sh"

# Ports of the Spark standalone master and its web UI, the same in the hand
# recipe, the hand start and the spark_gpu_cluster role's defaults.
MASTER_PORT = 7077
MASTER_UI_PORT = 8080

# Folder in a lab host for the files copied in. Not /tmp: /tmp is a tmpfs
# in the lab hosts, and `docker cp` writes to the layer below a tmpfs mount,
# where the host's processes do not see the file.
HOST_WORK_DIR = "/root/bench"


def log(message: str) -> None:
    stamp = datetime.datetime.now().strftime("%H:%M:%S")
    print(f"[{stamp}] bench: {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- statistics

def summarize(values: list[float]) -> dict:
    """Return count, minimum, median and maximum of a list of measurements."""
    if not values:
        return {"n": 0, "min": None, "median": None, "max": None, "values": []}
    return {
        "n": len(values),
        "min": min(values),
        "median": statistics.median(values),
        "max": max(values),
        "values": list(values),
    }


def utc_now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Figure:
    """One figure's measurements, targets and metadata, as printed and saved."""

    key: str
    title: str
    rows: list[dict] = field(default_factory=list)
    targets: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    started: str = field(default_factory=utc_now)

    def add(self, metric: str, values: list[float], unit: str) -> dict:
        row = {"metric": metric, "unit": unit, **summarize(values)}
        self.rows.append(row)
        return row

    def target(self, text: str, met: bool | None, detail: str) -> None:
        self.targets.append({"target": text, "met": met, "detail": detail})

    def to_json(self) -> dict:
        return {
            "figure": self.key,
            "title": self.title,
            "started": self.started,
            "finished": utc_now(),
            "environment": environment(),
            "rows": self.rows,
            "targets": self.targets,
            "notes": self.notes,
            "load_average_at_end": os.getloadavg(),
        }


def format_number(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "MiB" or unit == "s":
        return f"{value:.1f}"
    if unit == "x":
        return f"{value:.2f}"
    return f"{value:g}"


def table_lines(figures: list[dict]) -> list[str]:
    """Render figures (as saved to JSON) as one plain-text table."""
    header = ("figure", "metric", "n", "min", "median", "max", "unit")
    lines_data = []
    for figure in figures:
        for row in figure["rows"]:
            lines_data.append((
                figure["figure"], row["metric"], str(row["n"]),
                format_number(row["min"], row["unit"]),
                format_number(row["median"], row["unit"]),
                format_number(row["max"], row["unit"]),
                row["unit"],
            ))
    widths = [max(len(str(item[i])) for item in [header, *lines_data]) for i in range(len(header))]

    def fmt(item: tuple) -> str:
        cells = []
        for i, cell in enumerate(item):
            # Text columns left-aligned, numbers right-aligned.
            cells.append(cell.ljust(widths[i]) if i in (0, 1, 6) else cell.rjust(widths[i]))
        return "  ".join(cells).rstrip()

    lines = [fmt(header), "  ".join("-" * width for width in widths)]
    lines += [fmt(item) for item in lines_data]
    targets = [(figure["figure"], target) for figure in figures for target in figure["targets"]]
    if targets:
        lines.append("")
        for key, target in targets:
            verdict = {True: "MET", False: "MISSED", None: "NOT MEASURED"}[target["met"]]
            lines.append(f"{key}: {verdict}: {target['target']} ({target['detail']})")
    return lines


def finish(figure: Figure) -> dict:
    """Save a figure to .lab/bench/<key>.json and print its final table."""
    data = figure.to_json()
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    path = BENCH_DIR / f"{figure.key}.json"
    path.write_text(json.dumps(data, indent=2) + "\n")
    print(f"\n== {figure.title}")
    for line in table_lines([data]):
        print(line)
    for note in figure.notes:
        print(f"note: {note}")
    print(f"(saved to {path})", flush=True)
    return data


# ---------------------------------------------------------------- environment

def command_output(cmd: list[str]) -> str:
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return result.stdout.strip() if result.returncode == 0 else ""


_ENVIRONMENT: dict | None = None


def environment() -> dict:
    """Describe the machine and tool versions a figure was measured with."""
    global _ENVIRONMENT
    if _ENVIRONMENT is None:
        memory_kib = 0
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_kib = int(line.split()[1])
        os_name = ""
        os_release = Path("/etc/os-release")
        if os_release.is_file():
            match = re.search(r'^PRETTY_NAME="?([^"\n]*)', os_release.read_text(), re.M)
            os_name = match.group(1) if match else ""
        ansible_version = command_output([str(BIN_DIR / "ansible"), "--version"]).splitlines()
        _ENVIRONMENT = {
            "cpus": os.cpu_count(),
            "memory_gib": round(memory_kib / 2**20, 1),
            "os": os_name,
            "kernel": platform.release(),
            "python": platform.python_version(),
            "docker_server": command_output(["docker", "version", "--format", "{{.Server.Version}}"]),
            "ansible_core": ansible_version[0] if ansible_version else "",
            "spark_archive": str(spark_archive()),
            "load_average_at_start": os.getloadavg(),
        }
    return _ENVIRONMENT


# ---------------------------------------------------------------- processes

def tool_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for Ansible and the lab tools: the venv first on PATH."""
    env = dict(os.environ)
    env["PATH"] = f"{BIN_DIR}{os.pathsep}{env.get('PATH', '')}"
    env["ANSIBLE_CONFIG"] = str(ROOT / "ansible.cfg")
    env["LAB_DIR"] = str(LAB_DIR)
    # tests/lab/lab_vars.yml otherwise finds .lab relative to the playbook's
    # folder, which is wrong for playbooks outside playbooks/.
    env["GPU_SPARK_LAB_DIR"] = str(LAB_DIR)
    env.update(extra or {})
    return env


def run(cmd: list[str], *, log_name: str | None = None, env: dict | None = None,
        check: bool = True, timeout: float | None = None) -> subprocess.CompletedProcess:
    """Run a command; its output goes to .lab/bench/logs/<log_name>.log when named."""
    if log_name:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        log_path = LOG_DIR / f"{log_name}.log"
        with log_path.open("w") as handle:
            handle.write(f"$ {shlex.join(cmd)}\n")
            handle.flush()
            result = subprocess.run(cmd, cwd=ROOT, env=env or tool_env(), stdout=handle,
                                    stderr=subprocess.STDOUT, text=True, check=False,
                                    timeout=timeout)
        result.stdout = log_path.read_text()
    else:
        result = subprocess.run(cmd, cwd=ROOT, env=env or tool_env(), capture_output=True,
                                text=True, check=False, timeout=timeout)
    if check and result.returncode != 0:
        where = f"; output in {LOG_DIR / (log_name + '.log')}" if log_name else ""
        tail = (result.stdout or "")[-3000:] + (result.stderr or "")[-3000:]
        raise BenchError(f"command failed (rc={result.returncode}): {shlex.join(cmd)}{where}\n{tail}")
    return result


class BenchError(RuntimeError):
    """Failure of a benchmark step; the message names the command and its output."""


def docker(*args: str, check: bool = True, timeout: float | None = None) -> str:
    return run(["docker", *args], check=check, timeout=timeout).stdout


def host_exec(host: str, script: str, *, check: bool = True, timeout: float | None = 300) -> str:
    """Run a shell script inside a lab host and return its stdout."""
    return run(["docker", "exec", host, "sh", "-c", script], check=check, timeout=timeout).stdout


def in_parallel(calls: list) -> list:
    """Run zero-argument callables in threads; return results in order, raise the first error."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, len(calls))) as pool:
        futures = [pool.submit(call) for call in calls]
        return [future.result() for future in futures]


def _raise_on_sigterm(signum, frame):  # noqa: ARG001
    raise KeyboardInterrupt(f"signal {signum}")


def install_signal_handlers() -> None:
    """Turn SIGTERM into KeyboardInterrupt so that `finally` blocks remove the labs."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_on_sigterm)


# ---------------------------------------------------------------- inputs

def spark_version() -> str:
    """Return the pyspark version that tests/lab/spark_image.py builds by default."""
    text = SPARK_IMAGE_TOOL.read_text() if SPARK_IMAGE_TOOL.is_file() else ""
    match = re.search(r'^DEFAULT_PYSPARK_VERSION = "([^"]+)"', text, re.M)
    if not match:
        raise BenchError(f"no DEFAULT_PYSPARK_VERSION found in {SPARK_IMAGE_TOOL}")
    return match.group(1)


def spark_archive() -> Path:
    return LAB_DIR / "images" / f"spark-{spark_version()}.tar"


def spark_image_ref() -> str:
    return f"gpu-spark-lab/spark:{spark_version()}"


_PREPARED = False


def prepare_inputs(*, double: bool = True) -> None:
    """Build the untimed inputs of every run: host image, Spark archive, GPU test double.

    The builders reuse current results, so this is quick after the first run.
    """
    global _PREPARED
    if _PREPARED:
        return
    log("checking the lab host image, the Spark image archive and the GPU test double")
    run([sys.executable, str(LAB_TOOL), "image", "--release", "debian12"], log_name="prepare-host-image")
    run([sys.executable, str(SPARK_IMAGE_TOOL)], log_name="prepare-spark-image")
    if double:
        if not DOUBLE_BUILDER.is_file():
            raise BenchError(f"{DOUBLE_BUILDER} not found: the GPU test double builder is needed for site.yml")
        run([sys.executable, str(DOUBLE_BUILDER), "--output", str(DOUBLE_DIR)], log_name="prepare-double")
    _PREPARED = True


def double_debs() -> list[Path]:
    """Return the GPU test double's container toolkit packages, if they were built.

    The driver stand-in is left out: like a real NVIDIA driver it is on the
    hosts before either deployment starts (see Lab.prepare_gpu_double).
    """
    if not DOUBLE_DIR.is_dir():
        return []
    return sorted(deb for deb in DOUBLE_DIR.glob("*.deb") if "test-double-driver" not in deb.name)


# ---------------------------------------------------------------- labs

_LAB_COUNTER: dict[str, int] = {}


def _lab_exists(name: str) -> bool:
    out = docker("ps", "-a", "--quiet", "--filter", f"label=io.gpu-spark.lab={name}")
    return bool(out.strip())


class Lab:
    """A throwaway lab of systemd hosts, removed on exit.

    The first host is in spark_master, the rest in spark_workers, as in
    ``make lab``.
    """

    def __init__(self, figure: str, count: int, *, gpu_driver: bool = True):
        index = _LAB_COUNTER.get(figure, 0)
        while True:
            index += 1
            name = f"bench-{figure}-{index}"
            if not _lab_exists(name):
                break
        _LAB_COUNTER[figure] = index
        self.name = name
        self.count = count
        self.hosts = [f"{name}-{i}" for i in range(1, count + 1)]
        self.inventory = BENCH_DIR / "labs" / name / "inventory.yml"
        self.gpu_driver = gpu_driver

    @property
    def master(self) -> str:
        return self.hosts[0]

    @property
    def workers(self) -> list[str]:
        return self.hosts[1:]

    def __enter__(self) -> Lab:
        log(f"lab {self.name}: starting {self.count} hosts")
        started = time.monotonic()
        try:
            run([sys.executable, str(LAB_TOOL), "up", "--lab", self.name, "--count", str(self.count),
                 "--release", "debian12", "--inventory", str(self.inventory)],
                log_name=f"{self.name}-up")
            if self.gpu_driver:
                self.prepare_gpu_double()
        except BaseException:
            self.down()
            raise
        log(f"lab {self.name}: ready in {time.monotonic() - started:.1f} s")
        return self

    def prepare_gpu_double(self) -> None:
        """Install the GPU test double's driver stand-in, untimed, as a site has its driver."""
        if not PREPARE_DOUBLE.is_file():
            return
        run([str(BIN_DIR / "ansible-playbook"), str(PREPARE_DOUBLE), "-i", str(self.inventory),
             "-e", f"@{LAB_VARS}", "-e", f"lab_dir={LAB_DIR}"], log_name=f"{self.name}-prepare")

    def __exit__(self, *exc) -> None:
        self.down()

    def down(self) -> None:
        # A second Ctrl-C must not leave the hosts behind half-removed.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN) \
            if threading.current_thread() is threading.main_thread() else None
        try:
            run([sys.executable, str(LAB_TOOL), "down", "--lab", self.name],
                log_name=f"{self.name}-down", check=False)
            log(f"lab {self.name}: removed")
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)

    def ip(self, host: str) -> str:
        out = docker("inspect", "--format",
                     "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", host)
        addresses = out.split()
        if not addresses:
            raise BenchError(f"lab host {host} has no IP address")
        return addresses[0]

    def master_url(self) -> str:
        return f"http://{self.ip(self.master)}:{MASTER_UI_PORT}/json/"


# ---------------------------------------------------------------- Ansible

# One worker per worker host, as the hand recipe starts: both sides then
# end with the same cluster (the role's default is 2 per host).
SITE_EXTRA_VARS = ["-e", "spark_gpu_cluster_workers_per_host=1"]

RECAP_LINE = re.compile(r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)"
                        r"(?:\s+skipped=(\d+))?(?:\s+rescued=(\d+))?(?:\s+ignored=(\d+))?", re.M)


def parse_recap(output: str) -> dict[str, dict[str, int]]:
    """Return the PLAY RECAP counters of ansible-playbook output, by host."""
    recap_at = output.rfind("PLAY RECAP")
    hosts = {}
    for match in RECAP_LINE.finditer(output[recap_at:] if recap_at >= 0 else ""):
        names = ("ok", "changed", "unreachable", "failed", "skipped", "rescued", "ignored")
        hosts[match.group(1)] = {name: int(match.group(i + 2) or 0) for i, name in enumerate(names)}
    return hosts


@dataclass
class PlaybookRun:
    seconds: float
    recap: dict[str, dict[str, int]]

    @property
    def changed(self) -> int:
        return sum(host["changed"] for host in self.recap.values())

    @property
    def failed(self) -> int:
        return sum(host["failed"] + host["unreachable"] for host in self.recap.values())


def ansible_env(overrides: list[str] | None) -> dict[str, str]:
    """Parse KEY=VALUE Ansible settings given with --ansible-env (used to compare tunings)."""
    extra = {}
    for item in overrides or []:
        key, sep, value = item.partition("=")
        if not sep or not key.startswith("ANSIBLE_"):
            raise BenchError(f"invalid --ansible-env {item!r}: expected ANSIBLE_<SETTING>=<value>")
        extra[key] = value
    return extra


def run_site(lab: Lab, log_name: str, extra_env: dict[str, str] | None = None) -> PlaybookRun:
    """Run playbooks/site.yml on a lab the way tests/lab/run_lab.py does, and time it."""
    if not SITE.is_file():
        raise BenchError(f"{SITE} not found: figures that deploy with site.yml need it")
    cmd = [str(BIN_DIR / "ansible-playbook"), str(SITE), "-i", str(lab.inventory),
           "-e", f"@{LAB_VARS}", "-e", f"lab_dir={LAB_DIR}", *SITE_EXTRA_VARS]
    # profile_tasks adds each task's duration to the log, to find what is slow.
    env = tool_env({"ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.profile_tasks", **(extra_env or {})})
    started = time.monotonic()
    result = run(cmd, log_name=log_name, env=env, check=False)
    seconds = time.monotonic() - started
    recap = parse_recap(result.stdout)
    if result.returncode != 0 or not recap:
        raise BenchError(f"site.yml failed on lab {lab.name} (rc={result.returncode}); "
                         f"see {LOG_DIR / (log_name + '.log')}")
    log(f"site.yml on {lab.name}: {seconds:.1f} s, changed={sum(h['changed'] for h in recap.values())}")
    return PlaybookRun(seconds, recap)


def run_playbook(lab: Lab, playbook: Path, log_name: str,
                 extra_env: dict[str, str] | None = None) -> PlaybookRun:
    cmd = [str(BIN_DIR / "ansible-playbook"), str(playbook), "-i", str(lab.inventory)]
    started = time.monotonic()
    result = run(cmd, log_name=log_name, env=tool_env(extra_env))
    return PlaybookRun(time.monotonic() - started, parse_recap(result.stdout))


# ---------------------------------------------------------------- Spark

def fetch_master_state(url: str, timeout: float = 0.5) -> dict | None:
    """Return the master's /json/ document, or None while the master UI is not reachable."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (lab host URL)
            return json.loads(response.read().decode())
    except (urllib.error.URLError, OSError, ValueError):
        return None


def alive_workers(state: dict | None) -> int:
    if not state:
        return 0
    return sum(1 for worker in state.get("workers", []) if worker.get("state") == "ALIVE")


def wait_for_workers(url: str, count: int, *, interval: float = 0.1, timeout: float = 180.0,
                     since: float | None = None) -> float:
    """Poll the master every `interval` s until `count` workers are ALIVE.

    Returns the seconds from `since` (a time.monotonic() value, default now)
    to the first poll that saw them all.
    """
    start = time.monotonic() if since is None else since
    deadline = time.monotonic() + timeout
    state = None
    while time.monotonic() < deadline:
        poll_started = time.monotonic()
        state = fetch_master_state(url)
        if alive_workers(state) >= count:
            return poll_started - start
        time.sleep(max(0.0, interval - (time.monotonic() - poll_started)))
    raise BenchError(f"only {alive_workers(state)} of {count} workers ALIVE at {url} after {timeout:.0f} s")


# ---------------------------------------------------------------- hand recipe

def copy_into(host: str, source: Path, target: str) -> None:
    host_exec(host, f"mkdir -p {shlex.quote(HOST_WORK_DIR)}")
    docker("cp", str(source), f"{host}:{target}")


def manual_deploy(lab: Lab, log_prefix: str) -> float:
    """Run bench/manual_recipe.sh on every lab host at once; return the wall time.

    The time includes copying the script, the Spark archive and the test
    double's packages into each host, since site.yml copies the archive too.
    Hosts run in parallel, the fastest way a user can follow the recipe
    over ssh.
    """
    archive = spark_archive()
    debs = double_debs()
    workers = len(lab.workers)

    def deploy(host: str, role: str) -> None:
        copy_into(host, MANUAL_RECIPE, f"{HOST_WORK_DIR}/manual_recipe.sh")
        copy_into(host, archive, f"{HOST_WORK_DIR}/spark.tar")
        for deb in debs:
            copy_into(host, deb, f"{HOST_WORK_DIR}/{deb.name}")
        argv = ["docker", "exec", host, "sh", f"{HOST_WORK_DIR}/manual_recipe.sh", role, lab.master,
                f"{HOST_WORK_DIR}/spark.tar", str(workers),
                *[f"{HOST_WORK_DIR}/{deb.name}" for deb in debs]]
        run(argv, log_name=f"{log_prefix}-{host}", timeout=900)

    started = time.monotonic()
    in_parallel([lambda h=host, r=("master" if host == lab.master else "worker"): deploy(h, r)
                 for host in lab.hosts])
    seconds = time.monotonic() - started
    log(f"hand recipe on {lab.name}: {seconds:.1f} s")
    return seconds


# ---------------------------------------------------------------- containers

@dataclass
class SparkContainer:
    host: str
    container_id: str
    name: str
    kind: str  # "master" or "worker"


def container_kind(name: str, command: str) -> str | None:
    """Classify a container as Spark "master" or "worker" by its command, else by its name."""
    if "org.apache.spark.deploy.master.Master" in command:
        return "master"
    if "org.apache.spark.deploy.worker.Worker" in command:
        return "worker"
    for kind in ("master", "worker"):
        if re.search(rf"spark[-_]?{kind}", name, re.I):
            return kind
    return None


def spark_containers(lab: Lab) -> list[SparkContainer]:
    """Find the running Spark master and worker containers of the engines inside the lab hosts.

    A container counts as master or worker by its command line, so this
    works for the hand recipe, the hand start and the role alike.
    """
    found = []
    template = "{{.Id}}\t{{.Name}}\t{{json .Path}} {{json .Args}} {{json .Config.Cmd}} {{json .Config.Entrypoint}}"
    for host in lab.hosts:
        ids = host_exec(host, "command -v docker >/dev/null && docker ps --quiet --no-trunc || true").split()
        if not ids:
            continue
        out = host_exec(host, f"docker inspect --format {shlex.quote(template)} {' '.join(ids)}")
        for line in out.splitlines():
            container_id, name, command = line.split("\t", 2)
            kind = container_kind(name, command)
            if kind is None:
                continue
            found.append(SparkContainer(host, container_id, name.lstrip("/"), kind))
    return found


# Shell script run in a lab host: finds a container's memory cgroup from
# its main process (cgroup v1 "N:memory:/path" or v2 "0::/path") and prints
# the version, the folder, the usage and the memory.stat lines.
_CGROUP_SCRIPT = r"""
pid="$(docker inspect --format '{{.State.Pid}}' "$1")"
path="$(sed -n 's/^[0-9]*:[^:]*memory[^:]*:\(.*\)$/\1/p' /proc/$pid/cgroup | head -n 1)"
if [ -n "$path" ]; then
    dir="/sys/fs/cgroup/memory$path"
    echo "v1 $dir"
    echo "usage $(cat "$dir/memory.usage_in_bytes")"
    cat "$dir/memory.stat"
else
    path="$(sed -n 's/^0::\(.*\)$/\1/p' /proc/$pid/cgroup)"
    dir="/sys/fs/cgroup$path"
    echo "v2 $dir"
    echo "usage $(cat "$dir/memory.current")"
    cat "$dir/memory.stat"
fi
"""


def container_memory(container: SparkContainer) -> dict:
    """Read a container's memory from its cgroup files, through the lab host.

    Resident memory is the cgroup's usage minus its page cache:
    ``usage_in_bytes - total_cache`` on cgroup v1 and ``memory.current -
    file`` on cgroup v2. The cgroup files are read because `docker stats`
    reports 0 on the cgroup v1 machines.
    """
    out = run(["docker", "exec", container.host, "sh", "-c", _CGROUP_SCRIPT, "sh",
               container.container_id]).stdout
    lines = out.splitlines()
    version, path = lines[0].split(" ", 1)
    values = {}
    for line in lines[1:]:
        key, _separator, value = line.partition(" ")
        if value.strip().isdigit():
            values[key] = int(value)
    usage = values["usage"]
    if version == "v1":
        cache = values.get("total_cache", values.get("cache", 0))
        rss = values.get("total_rss", values.get("rss", 0))
    else:
        cache = values.get("file", 0)
        rss = values.get("anon", 0)
    return {"cgroup": version, "path": path, "usage": usage, "cache": cache,
            "resident": usage - cache, "rss": rss}


# ---------------------------------------------------------------- arguments

def base_parser(description: str, repeat: int | None) -> argparse.ArgumentParser:
    """Return a parser with the options all scripts share; `repeat` None leaves out --repeat."""
    parser = argparse.ArgumentParser(description=description)
    if repeat is not None:
        parser.add_argument("--repeat", type=int, default=repeat,
                            help=f"repetitions of each measurement (default: {repeat})")
    parser.add_argument("--ansible-env", action="append", metavar="ANSIBLE_SETTING=VALUE",
                        help="Ansible setting for the site.yml runs, as an environment variable "
                             "(repeatable), e.g. ANSIBLE_PIPELINING=false to measure a tuning")
    return parser


def main_wrapper(body) -> None:
    """Run a figure's main body with SIGTERM cleanup and readable failures."""
    install_signal_handlers()
    try:
        body()
    except BenchError as error:
        print(f"bench: {error}", file=sys.stderr)
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        print("bench: interrupted; the labs were removed", file=sys.stderr)
        raise SystemExit(130) from None
