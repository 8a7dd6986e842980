"""Build the GPU test double's .deb packages with dpkg-deb.

The toolkit packages carry the real NVIDIA Container Toolkit package
names and dependencies, so that the nvidia_runtime role installs them
unchanged, but every program in them is a stand-in from this folder (see
standin.py). The package gpu-spark-test-double-driver stands in for the
driver: it holds the fake nvidia-smi (fake_nvidia_smi.py) and must be
installed before the role runs, as a real driver would be. Nothing in
them touches a GPU.

    python3 tests/nvidia_double/build.py --output DIR
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
VERSION = "1.17.8-1+gpusparktestdouble"
MAINTAINER = "gpu_spark.cluster maintainers <gpu-spark-test-double@localhost>"
# Fixed file times (2023-11-14) make rebuilt packages byte-identical, so a
# copy to a host stays unchanged on the next run.
SOURCE_DATE_EPOCH = "1700000000"

DOC = """GPU test double of the gpu_spark.cluster collection.

This package carries the name of an NVIDIA package, but any program in
it is a stand-in that records how it was called in
/var/log/gpu-spark-test-double/calls.jsonl; the runtime stand-in hands
containers over to runc. It provides no GPU access. Remove it before
installing the real NVIDIA Container Toolkit.
"""

DRIVER_PACKAGE = "gpu-spark-test-double-driver"

# postinst of the package holding the fake nvidia-smi: the host name is
# written down once, so that a container that bind-mounts
# /etc/gpu-spark-test-double reports the host's GPU UUIDs.
POSTINST_DRIVER = """#!/bin/sh
set -e
mkdir -p /var/log/gpu-spark-test-double /etc/gpu-spark-test-double
if [ ! -s /etc/gpu-spark-test-double/hostname ]; then
    hostname > /etc/gpu-spark-test-double/hostname
fi
exit 0
"""

# Interpreter lines written in front of each installed script. The sources
# carry none, so that ansible-test's shebang check accepts them. The fake
# nvidia-smi looks python3 up on PATH because container images keep it in
# different places.
SHEBANGS = {
    "standin.py": "#!/usr/bin/python3\n",
    "fake_nvidia_smi.py": "#!/usr/bin/env python3\n",
}

# name -> (Depends, {installed path: source file in this folder}, postinst)
PACKAGES = {
    # Stands in for the NVIDIA driver, which provides nvidia-smi and is a
    # prerequisite of the nvidia_runtime role, so it is installed before
    # the role runs. Its name says what it is: no real package is named so.
    DRIVER_PACKAGE: (
        "python3",
        {"opt/gpu-spark-test-double/bin/nvidia-smi": "fake_nvidia_smi.py"},
        POSTINST_DRIVER,
    ),
    "libnvidia-container1": ("", {}, None),
    "libnvidia-container-tools": (
        f"libnvidia-container1 (>= {VERSION}), python3",
        {"usr/bin/nvidia-container-cli": "standin.py"},
        None,
    ),
    "nvidia-container-toolkit-base": (
        "python3",
        {
            "usr/bin/nvidia-ctk": "standin.py",
            "usr/bin/nvidia-container-runtime": "standin.py",
        },
        None,
    ),
    "nvidia-container-toolkit": (
        f"nvidia-container-toolkit-base (= {VERSION}), libnvidia-container-tools (>= {VERSION}), python3",
        {"usr/bin/nvidia-container-runtime-hook": "standin.py"},
        None,
    ),
}


# Retired packages that old recipes install, built into the subfolder
# `retired/` so that a role installing every .deb of the output folder
# never picks them up. Tests install them to check that the role replaces them.
RETIRED_PACKAGES = {
    "nvidia-docker2": "2.13.0-1+gpusparktestdouble",
}


def describe(name: str) -> str:
    if name in RETIRED_PACKAGES:
        return f"GPU test double standing in for the retired {name} package"
    if name == DRIVER_PACKAGE:
        return "GPU test double standing in for the NVIDIA driver's nvidia-smi"
    return f"GPU test double standing in for {name}"


def control_text(name: str, depends: str, version: str = VERSION) -> str:
    lines = [
        f"Package: {name}",
        f"Version: {version}",
        "Architecture: all",
        f"Maintainer: {MAINTAINER}",
        "Section: utils",
        "Priority: optional",
    ]
    if depends:
        lines.append(f"Depends: {depends}")
    lines += [
        f"Description: {describe(name)}",
        " Part of the GPU test double of the gpu_spark.cluster collection, for tests",
        " on machines without a GPU. It provides no GPU access.",
    ]
    return "\n".join(lines) + "\n"


def build_package(name: str, output: Path, work: Path) -> Path:
    if name in RETIRED_PACKAGES:
        depends, files, postinst = "", {}, None
        version = RETIRED_PACKAGES[name]
    else:
        depends, files, postinst = PACKAGES[name]
        version = VERSION
    root = work / name
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(control_text(name, depends, version))
    if postinst:
        script = root / "DEBIAN" / "postinst"
        script.write_text(postinst)
        script.chmod(0o755)
    for target, source in files.items():
        destination = root / target
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_text(SHEBANGS[source] + (HERE / source).read_text(encoding="utf-8"), encoding="utf-8")
        destination.chmod(0o755)
    doc = root / "usr/share/doc" / name / "README.test-double"
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(DOC)
    for path in root.rglob("*"):
        if path.is_dir():
            path.chmod(0o755)
    deb = output / f"{name}_{version}_all.deb"
    subprocess.run(
        ["dpkg-deb", "--root-owner-group", "-Zgzip", "--build", str(root), str(deb)],
        check=True, capture_output=True, text=True,
        env=dict(os.environ, SOURCE_DATE_EPOCH=SOURCE_DATE_EPOCH),
    )
    return deb


def build_all(output: Path) -> list[Path]:
    if shutil.which("dpkg-deb") is None:
        raise SystemExit("build.py: dpkg-deb not found; install the dpkg package")
    (output / "retired").mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="nvidia-double-") as tmp:
        debs = [build_package(name, output, Path(tmp)) for name in PACKAGES]
        debs += [build_package(name, output / "retired", Path(tmp)) for name in RETIRED_PACKAGES]
    return debs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", required=True, type=Path, help="folder for the .deb files")
    args = parser.parse_args(argv)
    for deb in build_all(args.output):
        print(deb)
    return 0


if __name__ == "__main__":
    sys.exit(main())
