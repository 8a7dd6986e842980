"""Unit tests for the benchmark helpers that need no lab: statistics, parsing, tables.

Run with `.venv/bin/python -m pytest bench/tests`. No timing is asserted.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import _common as bench  # noqa: E402
import scale  # noqa: E402

RECAP = """\
PLAY RECAP *********************************************************************
lab-1                      : ok=41   changed=3    unreachable=0    failed=0    skipped=12   rescued=0    ignored=0
lab-2                      : ok=38   changed=0    unreachable=1    failed=2    skipped=9    rescued=1    ignored=0
"""


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([3.0], (3.0, 3.0, 3.0)),
        ([5.0, 1.0, 3.0], (1.0, 3.0, 5.0)),
        ([4.0, 1.0, 2.0, 3.0], (1.0, 2.5, 4.0)),
    ],
)
def test_summarize_min_median_max(values, expected):
    result = bench.summarize(values)
    assert (result["min"], result["median"], result["max"]) == expected
    assert result["n"] == len(values)


def test_summarize_empty_list():
    result = bench.summarize([])
    assert result["n"] == 0
    assert result["median"] is None


@pytest.mark.parametrize(
    ("host", "counter", "expected"),
    [
        ("lab-1", "ok", 41),
        ("lab-1", "changed", 3),
        ("lab-1", "skipped", 12),
        ("lab-2", "unreachable", 1),
        ("lab-2", "failed", 2),
        ("lab-2", "rescued", 1),
    ],
)
def test_parse_recap_counters(host, counter, expected):
    assert bench.parse_recap("TASK [x]\nok: [lab-1]\n" + RECAP)[host][counter] == expected


def test_playbook_run_sums_hosts():
    run = bench.PlaybookRun(1.0, bench.parse_recap(RECAP))
    assert run.changed == 3
    assert run.failed == 3


def test_parse_recap_without_recap():
    assert bench.parse_recap("ERROR! the playbook could not be found") == {}


@pytest.mark.parametrize(
    ("name", "command", "expected"),
    [
        ("/gpu-spark-master", '"bash" ["x", "org.apache.spark.deploy.master.Master"]', "master"),
        ("/gpu-spark-worker-1", '"bash" ["org.apache.spark.deploy.worker.Worker", "spark://m:7077"]', "worker"),
        ("/spark_spark-master_1", '"/bin/sh" ["-c", "exec run"]', "master"),
        ("/bench-hand-start_spark-worker-2_1", '"/bin/sh" ["-c", "exec run"]', "worker"),
        ("/gpu-spark-verify", '"python3" ["job.py", "--master", "spark://m:7077"]', None),
    ],
)
def test_container_kind_cases(name, command, expected):
    assert bench.container_kind(name, command) == expected


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (None, 0),
        ({"workers": []}, 0),
        ({"workers": [{"state": "ALIVE"}, {"state": "DEAD"}, {"state": "ALIVE"}]}, 2),
    ],
)
def test_alive_workers_counts(state, expected):
    assert bench.alive_workers(state) == expected


@pytest.mark.parametrize(
    ("xs", "ys", "expected"),
    [
        ([1.0, 2.0, 4.0], [10.0, 10.0, 10.0], 0.0),
        ([1.0, 2.0, 4.0], [10.0, 12.0, 16.0], 2.0),
    ],
)
def test_slope_least_squares(xs, ys, expected):
    assert scale.slope(xs, ys) == pytest.approx(expected)


@pytest.mark.parametrize(
    "item",
    ["PIPELINING=true", "ANSIBLE_PIPELINING", "=1"],
)
def test_ansible_env_rejects_invalid(item):
    with pytest.raises(bench.BenchError):
        bench.ansible_env([item])


def test_ansible_env_accepts_setting():
    assert bench.ansible_env(["ANSIBLE_FORKS=5"]) == {"ANSIBLE_FORKS": "5"}


def test_table_lines_shows_verdicts():
    figure = bench.Figure("demo", "Demo")
    figure.add("deploy", [1.0, 2.0, 3.0], "s")
    figure.target("fast enough", True, "2.0 s")
    figure.target("not measured", None, "no site.yml")
    data = {"figure": "demo", "rows": figure.rows, "targets": figure.targets}
    lines = bench.table_lines([data])
    assert lines[2].split() == ["demo", "deploy", "3", "1.0", "2.0", "3.0", "s"]
    assert "demo: MET: fast enough (2.0 s)" in lines
    assert "demo: NOT MEASURED: not measured (no site.yml)" in lines
