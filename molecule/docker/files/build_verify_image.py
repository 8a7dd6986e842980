"""Write a tiny image as `docker save` output, built from this machine's own binaries.

No registry is reachable in the tests, so the image that proves `docker run`
and Compose work on a test host is made here. It has one layer with a few
dynamically linked programs (sh, echo, true, cat, sleep) and the shared
libraries that `ldd` lists for them. Docker loads the archive with `docker load`; no
Docker engine is needed to build it. File times are fixed so that the same
machine always writes the same archive, which keeps the role's copy step
idempotent.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

PROGRAMS = ["sh", "echo", "true", "cat", "sleep"]
# Top-level links of a merged-/usr Debian, copied as links when present.
MERGED_USR_LINKS = ["bin", "sbin", "lib", "lib64"]
FIXED_MTIME = 0
LDD_PATH = re.compile(r"(/\S+)")


def shared_libraries(binary: str) -> list[str]:
    """Return the absolute paths of the libraries ldd lists for binary."""
    output = subprocess.run(["ldd", binary], check=True, capture_output=True, text=True).stdout
    paths = []
    for line in output.splitlines():
        # Lines read "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or
        # "/lib64/ld-linux-x86-64.so.2 (0x...)". linux-vdso has no file.
        target = line.split("=>", 1)[-1]
        match = LDD_PATH.search(target)
        if match:
            paths.append(match.group(1))
    return paths


def image_files() -> list[str]:
    files = []
    for name in PROGRAMS:
        binary = shutil.which(name)
        if binary is None:
            raise SystemExit(f"build_verify_image: {name} not found on PATH")
        files.append(binary)
        files.extend(shared_libraries(binary))
    return sorted(set(files))


def add_entry(layer: tarfile.TarFile, info: tarfile.TarInfo, data: bytes | None = None) -> None:
    info.mtime = FIXED_MTIME
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    layer.addfile(info, io.BytesIO(data) if data is not None else None)


def collect(path: str, entries: dict[str, tuple[str, str]]) -> None:
    """Add path to entries, keeping symbolic links as links and following them.

    The dynamic loader is named /lib64/ld-linux-x86-64.so.2 inside every
    binary, so the links on the way to the real file must exist in the image.
    """
    parent = os.path.realpath(os.path.dirname(path))
    full = os.path.join(parent, os.path.basename(path))
    if full in entries:
        return
    if os.path.islink(full):
        target = os.readlink(full)
        entries[full] = ("link", target)
        collect(target if os.path.isabs(target) else os.path.join(parent, target), entries)
    else:
        entries[full] = ("file", full)


def build_layer(files: list[str]) -> bytes:
    """Return an uncompressed layer tar holding files, and the links to them, at their paths."""
    entries: dict[str, tuple[str, str]] = {}
    for path in files:
        collect(path, entries)
    directories: set[str] = set()
    for full in entries:
        parent = Path(full.lstrip("/")).parent
        while str(parent) != ".":
            directories.add(str(parent))
            parent = parent.parent

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as layer:
        for directory in sorted(directories):
            info = tarfile.TarInfo(directory)
            info.type = tarfile.DIRTYPE
            info.mode = 0o755
            add_entry(layer, info)
        for name in MERGED_USR_LINKS:
            if os.path.islink(f"/{name}"):
                info = tarfile.TarInfo(name)
                info.type = tarfile.SYMTYPE
                info.linkname = os.readlink(f"/{name}")
                add_entry(layer, info)
        tmp = tarfile.TarInfo("tmp")
        tmp.type = tarfile.DIRTYPE
        tmp.mode = 0o1777
        add_entry(layer, tmp)
        for full in sorted(entries):
            kind, value = entries[full]
            info = tarfile.TarInfo(full.lstrip("/"))
            if kind == "link":
                info.type = tarfile.SYMTYPE
                info.linkname = value
                add_entry(layer, info)
                continue
            data = Path(value).read_bytes()
            info.size = len(data)
            info.mode = 0o755
            add_entry(layer, info, data)
    return buffer.getvalue()


def build_archive(tag: str, output: Path) -> None:
    layer = build_layer(image_files())
    diff_id = hashlib.sha256(layer).hexdigest()
    config = {
        "architecture": {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, os.uname().machine),
        "os": "linux",
        "created": "1970-01-01T00:00:00Z",
        "config": {"Cmd": ["/bin/sh"], "Env": ["PATH=/usr/bin:/bin"]},
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{diff_id}"]},
        "history": [{"created": "1970-01-01T00:00:00Z",
                     "created_by": "molecule/docker/files/build_verify_image.py"}],
    }
    config_bytes = json.dumps(config, sort_keys=True).encode()
    config_name = f"{hashlib.sha256(config_bytes).hexdigest()}.json"
    manifest = [{"Config": config_name, "RepoTags": [tag], "Layers": [f"{diff_id}/layer.tar"]}]
    output.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(output, mode="w", format=tarfile.GNU_FORMAT) as archive:
        for name, data in [
            (config_name, config_bytes),
            (f"{diff_id}/layer.tar", layer),
            ("manifest.json", json.dumps(manifest).encode()),
        ]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            add_entry(archive, info, data)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", required=True, type=Path, help="archive file to write")
    parser.add_argument("--tag", required=True, help="image name:tag stored in the archive")
    args = parser.parse_args(argv)
    build_archive(args.tag, args.output)
    print(f"build_verify_image: wrote {args.tag} to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
