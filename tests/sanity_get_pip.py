"""Offline stand-in for pip's get-pip.py bootstrap script, used by ansible-test.

ansible-test creates its sanity virtual environments without pip and then
runs a get-pip.py that it downloads from a host outside PyPI. When that
host is unreachable, its error message names the cache path where the
script can be saved instead. This
script does the same job with what the running Python already has: it
imports pip from the wheel that ensurepip bundles and runs
`pip install <arguments>`, which then fetches the requested pip version
from the configured package index.
"""

import glob
import os
import sys

import ensurepip


def main() -> int:
    bundled = os.path.join(os.path.dirname(ensurepip.__file__), "_bundled")
    wheels = sorted(glob.glob(os.path.join(bundled, "pip-*.whl")))
    if not wheels:
        print(f"sanity_get_pip: no pip wheel in {bundled}; install pip for this Python",
              file=sys.stderr)
        return 1
    sys.path.insert(0, wheels[-1])
    from pip._internal.cli.main import main as pip_main  # pylint: disable=import-outside-toplevel

    # get-pip.py accepts these two flags, but pip itself rejects them.
    arguments = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
    extra = []
    if "--no-setuptools" not in sys.argv:
        extra.append("setuptools")
    if "--no-wheel" not in sys.argv:
        extra.append("wheel")
    return pip_main(["install", *arguments, *extra])


if __name__ == "__main__":
    sys.exit(main())
