"""Before/after figures for Ansible settings: site.yml re-runs under each setting.

Deploys one lab (1 master host, 2 worker hosts) with the project's
ansible.cfg, then re-runs site.yml under each variant in turn, alternating
the order between repetitions. A variant is a set of Ansible settings
given as environment variables; "ansible.cfg" is the project's own file
unchanged. The default comparison switches pipelining off, which is
Ansible's default, against the project's setting (on).

    .venv/bin/python bench/tuning.py --variant "no pipelining=ANSIBLE_PIPELINING=false"

This figure is not part of run_all.py: it exists to check a tuning.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as bench  # noqa: E402  (sibling module, not an installed package)

FIGURE = "tuning"
WORKER_HOSTS = 2
DEFAULT_VARIANTS = ["no pipelining=ANSIBLE_PIPELINING=false"]


def parse_variant(text: str) -> tuple[str, dict[str, str]]:
    """Parse "NAME=ANSIBLE_A=1,ANSIBLE_B=2" into a name and its settings."""
    name, sep, settings = text.partition("=")
    if not sep or not settings:
        raise bench.BenchError(f"invalid --variant {text!r}: expected NAME=ANSIBLE_SETTING=VALUE[,...]")
    return name, bench.ansible_env(settings.split(","))


def measure(lab: bench.Lab, repeat: int, variants: list[tuple[str, dict[str, str]]]) -> dict:
    figure = bench.Figure(FIGURE, "Tuning: site.yml re-run time under Ansible settings")
    times: dict[str, list[float]] = {name: [] for name, _settings in variants}
    for repetition in range(1, repeat + 1):
        order = variants if repetition % 2 else list(reversed(variants))
        for name, settings in order:
            slug = "".join(c if c.isalnum() else "-" for c in name)
            result = bench.run_site(lab, f"tuning-{slug}-{repetition}", settings)
            times[name].append(result.seconds)
    for name, settings in variants:
        described = ", ".join(f"{key}={value}" for key, value in settings.items()) or "unchanged"
        figure.add(f"re-run, {name} ({described})", times[name], "s")
    return bench.finish(figure)


def main() -> None:
    parser = bench.base_parser(__doc__.splitlines()[0], repeat=1)
    parser.add_argument("--variant", action="append", metavar="NAME=ANSIBLE_SETTING=VALUE[,...]",
                        help='a set of settings to compare with ansible.cfg (repeatable; default: '
                             '"no pipelining=ANSIBLE_PIPELINING=false")')
    args = parser.parse_args()

    def body() -> None:
        variants = [("ansible.cfg", {})] + [parse_variant(text) for text in args.variant or DEFAULT_VARIANTS]
        bench.prepare_inputs(double=True)
        with bench.Lab("tuning", WORKER_HOSTS + 1) as lab:
            bench.run_site(lab, "tuning-deploy")
            measure(lab, args.repeat, variants)

    bench.main_wrapper(body)


if __name__ == "__main__":
    main()
