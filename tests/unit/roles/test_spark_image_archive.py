"""spark_gpu_cluster's image.yml entry point with an archive that lacks the configured image.

The play runs against localhost with a local connection. The host's Docker
is never asked to load anything: the check fails before the archive is
copied, so neither the archive nor the host's archive folder changes.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
PLAYBOOK = """\
- name: Put the Spark image on the host
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Run the role's image entry point
      ansible.builtin.include_role:
        name: gpu_spark.cluster.spark_gpu_cluster
        tasks_from: image.yml
"""


def write_archive(path: Path, tags: list[str]) -> bytes:
    manifest = json.dumps([{"Config": f"{'c' * 64}.json", "RepoTags": tags, "Layers": []}]).encode()
    with tarfile.open(path, "w") as archive:
        info = tarfile.TarInfo("manifest.json")
        info.size = len(manifest)
        archive.addfile(info, io.BytesIO(manifest))
    return path.read_bytes()


def test_archive_without_configured_tag(tmp_path: Path) -> None:
    archive = tmp_path / "spark.tar"
    content = write_archive(archive, ["other/spark:1.0"])
    host_dir = tmp_path / "host-images"
    playbook = tmp_path / "image.yml"
    playbook.write_text(PLAYBOOK)
    bin_dir = Path(sys.executable).parent
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
               PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")

    result = subprocess.run(
        [str(bin_dir / "ansible-playbook"), str(playbook), "-i", "localhost,",
         "-e", f"ansible_python_interpreter={sys.executable}",
         "-e", "spark_gpu_cluster_image_source=archive",
         "-e", "spark_gpu_cluster_image=site/spark:3.5.9",
         "-e", f"spark_gpu_cluster_image_archive={archive}",
         "-e", f"spark_gpu_cluster_image_archive_dir={host_dir}"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )

    assert result.returncode != 0
    assert "spark_gpu_cluster_image is site/spark:3.5.9" in result.stdout
    assert f"{archive} contains other/spark:1.0" in result.stdout
    assert "docker save -o spark.tar site/spark:3.5.9" in result.stdout
    assert not host_dir.exists()
    assert archive.read_bytes() == content
