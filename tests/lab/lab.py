"""Build, start and remove throwaway systemd lab hosts for tests and demos.

The hosts are Docker containers that boot systemd as PID 1 from a Debian
root file system made with debootstrap, so they behave like small Debian
servers: Ansible reaches them through the community.docker.docker
connection and they can run their own Docker engine. Nothing here needs a
container registry.

Every container, volume and network this tool creates carries the label
``io.gpu-spark.lab=<lab name>``, which is how ``down`` finds them again.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

LABEL = "io.gpu-spark.lab"
IMAGE_REPOSITORY = "gpu-spark-lab/host"

# Debian release code names by the tag used for host images.
RELEASES = {"debian12": "bookworm", "debian13": "trixie"}

# Packages that make a minbase root file system boot systemd and serve as
# an Ansible target.
HOST_PACKAGES = [
    "python3",
    "python3-apt",
    "systemd",
    "systemd-sysv",
    "dbus",
    "iproute2",
    "iputils-ping",
    "procps",
    "sudo",
    "ca-certificates",
    "gnupg",
    "curl",
    "kmod",
    "iptables",
]

# Downloaded into the image's apt cache but not installed: the roles under
# test still install them, and the shared cache spares every test host the
# same download.
PRESEEDED_PACKAGES = {
    "bookworm": ["docker.io", "docker-compose"],
    "trixie": ["docker.io", "docker-compose"],
}

# Units that have nothing to do inside a container and only fail there.
MASKED_UNITS = [
    "getty.target",
    "console-getty.service",
    "systemd-remount-fs.service",
    "systemd-firstboot.service",
    "sys-kernel-config.mount",
    "sys-kernel-debug.mount",
    "sys-kernel-tracing.mount",
    "dev-hugepages.mount",
    "systemd-logind.service",
]

# Every capability that Docker 20.10 accepts, except SYS_RESOURCE. Docker
# 20.10 rejects BPF, PERFMON and CHECKPOINT_RESTORE as unknown. The CI
# machines lack SYS_RESOURCE in their bounding set, so with it, or with
# --privileged, container start fails with "unable to apply caps".
CAPABILITIES = [
    "AUDIT_CONTROL", "AUDIT_READ", "AUDIT_WRITE", "BLOCK_SUSPEND",
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH",
    "FOWNER", "FSETID", "IPC_LOCK", "IPC_OWNER", "KILL", "LEASE",
    "LINUX_IMMUTABLE", "MAC_ADMIN", "MAC_OVERRIDE", "MKNOD", "NET_ADMIN",
    "NET_BIND_SERVICE", "NET_BROADCAST", "NET_RAW", "SETFCAP",
    "SETGID", "SETPCAP", "SETUID", "SYS_ADMIN", "SYS_BOOT", "SYS_CHROOT",
    "SYS_MODULE", "SYS_NICE", "SYS_PACCT", "SYS_PTRACE", "SYS_RAWIO",
    "SYS_TIME", "SYS_TTY_CONFIG", "SYSLOG", "WAKE_ALARM",
]


def log(message: str) -> None:
    print(f"lab: {message}", file=sys.stderr, flush=True)


def run(cmd: list[str], *, check: bool = True, capture: bool = False,
        stdin=None) -> subprocess.CompletedProcess:
    result = subprocess.run(
        cmd, check=False, text=True, stdin=stdin,
        stdout=subprocess.PIPE if capture else None,
        stderr=subprocess.PIPE if capture else None,
    )
    if check and result.returncode != 0:
        detail = (result.stderr or "").strip() if capture else ""
        raise SystemExit(f"lab: command failed (rc={result.returncode}): {' '.join(cmd)}\n{detail}")
    return result


def docker(*args: str, check: bool = True, capture: bool = True) -> subprocess.CompletedProcess:
    return run(["docker", *args], check=check, capture=capture)


def image_exists(ref: str) -> bool:
    return docker("image", "inspect", ref, check=False).returncode == 0


def find_apt_mirror(codename: str) -> str:
    """Return the Debian archive URL this machine's apt configuration uses.

    LAB_APT_MIRROR overrides it. The URL is read at run time so that no
    archive host name is ever written into the repository.
    """
    override = os.environ.get("LAB_APT_MIRROR")
    if override:
        return override.rstrip("/")
    policy = run(["apt-cache", "policy"], capture=True).stdout
    # Lines look like: " 500 http://mirror/debian bookworm/main amd64 Packages"
    pattern = re.compile(r"^\s*\d+\s+(\S+)\s+([a-z]+)/main\s")
    for line in policy.splitlines():
        match = pattern.match(line)
        if match and not match.group(2).endswith(("-security", "-updates", "-backports")):
            return match.group(1).rstrip("/")
    raise SystemExit(
        "lab: no Debian 'main' archive found in `apt-cache policy`; "
        f"set LAB_APT_MIRROR to the Debian mirror URL to build the {codename} host image"
    )


def build_host_image(tag: str, force: bool) -> str:
    codename = RELEASES[tag]
    ref = f"{IMAGE_REPOSITORY}:{tag}"
    if image_exists(ref) and not force:
        log(f"host image {ref} exists, reusing it")
        return ref
    if shutil.which("debootstrap") is None:
        raise SystemExit("lab: debootstrap not found; install it with `apt-get install debootstrap`")
    mirror = find_apt_mirror(codename)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix=f"lab-{codename}-") as tmp:
        root = Path(tmp) / "root"
        log(f"debootstrap {codename} (minbase) into {root}")
        run([
            "debootstrap", "--variant=minbase", f"--include={','.join(HOST_PACKAGES)}",
            codename, str(root), mirror,
        ], capture=True)
        shutil.copy("/etc/resolv.conf", root / "etc/resolv.conf")
        run(["chroot", str(root), "apt-get", "update", "-q"], capture=True)
        # debootstrap leaves the packages it installed in the cache.
        run(["chroot", str(root), "apt-get", "clean"], capture=True)
        run(["chroot", str(root), "apt-get", "install", "-q", "-y", "--download-only",
             *PRESEEDED_PACKAGES[codename]], capture=True)
        (root / "etc/resolv.conf").write_text("")
        for unit in MASKED_UNITS:
            link = root / "etc/systemd/system" / unit
            link.unlink(missing_ok=True)
            link.symlink_to("/dev/null")
        # Without recommended packages, so that a role that needs one must name it
# instead of passing here by chance.
        (root / "etc/apt/apt.conf.d/90lab").write_text(
            'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n'
        )
        (root / "etc/hostname").write_text("lab\n")
        tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
        run([
            "docker", "import",
            "--change", 'CMD ["/sbin/init"]',
            "--change", "ENV container=docker",
            "-", ref,
        ], stdin=tar.stdout, capture=True)
        tar.wait()
    log(f"built {ref} in {time.monotonic() - started:.0f} s")
    return ref


def host_run_args(name: str, lab: str, network: str, image: str) -> list[str]:
    args = [
        "run", "--detach", "--name", name, "--hostname", name,
        "--label", f"{LABEL}={lab}", "--network", network,
        "--cgroupns", "host",
        # systemd shuts down cleanly on SIGRTMIN+3, not on SIGTERM.
        "--stop-signal", "SIGRTMIN+3",
        "--security-opt", "seccomp=unconfined",
        "--security-opt", "apparmor=unconfined",
        "--cap-drop", "ALL",
        "--tmpfs", "/run", "--tmpfs", "/run/lock", "--tmpfs", "/tmp:exec",
        "--volume", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
        # A volume, not the container's own overlay layer, so that the
        # engine inside can use overlay2 instead of the slow vfs driver.
        "--mount", f"type=volume,source={name}-docker,target=/var/lib/docker,"
                   f"volume-label={LABEL}={lab}",
    ]
    for cap in CAPABILITIES:
        args += ["--cap-add", cap]
    return [*args, image]


def wait_for_systemd(name: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    state = ""
    while time.monotonic() < deadline:
        result = docker("exec", name, "systemctl", "is-system-running", check=False)
        state = result.stdout.strip()
        if state in ("running", "degraded"):
            return
        time.sleep(0.5)
    raise SystemExit(f"lab: systemd in {name} did not finish booting within {timeout:.0f} s "
                     f"(state: {state or 'unknown'}); see `docker logs {name}`")


def lab_containers(lab: str) -> list[str]:
    out = docker("ps", "-a", "--filter", f"label={LABEL}={lab}", "--format", "{{.Names}}").stdout
    return sorted(out.split())


def ensure_network(network: str, lab: str) -> None:
    if docker("network", "inspect", network, check=False).returncode != 0:
        docker("network", "create", "--label", f"{LABEL}={lab}", network)


def hosts_up(lab: str, names: list[str], image: str, network: str) -> None:
    ensure_network(network, lab)
    existing = set(lab_containers(lab))
    for name in names:
        if name in existing:
            docker("start", name)
            continue
        docker(*host_run_args(name, lab, network, image))
    for name in names:
        wait_for_systemd(name)
    log(f"hosts up: {', '.join(names)} on network {network}")


def stop_inner_containers(name: str) -> None:
    """Remove the containers of the engine inside a host before the host goes.

    With cgroup v1 and the host cgroup namespace, inner containers own
    folders in this machine's cgroup tree that stay behind otherwise.
    """
    script = "command -v docker >/dev/null && docker ps -aq | xargs -r docker rm -f >/dev/null || true"
    docker("exec", name, "sh", "-c", script, check=False)


def lab_down(lab: str) -> None:
    names = lab_containers(lab)
    running = set(docker("ps", "--filter", f"label={LABEL}={lab}", "--format", "{{.Names}}").stdout.split())
    for name in names:
        if name in running:
            stop_inner_containers(name)
    if names:
        docker("rm", "--force", "--volumes", *names)
    volumes = docker("volume", "ls", "-q", "--filter", f"label={LABEL}={lab}").stdout.split()
    if volumes:
        docker("volume", "rm", "--force", *volumes)
    networks = docker("network", "ls", "-q", "--filter", f"label={LABEL}={lab}").stdout.split()
    for network in networks:
        docker("network", "rm", network, check=False)
    log(f"lab '{lab}' removed: {len(names)} hosts, {len(volumes)} volumes, {len(networks)} networks")


def inventory_yaml(names: list[str], masters: int) -> str:
    """Render an Ansible inventory: the first host(s) master, the rest workers."""
    master_hosts = names[:masters]
    worker_hosts = names[masters:] or names
    lines = [
        "# Generated by tests/lab/lab.py; the hosts are throwaway containers.",
        "all:",
        "  vars:",
        "    ansible_connection: community.docker.docker",
        "    ansible_python_interpreter: /usr/bin/python3",
        "  children:",
        "    spark_master:",
        "      hosts:",
        *[f"        {name}: {{}}" for name in master_hosts],
        "    spark_workers:",
        "      hosts:",
        *[f"        {name}: {{}}" for name in worker_hosts],
    ]
    return "\n".join(lines) + "\n"


def command_image(args: argparse.Namespace) -> None:
    # The builds are mostly waiting on downloads, so they run side by side.
    with ThreadPoolExecutor(max_workers=len(args.release)) as pool:
        futures = [pool.submit(build_host_image, tag, args.force) for tag in args.release]
        for future in futures:
            future.result()


def command_up(args: argparse.Namespace) -> None:
    image = build_host_image(args.release, force=False)
    names = args.host or [f"{args.lab}-{index}" for index in range(1, args.count + 1)]
    hosts_up(args.lab, names, image, args.network or f"{args.lab}-net")
    text = inventory_yaml(names, args.masters)
    if args.inventory:
        Path(args.inventory).parent.mkdir(parents=True, exist_ok=True)
        Path(args.inventory).write_text(text)
        log(f"inventory written to {args.inventory}")
    else:
        sys.stdout.write(text)


def command_down(args: argparse.Namespace) -> None:
    lab_down(args.lab)


def command_list(args: argparse.Namespace) -> None:
    print(json.dumps(lab_containers(args.lab)))


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    image = sub.add_parser("image", help="build the systemd host images")
    image.add_argument("--release", action="append", choices=sorted(RELEASES),
                       help="image to build (repeatable; default: all)")
    image.add_argument("--force", action="store_true", help="rebuild even if the image exists")
    image.set_defaults(func=command_image)

    up = sub.add_parser("up", help="start lab hosts and print their inventory")
    up.add_argument("--lab", default="gpu-spark-lab", help="lab name, used as label and name prefix")
    up.add_argument("--count", type=int, default=3, help="number of hosts (default: 3)")
    up.add_argument("--host", action="append", help="explicit host name (repeatable; overrides --count)")
    up.add_argument("--masters", type=int, default=1, help="hosts put in spark_master (default: 1)")
    up.add_argument("--release", default="debian12", choices=sorted(RELEASES))
    up.add_argument("--network", help="Docker network (default: <lab>-net)")
    up.add_argument("--inventory", help="write the inventory to this file instead of stdout")
    up.set_defaults(func=command_up)

    down = sub.add_parser("down", help="remove a lab's hosts, volumes and network")
    down.add_argument("--lab", default="gpu-spark-lab")
    down.set_defaults(func=command_down)

    listing = sub.add_parser("list", help="print a lab's host names as JSON")
    listing.add_argument("--lab", default="gpu-spark-lab")
    listing.set_defaults(func=command_list)

    args = parser.parse_args(argv)
    if args.command == "image" and not args.release:
        args.release = sorted(RELEASES)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    args.func(args)


if __name__ == "__main__":
    main()
