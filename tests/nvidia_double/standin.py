"""GPU test double: stand-in NVIDIA Container Toolkit programs.

One script installed under several names; the name it runs as decides
what it does. Every call is appended as one JSON line to
/var/log/gpu-spark-test-double/calls.jsonl, with the argv, the NVIDIA_*
environment variables and, for container starts, the NVIDIA_* variables
of the container's own environment (the GPU request Docker passes on).

- nvidia-container-runtime: records, then execs runc with the same
  arguments. On `create` it adds the prestart hook to the bundle's
  config.json when the container requests GPUs and has no hook yet, as
  the real runtime does in legacy mode.
- nvidia-container-runtime-hook: records the container it was called for
  and exits 0. It mounts nothing into the container.
- nvidia-ctk: records; implements `runtime configure --runtime=docker`,
  `cdi generate [--output=FILE]`, `cdi list`,
  `system create-dev-char-symlinks` and `--version`.
- nvidia-container-cli: records; prints a version, exits 0.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

VERSION = "1.17.8"
LOG_DIR = "/var/log/gpu-spark-test-double"
CALLS_LOG = os.path.join(LOG_DIR, "calls.jsonl")
FAKE_NVIDIA_SMI = "/opt/gpu-spark-test-double/bin/nvidia-smi"
HOOK_PATH = "/usr/bin/nvidia-container-runtime-hook"
RUNC_CANDIDATES = ("/usr/bin/runc", "/usr/sbin/runc", "/usr/local/bin/runc", "/usr/local/sbin/runc")


def nvidia_env(env) -> dict:
    return {key: value for key, value in env.items() if key.startswith("NVIDIA_")}


def record(program: str, **details) -> None:
    entry = {
        "time": time.time(),
        "program": program,
        "argv": sys.argv,
        "pid": os.getpid(),
        "env": nvidia_env(os.environ),
        **details,
    }
    try:
        os.makedirs(LOG_DIR, exist_ok=True)
        # One write() of one line on an O_APPEND file keeps concurrent
        # callers' lines whole.
        fd = os.open(CALLS_LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (json.dumps(entry, sort_keys=True) + "\n").encode())
        finally:
            os.close(fd)
    except OSError as error:
        print(f"gpu-spark test double: cannot record call in {CALLS_LOG}: {error}", file=sys.stderr)


def read_bundle_config(bundle: str) -> dict | None:
    try:
        with open(os.path.join(bundle, "config.json"), encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def container_request(config: dict | None) -> dict:
    if not config:
        return {}
    env = dict(item.split("=", 1) for item in config.get("process", {}).get("env", []) if "=" in item)
    hooks = [hook.get("path") for hook in (config.get("hooks") or {}).get("prestart", [])]
    return {"container_env": nvidia_env(env), "prestart_hooks": hooks}


def option_value(args: list[str], *names: str) -> str | None:
    for position, arg in enumerate(args):
        for name in names:
            if arg == name and position + 1 < len(args):
                return args[position + 1]
            if arg.startswith(name + "="):
                return arg.split("=", 1)[1]
    return None


def find_runc() -> str:
    found = shutil.which("runc")
    if found:
        return found
    for candidate in RUNC_CANDIDATES:
        if os.access(candidate, os.X_OK):
            return candidate
    print("gpu-spark test double: runc not found on PATH or in /usr/bin, /usr/sbin, /usr/local", file=sys.stderr)
    sys.exit(127)


def add_prestart_hook(bundle: str, config: dict) -> bool:
    hooks = config.setdefault("hooks", {}).setdefault("prestart", [])
    if any(str(hook.get("path", "")).endswith("nvidia-container-runtime-hook") for hook in hooks):
        return False
    hooks.append({"path": HOOK_PATH, "args": ["nvidia-container-runtime-hook", "prestart"]})
    path = os.path.join(bundle, "config.json")
    temporary = path + ".test-double"
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(config, handle)
    os.replace(temporary, path)
    return True


def runtime_main(args: list[str]) -> int:
    details = {}
    if "create" in args:
        bundle = option_value(args, "--bundle", "-b") or os.getcwd()
        config = read_bundle_config(bundle)
        details = container_request(config)
        details["bundle"] = bundle
        requested = details.get("container_env", {}).get("NVIDIA_VISIBLE_DEVICES", "")
        if config and requested.lower() not in ("", "void"):
            details["hook_added"] = add_prestart_hook(bundle, config)
    record("nvidia-container-runtime", **details)
    runc = find_runc()
    os.execv(runc, [runc, *args])
    return 127


def hook_main(args: list[str]) -> int:
    details = {}
    state = {}
    if not sys.stdin.isatty():
        try:
            state = json.load(sys.stdin)
        except ValueError:
            state = {}
    if state:
        details = container_request(read_bundle_config(state.get("bundle", "")))
        details["container_id"] = state.get("id")
    record("nvidia-container-runtime-hook", **details)
    return 0


def fake_gpus() -> list[tuple[str, str]]:
    """Return (index, uuid) of each GPU the fake nvidia-smi reports."""
    env = {key: value for key, value in os.environ.items() if key != "NVIDIA_VISIBLE_DEVICES"}
    result = subprocess.run(
        [sys.executable, FAKE_NVIDIA_SMI, "--query-gpu=index,uuid", "--format=csv,noheader"],
        capture_output=True, text=True, env=env, check=False,
    )
    pairs = []
    for line in result.stdout.splitlines():
        if "," in line:
            index, uuid = (cell.strip() for cell in line.split(",", 1))
            pairs.append((index, uuid))
    return pairs


def cdi_spec() -> dict:
    devices = []
    for index, uuid in fake_gpus():
        for name in (index, uuid):
            devices.append({"name": name, "containerEdits": {"env": [f"NVIDIA_VISIBLE_DEVICES={index}"]}})
    devices.append({"name": "all", "containerEdits": {"env": ["NVIDIA_VISIBLE_DEVICES=all"]}})
    return {
        "cdiVersion": "0.5.0",
        "kind": "nvidia.com/gpu",
        "devices": devices,
        "containerEdits": {"env": ["GPU_SPARK_TEST_DOUBLE=1"]},
    }


def ctk_runtime_configure(args: list[str]) -> int:
    runtime = option_value(args, "--runtime") or "docker"
    if runtime != "docker":
        print(f"gpu-spark test double: only --runtime=docker is implemented, not {runtime}", file=sys.stderr)
        return 1
    path = option_value(args, "--config") or "/etc/docker/daemon.json"
    name = option_value(args, "--nvidia-runtime-name") or "nvidia"
    try:
        with open(path, encoding="utf-8") as handle:
            config = json.loads(handle.read() or "{}")
    except FileNotFoundError:
        config = {}
    config.setdefault("runtimes", {})[name] = {"path": "nvidia-container-runtime", "args": []}
    if "--set-as-default" in args:
        config["default-runtime"] = name
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(config, handle, indent=4)
        handle.write("\n")
    print(f'INFO Wrote updated config to {path}', file=sys.stderr)
    return 0


def ctk_dev_char_symlinks() -> int:
    # Same effect as the real command: /dev/char/MAJOR:MINOR links for
    # NVIDIA device nodes. Hosts with the test double have no such nodes.
    os.makedirs("/dev/char", exist_ok=True)
    for name in sorted(os.listdir("/dev")):
        node = os.path.join("/dev", name)
        if not name.startswith("nvidia") or not os.path.exists(node):
            continue
        info = os.stat(node)
        link = f"/dev/char/{os.major(info.st_rdev)}:{os.minor(info.st_rdev)}"
        if not os.path.lexists(link):
            print(f"INFO Creating link {link} => {node}", file=sys.stderr)
            os.symlink(node, link)
    return 0


def ctk_main(args: list[str]) -> int:
    record("nvidia-ctk")
    words = [arg for arg in args if not arg.startswith("-")]
    if "--version" in args or "-v" in args or words[:1] == ["version"]:
        print(f"NVIDIA Container Toolkit CLI version {VERSION} (gpu-spark GPU test double)")
        return 0
    if words[:2] == ["runtime", "configure"]:
        return ctk_runtime_configure(args)
    if words[:2] == ["cdi", "generate"]:
        text = json.dumps(cdi_spec(), indent=2) + "\n"
        output = option_value(args, "--output")
        if output:
            os.makedirs(os.path.dirname(output) or ".", exist_ok=True)
            with open(output, "w", encoding="utf-8") as handle:
                handle.write(text)
            print(f"INFO Generated CDI spec with version 0.5.0 in {output}", file=sys.stderr)
        else:
            sys.stdout.write(text)
        return 0
    if words[:2] == ["cdi", "list"]:
        for device in cdi_spec()["devices"]:
            print(f"nvidia.com/gpu={device['name']}")
        return 0
    if words[:2] == ["system", "create-dev-char-symlinks"]:
        return ctk_dev_char_symlinks()
    print(f"gpu-spark test double: nvidia-ctk {' '.join(args)} is not implemented", file=sys.stderr)
    return 1


def cli_main(args: list[str]) -> int:
    record("nvidia-container-cli")
    if "--version" in args:
        print(f"cli-version: {VERSION} (gpu-spark GPU test double)")
    return 0


PROGRAMS = {
    "nvidia-container-runtime": runtime_main,
    "nvidia-container-runtime-hook": hook_main,
    "nvidia-ctk": ctk_main,
    "nvidia-container-cli": cli_main,
}


def main() -> int:
    program = os.path.basename(sys.argv[0])
    handler = PROGRAMS.get(program)
    if handler is None:
        print(f"gpu-spark test double: run this script as one of {', '.join(PROGRAMS)}, not {program}",
              file=sys.stderr)
        return 2
    return handler(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
