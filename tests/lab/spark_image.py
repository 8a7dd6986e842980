"""Build the lab's Spark image and save it as an archive, without a registry.

The image ``gpu-spark-lab/spark:<version>`` contains a Debian minbase system,
a Java 17 runtime, python3, procps and the Spark runtime that the pyspark
package from PyPI ships. ``docker save`` writes it to
``.lab/images/spark-<version>.tar``, which the spark_gpu_cluster role
copies to each host and loads there, as an air-gapped site would.

Image and archive are reused while they are current: the image carries a
label with a digest of its build inputs, and a file next to the archive
records the ID of the image it was saved from.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import lab  # noqa: E402  (sibling module, not an installed package)

# The newest 3.5.x release of pyspark on PyPI when this was written.
DEFAULT_PYSPARK_VERSION = "3.5.9"
IMAGE_REPOSITORY = "gpu-spark-lab/spark"
BASE_IMAGE = "gpu-spark-lab/base:debian12"
BASE_CODENAME = "bookworm"
DOCKERFILE_DIR = Path(__file__).resolve().parent / "spark_image"
CA_CERTIFICATE_DIR = Path("/usr/local/share/ca-certificates")
INPUT_DIGEST_LABEL = "io.gpu-spark.build-inputs"


def log(message: str) -> None:
    print(f"spark_image: {message}", file=sys.stderr, flush=True)


def image_id(ref: str) -> str | None:
    result = lab.docker("image", "inspect", "--format", "{{.Id}}", ref, check=False)
    return result.stdout.strip() if result.returncode == 0 else None


def image_label(ref: str, label: str) -> str | None:
    result = lab.docker("image", "inspect", "--format",
                        f'{{{{index .Config.Labels "{label}"}}}}', ref, check=False)
    return result.stdout.strip() if result.returncode == 0 else None


def build_base_image(force: bool) -> None:
    """Build a plain (non-systemd) Debian minbase image to build on."""
    if image_id(BASE_IMAGE) and not force:
        log(f"base image {BASE_IMAGE} exists, reusing it")
        return
    if shutil.which("debootstrap") is None:
        raise SystemExit("spark_image: debootstrap not found; install it with `apt-get install debootstrap`")
    mirror = lab.find_apt_mirror(BASE_CODENAME)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="spark-base-") as tmp:
        root = Path(tmp) / "root"
        log(f"debootstrap {BASE_CODENAME} (minbase) into {root}")
        lab.run(["debootstrap", "--variant=minbase", BASE_CODENAME, str(root), mirror], capture=True)
        (root / "etc/resolv.conf").write_text("")
        (root / "etc/apt/apt.conf.d/90lab").write_text(
            'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n'
        )
        tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
        lab.run(["docker", "import", "--change", 'CMD ["/bin/bash"]', "-", BASE_IMAGE],
                stdin=tar.stdout, capture=True)
        tar.wait()
    log(f"built {BASE_IMAGE} in {time.monotonic() - started:.0f} s")


def build_inputs_digest(version: str) -> str:
    """Digest of everything that decides the image's content."""
    digest = hashlib.sha256()
    digest.update(version.encode())
    digest.update((image_id(BASE_IMAGE) or "").encode())
    for path in sorted(DOCKERFILE_DIR.rglob("*")):
        if path.is_file():
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def build_spark_image(version: str, force: bool) -> str:
    ref = f"{IMAGE_REPOSITORY}:{version}"
    digest = build_inputs_digest(version)
    if not force and image_label(ref, INPUT_DIGEST_LABEL) == digest:
        log(f"image {ref} is current, reusing it")
        return ref
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="spark-image-") as tmp:
        context = Path(tmp)
        shutil.copy(DOCKERFILE_DIR / "Dockerfile", context / "Dockerfile")
        # The certificates go into the build context only; the Dockerfile
        # copies them into the pip stage, never into the final image.
        certificates = context / "ca-certificates"
        certificates.mkdir()
        if CA_CERTIFICATE_DIR.is_dir():
            for cert in CA_CERTIFICATE_DIR.glob("*.crt"):
                shutil.copy(cert, certificates / cert.name)
        log(f"building {ref} (pyspark {version})")
        env = dict(os.environ, DOCKER_BUILDKIT="0")
        result = subprocess.run(
            ["docker", "build", "--tag", ref,
             "--build-arg", f"BASE_IMAGE={BASE_IMAGE}",
             "--build-arg", f"PYSPARK_VERSION={version}",
             "--label", f"{INPUT_DIGEST_LABEL}={digest}",
             str(context)],
            env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, check=False,
        )
        if result.returncode != 0:
            sys.stderr.write(result.stdout[-6000:])
            raise SystemExit(f"spark_image: docker build of {ref} failed (rc={result.returncode})")
    log(f"built {ref} in {time.monotonic() - started:.0f} s")
    return ref


def save_archive(ref: str, archive: Path, force: bool) -> None:
    """Write ``docker save`` output unless the archive already contains this image."""
    current_id = image_id(ref)
    id_file = archive.with_name(archive.name + ".image-id")
    if (not force and archive.is_file() and id_file.is_file()
            and id_file.read_text().strip() == current_id):
        log(f"archive {archive} is current, reusing it")
        return
    archive.parent.mkdir(parents=True, exist_ok=True)
    partial = archive.with_name(archive.name + ".partial")
    started = time.monotonic()
    lab.docker("save", "--output", str(partial), ref)
    partial.replace(archive)
    id_file.write_text(f"{current_id}\n")
    size_mib = archive.stat().st_size / 2**20
    log(f"saved {ref} to {archive} ({size_mib:.0f} MiB) in {time.monotonic() - started:.0f} s")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", default=DEFAULT_PYSPARK_VERSION,
                        help=f"pyspark release to install (default: {DEFAULT_PYSPARK_VERSION})")
    parser.add_argument("--output-dir", type=Path,
                        default=Path(os.environ.get("LAB_DIR", ".lab")) / "images",
                        help="folder for the image archive (default: $LAB_DIR/images or .lab/images)")
    parser.add_argument("--force", action="store_true",
                        help="rebuild the base image, the Spark image and the archive")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    build_base_image(args.force)
    ref = build_spark_image(args.version, args.force)
    archive = args.output_dir / f"spark-{args.version}.tar"
    save_archive(ref, archive, args.force)
    print(f"image: {ref}")
    print(f"archive: {archive.resolve()}")


if __name__ == "__main__":
    main()
