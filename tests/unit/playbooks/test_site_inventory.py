"""Inventory checks that playbooks/site.yml runs on the controller before any host."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def run_site(inventory: Path) -> subprocess.CompletedProcess:
    bin_dir = Path(sys.executable).parent
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
               PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    return subprocess.run(
        [str(bin_dir / "ansible-playbook"), str(ROOT / "playbooks" / "site.yml"), "-i", str(inventory)],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )


@pytest.mark.parametrize("text", [
    "all:\n  hosts: {}\n",
    "all:\n  children:\n    spark_master:\n      hosts:\n        master.example.invalid:\n",
    "all:\n  children:\n    spark_workers:\n      hosts:\n        worker.example.invalid:\n",
])
def test_site_rejects_missing_groups(tmp_path: Path, text: str) -> None:
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(text)

    result = run_site(inventory)

    assert result.returncode != 0
    assert "must put one host" in result.stdout
    assert "inventory/single_host.example.yml" in result.stdout
    assert "PLAY [Install Docker and Compose" not in result.stdout
    assert inventory.read_text() == text
