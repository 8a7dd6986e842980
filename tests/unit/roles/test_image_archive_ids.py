"""The controller-side reader of `docker save` archives in spark_gpu_cluster.

The archives are built here with the layouts Docker writes: the classic
image store (manifest.json only, Config named after the image ID) and the
containerd image store of Docker 25+ (OCI layout with index.json).
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "roles" / "spark_gpu_cluster" / "files" / "image_archive_ids.py"
CONFIG_ID = "a" * 64
INDEX_ID = "b" * 64


def add_member(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    archive.addfile(info, io.BytesIO(data))


def write_archive(path: Path, members: dict[str, object], mode: str = "w") -> Path:
    with tarfile.open(path, mode) as archive:
        # A layer before the JSON members, as in Docker's archives.
        add_member(archive, "layer.tar", b"\0" * (4 * 1024 * 1024))
        for name, content in members.items():
            add_member(archive, name, json.dumps(content).encode())
    return path


def run(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), str(path)],
                          capture_output=True, text=True, check=False)


def test_classic_store_layout(tmp_path: Path) -> None:
    archive = write_archive(tmp_path / "spark.tar", {
        "manifest.json": [{"Config": f"{CONFIG_ID}.json", "RepoTags": ["site/spark:3.5.9"], "Layers": []}],
    })

    result = run(archive)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"ids": [CONFIG_ID], "tags": ["site/spark:3.5.9"]}


def test_oci_layout_digests(tmp_path: Path) -> None:
    archive = write_archive(tmp_path / "spark.tar", {
        "manifest.json": [{"Config": f"blobs/sha256/{CONFIG_ID}", "RepoTags": ["site/spark:3.5.9", "site/spark:latest"]}],
        "index.json": {"manifests": [{"digest": f"sha256:{INDEX_ID}"}]},
    })

    result = run(archive)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "ids": [CONFIG_ID, INDEX_ID], "tags": ["site/spark:3.5.9", "site/spark:latest"]}


def test_gzip_compressed_archive(tmp_path: Path) -> None:
    archive = write_archive(tmp_path / "spark.tar.gz", {
        "manifest.json": [{"Config": f"{CONFIG_ID}.json", "RepoTags": None}],
    }, mode="w:gz")

    result = run(archive)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"ids": [CONFIG_ID], "tags": []}


@pytest.mark.parametrize("members", [
    {},
    {"manifest.json": [{"RepoTags": ["site/spark:3.5.9"]}]},
])
def test_archive_without_image_id(tmp_path: Path, members: dict) -> None:
    archive = write_archive(tmp_path / "other.tar", members)

    result = run(archive)

    assert result.returncode == 1
    assert str(archive) in result.stderr
    assert "docker save -o FILE IMAGE" in result.stderr


def test_not_a_tar_file(tmp_path: Path) -> None:
    path = tmp_path / "spark.tar"
    path.write_text("not a tar file\n")

    result = run(path)

    assert result.returncode == 1
    assert f"cannot read {path}" in result.stderr
    assert path.read_text() == "not a tar file\n"


def test_missing_file(tmp_path: Path) -> None:
    result = run(tmp_path / "missing.tar")

    assert result.returncode == 1
    assert "missing.tar" in result.stderr
