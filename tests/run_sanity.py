"""Run `ansible-test sanity` on a copy of the collection.

ansible-test requires the working directory to be
.../ansible_collections/<namespace>/<name>, so the files git tracks (and
untracked files it does not ignore) are copied into such a tree first.
The link collections/ansible_collections/gpu_spark/cluster is left out
because it points back at the checkout itself.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXCLUDED_PREFIXES = ("collections/",)
# ansible-test keeps its sanity virtual environments and download cache
# under ~/.ansible/test; a project-local HOME keeps them out of the user's.
TEST_HOME = ROOT / ".cache" / "ansible-test-home"
PIP_BOOTSTRAP_VERSIONS = ("24.2", "24.3", "25.0", "25.1")


def seed_pip_bootstrap() -> None:
    """Put the offline get-pip stand-in where ansible-test looks for it."""
    cache = TEST_HOME / ".ansible" / "test" / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    for version in PIP_BOOTSTRAP_VERSIONS:
        target = cache / f"get_pip_{version.replace('.', '_')}.py"
        shutil.copyfile(ROOT / "tests" / "sanity_get_pip.py", target)


def collection_files() -> list[str]:
    listing = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout
    return sorted(
        name for name in set(listing.split("\0"))
        if name and not name.startswith(EXCLUDED_PREFIXES) and (ROOT / name).is_file()
    )


def main() -> int:
    extra_args = sys.argv[1:]
    with tempfile.TemporaryDirectory(prefix="sanity-") as tmp:
        target = Path(tmp) / "ansible_collections" / "gpu_spark" / "cluster"
        for name in collection_files():
            destination = target / name
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, destination, follow_symlinks=False)
        # ansible-test only looks at files under version control when a
        # .git folder is present; a fresh repository makes that list ours.
        subprocess.run(["git", "init", "-q"], cwd=target, check=True)
        subprocess.run(["git", "add", "-A"], cwd=target, check=True)
        python = f"{sys.version_info.major}.{sys.version_info.minor}"
        cmd = [
            str(Path(sys.executable).parent / "ansible-test"), "sanity",
            "--python", python, "--color", "no", *extra_args,
        ]
        seed_pip_bootstrap()
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(Path(tmp)), HOME=str(TEST_HOME))
        print(f"run_sanity: {' '.join(cmd)} (in {target})", flush=True)
        return subprocess.run(cmd, cwd=target, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
