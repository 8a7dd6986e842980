"""Lay out the GPU test double's packages as a signed flat apt repository.

The layout copies NVIDIA's libnvidia-container repository, so the
nvidia_runtime role uses it through `nvidia_runtime_repo_base_url` alone:

    ROOT/gpgkey                          ASCII-armored public key
    ROOT/stable/deb/<arch>/Packages      with the .deb files beside it
    ROOT/stable/deb/<arch>/Release       hashes of Packages
    ROOT/stable/deb/<arch>/InRelease     Release, clear-signed

The key is a throwaway one generated in a temporary GnuPG home for each
run; only its public half is kept. Serve ROOT over HTTP (for example
`python3 -m http.server --bind 127.0.0.1 --directory ROOT`).

    python3 tests/nvidia_double/apt_repo.py --packages DIR --output ROOT
"""

from __future__ import annotations

import argparse
import email.utils
import gzip
import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

KEY_USER_ID = "gpu-spark GPU test double repository <gpu-spark-test-double@localhost>"


def package_stanza(deb: Path) -> str:
    control = subprocess.run(
        ["dpkg-deb", "--field", str(deb)], check=True, capture_output=True, text=True,
    ).stdout.rstrip("\n")
    data = deb.read_bytes()
    return "\n".join([
        control,
        f"Filename: ./{deb.name}",
        f"Size: {len(data)}",
        f"MD5sum: {hashlib.md5(data).hexdigest()}",
        f"SHA1: {hashlib.sha1(data).hexdigest()}",
        f"SHA256: {hashlib.sha256(data).hexdigest()}",
    ]) + "\n"


def release_text(folder: Path, arch: str, index_names: list[str]) -> str:
    lines = [
        "Origin: gpu-spark GPU test double",
        "Label: gpu-spark GPU test double",
        f"Architectures: {arch} all",
        f"Date: {email.utils.formatdate(usegmt=True)}",
    ]
    for field, algorithm in (("MD5Sum", hashlib.md5), ("SHA256", hashlib.sha256)):
        lines.append(f"{field}:")
        for name in index_names:
            data = (folder / name).read_bytes()
            lines.append(f" {algorithm(data).hexdigest()} {len(data)} {name}")
    return "\n".join(lines) + "\n"


def gpg(home: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["gpg", "--homedir", str(home), "--batch", "--yes", "--pinentry-mode", "loopback",
         "--passphrase", "", *args],
        check=True, capture_output=True, text=True,
    )


def build_repository(packages: Path, output: Path, channel: str, arch: str) -> Path:
    debs = sorted(packages.glob("*.deb"))
    if not debs:
        raise SystemExit(f"apt_repo.py: no .deb files in {packages}")
    if shutil.which("gpg") is None:
        raise SystemExit("apt_repo.py: gpg not found; install the gnupg package")
    folder = output / channel / "deb" / arch
    folder.mkdir(parents=True, exist_ok=True)
    for deb in debs:
        shutil.copyfile(deb, folder / deb.name)
    stanzas = "\n".join(package_stanza(folder / deb.name) for deb in debs)
    (folder / "Packages").write_text(stanzas)
    (folder / "Packages.gz").write_bytes(gzip.compress(stanzas.encode(), mtime=0))
    (folder / "Release").write_text(release_text(folder, arch, ["Packages", "Packages.gz"]))

    with tempfile.TemporaryDirectory(prefix="apt-repo-gnupg-") as tmp:
        home = Path(tmp)
        home.chmod(0o700)
        gpg(home, "--quick-generate-key", KEY_USER_ID, "default", "sign", "never")
        gpg(home, "--clearsign", "--output", str(folder / "InRelease"), str(folder / "Release"))
        gpg(home, "--armor", "--detach-sign", "--output", str(folder / "Release.gpg"), str(folder / "Release"))
        public_key = gpg(home, "--armor", "--export", KEY_USER_ID).stdout
    (output / "gpgkey").write_text(public_key)
    return folder


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", required=True, type=Path, help="folder with the .deb files")
    parser.add_argument("--output", required=True, type=Path, help="repository root to create")
    parser.add_argument("--channel", default="stable", help="release channel folder (default: stable)")
    parser.add_argument("--arch", default="amd64", help="architecture folder, as apt's $(ARCH) (default: amd64)")
    args = parser.parse_args(argv)
    print(build_repository(args.packages, args.output, args.channel, args.arch))
    return 0


if __name__ == "__main__":
    sys.exit(main())
