"""Make sure a Docker engine responds on this machine, installing one if needed.

Order: an engine that already responds is used as it is; otherwise Debian's
docker.io package is installed when dockerd is missing, then the engine is
started through systemd when systemd is PID 1, or as a background dockerd
process when it is not (containers, CI machines, WSL2).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

LOG_FILE = Path(os.environ.get("LAB_DIR", ".lab")) / "dockerd.log"
START_TIMEOUT_S = 60


def log(message: str) -> None:
    print(f"ensure_docker: {message}", file=sys.stderr, flush=True)


def engine_answers() -> bool:
    if shutil.which("docker") is None:
        return False
    result = subprocess.run(["docker", "info"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, check=False)
    return result.returncode == 0


def as_root(cmd: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return cmd
    if shutil.which("sudo") is None:
        raise SystemExit(f"ensure_docker: '{' '.join(cmd)}' needs root and sudo is not installed")
    return ["sudo", "--non-interactive", *cmd]


def install_engine() -> None:
    log("dockerd or debootstrap not found: installing Debian's docker.io and debootstrap")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(as_root(["apt-get", "update", "-q"]), check=True, env=env)
    subprocess.run(as_root(["apt-get", "install", "-q", "-y", "docker.io", "debootstrap"]),
                   check=True, env=env)


def systemd_is_init() -> bool:
    return Path("/run/systemd/system").is_dir()


def start_engine() -> None:
    if systemd_is_init():
        log("starting docker.service through systemd")
        subprocess.run(as_root(["systemctl", "start", "docker.service"]), check=True)
        return
    LOG_FILE.parent.mkdir(parents=True, exist_ok=True)
    log(f"no systemd on this machine: starting dockerd in the background, log in {LOG_FILE}")
    with LOG_FILE.open("ab") as stream:
        subprocess.Popen(as_root(["dockerd"]), stdout=stream, stderr=stream,
                         stdin=subprocess.DEVNULL, start_new_session=True)


def main() -> None:
    if shutil.which("debootstrap") is None or shutil.which("dockerd") is None:
        install_engine()
    if engine_answers():
        return
    start_engine()
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if engine_answers():
            log("Docker engine is up")
            return
        time.sleep(1)
    raise SystemExit(f"ensure_docker: the Docker engine did not answer `docker info` within "
                     f"{START_TIMEOUT_S} s; see {LOG_FILE}")


if __name__ == "__main__":
    main()
