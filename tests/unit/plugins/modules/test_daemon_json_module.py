"""Run the real daemon_json module on files under tmp_path.

Each test starts the module as a separate Python process with an argument
file, the way Ansible runs it on a target, so file writes, modes, owners,
links and atomic moves are real.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

COLLECTIONS_ROOT = Path(__file__).resolve().parents[4] / "collections"
MODULE = "ansible_collections.gpu_spark.cluster.plugins.modules.daemon_json"
PROJECT_ROOT = COLLECTIONS_ROOT.parent

ORIGINAL = (
    '{\n'
    '    "registry-mirrors": ["http://127.0.0.1:5000"],\n'
    '    "data-root": "/srv/docker",\n'
    '    "features": {"containerd-snapshotter": true}\n'
    '}\n'
)
RUNTIME = {"test-double-runtime": {"path": "/usr/bin/runc"}}


def run_module(tmp_path: Path, args: dict, check_mode: bool = False, diff: bool = False) -> dict:
    """Run the module once and return its JSON result with `rc` added."""
    module_args = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
    args_file = tmp_path / "module-args.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": module_args}))
    env = dict(os.environ, PYTHONPATH=str(COLLECTIONS_ROOT))
    completed = subprocess.run(
        [sys.executable, "-m", MODULE, str(args_file)],
        capture_output=True, text=True, env=env, cwd=tmp_path, check=False,
    )
    try:
        result = json.loads(completed.stdout)
    except json.JSONDecodeError as error:
        raise AssertionError(f"module printed no JSON: {completed.stdout!r} {completed.stderr!r}") from error
    result["rc"] = completed.returncode
    return result


@pytest.fixture(name="daemon_json")
def fixture_daemon_json(tmp_path: Path) -> Path:
    path = tmp_path / "docker" / "daemon.json"
    path.parent.mkdir()
    path.write_text(ORIGINAL)
    return path


def test_merge_keeps_existing_keys(tmp_path, daemon_json):
    result = run_module(tmp_path, {"path": str(daemon_json), "runtimes": RUNTIME, "cdi": True})
    written = json.loads(daemon_json.read_text())
    assert result["changed"] is True
    assert written == {
        "registry-mirrors": ["http://127.0.0.1:5000"],
        "data-root": "/srv/docker",
        "features": {"containerd-snapshotter": True, "cdi": True},
        "runtimes": RUNTIME,
    }
    assert list(written) == ["registry-mirrors", "data-root", "features", "runtimes"]
    assert result["config"] == written
    assert result["changed_keys"] == ["features.cdi", "runtimes"]
    assert result["restart_required"] is True
    assert result["created"] is False


def test_written_file_is_readable_json(tmp_path, daemon_json):
    run_module(tmp_path, {"path": str(daemon_json), "settings": {"debug": True}})
    text = daemon_json.read_text()
    assert text.endswith("}\n")
    assert '\n    "debug": true\n' in text


def test_second_run_changes_nothing(tmp_path, daemon_json):
    args = {"path": str(daemon_json), "runtimes": RUNTIME, "default_runtime": "test-double-runtime"}
    run_module(tmp_path, args)
    content = daemon_json.read_bytes()
    mtime = daemon_json.stat().st_mtime_ns
    second = run_module(tmp_path, args)
    assert second["changed"] is False
    assert second["restart_required"] is False
    assert second["changed_keys"] == []
    assert daemon_json.read_bytes() == content
    assert daemon_json.stat().st_mtime_ns == mtime


def test_check_mode_writes_nothing(tmp_path, daemon_json):
    mtime = daemon_json.stat().st_mtime_ns
    result = run_module(tmp_path, {"path": str(daemon_json), "settings": {"debug": True}}, check_mode=True)
    assert result["changed"] is True
    assert result["config"]["debug"] is True
    assert daemon_json.read_text() == ORIGINAL
    assert daemon_json.stat().st_mtime_ns == mtime
    assert sorted(os.listdir(daemon_json.parent)) == ["daemon.json"]


def test_check_mode_creates_nothing(tmp_path):
    path = tmp_path / "etc" / "docker" / "daemon.json"
    result = run_module(tmp_path, {"path": str(path), "cdi": True}, check_mode=True)
    assert result["changed"] is True
    assert result["created"] is True
    assert not path.parent.exists()


def test_diff_shows_before_after(tmp_path, daemon_json):
    result = run_module(tmp_path, {"path": str(daemon_json), "cdi": True}, diff=True)
    assert result["diff"]["before"] == ORIGINAL
    assert result["diff"]["after"] == daemon_json.read_text()
    assert result["diff"]["before_header"] == str(daemon_json)


def test_check_diff_predicts_write(tmp_path, daemon_json):
    args = {"path": str(daemon_json), "remove": ["data-root"]}
    predicted = run_module(tmp_path, args, check_mode=True, diff=True)
    run_module(tmp_path, args)
    assert predicted["diff"]["after"] == daemon_json.read_text()


def test_unchanged_run_has_no_diff(tmp_path, daemon_json):
    result = run_module(tmp_path, {"path": str(daemon_json), "settings": {"data-root": "/srv/docker"}}, diff=True)
    assert result["changed"] is False
    assert "diff" not in result


def test_missing_file_is_created(tmp_path):
    path = tmp_path / "etc" / "docker" / "daemon.json"
    result = run_module(tmp_path, {"path": str(path), "runtimes": RUNTIME})
    info = path.stat()
    assert result["created"] is True
    assert json.loads(path.read_text()) == {"runtimes": RUNTIME}
    assert stat.S_IMODE(info.st_mode) == 0o644
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o755
    if os.geteuid() == 0:
        assert (info.st_uid, info.st_gid) == (0, 0)


def test_missing_file_without_settings(tmp_path):
    path = tmp_path / "daemon.json"
    result = run_module(tmp_path, {"path": str(path)})
    assert result["changed"] is False
    assert not path.exists()


@pytest.mark.parametrize("content", ["", "  \n\t\n"], ids=["empty", "whitespace"])
def test_blank_file_counts_as_empty(tmp_path, content):
    path = tmp_path / "daemon.json"
    path.write_text(content)
    result = run_module(tmp_path, {"path": str(path), "cdi": True})
    assert result["changed"] is True
    assert json.loads(path.read_text()) == {"features": {"cdi": True}}


def test_blank_file_no_settings_untouched(tmp_path):
    path = tmp_path / "daemon.json"
    path.write_text("\n")
    result = run_module(tmp_path, {"path": str(path)})
    assert result["changed"] is False
    assert path.read_text() == "\n"


def test_backup_keeps_old_content(tmp_path, daemon_json):
    result = run_module(tmp_path, {"path": str(daemon_json), "cdi": True, "backup": True})
    backup = Path(result["backup_file"])
    assert backup.parent == daemon_json.parent
    assert backup.read_text() == ORIGINAL


def test_no_backup_without_change(tmp_path, daemon_json):
    result = run_module(tmp_path, {"path": str(daemon_json), "backup": True})
    assert "backup_file" not in result
    assert sorted(os.listdir(daemon_json.parent)) == ["daemon.json"]


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a file's owner needs root")
def test_write_keeps_mode_and_owner(tmp_path, daemon_json):
    os.chmod(daemon_json, 0o600)
    os.chown(daemon_json, 4321, 4322)
    run_module(tmp_path, {"path": str(daemon_json), "cdi": True})
    info = daemon_json.stat()
    assert stat.S_IMODE(info.st_mode) == 0o600
    assert (info.st_uid, info.st_gid) == (4321, 4322)
    assert json.loads(daemon_json.read_text())["features"]["cdi"] is True


def test_write_keeps_group_readable_mode(tmp_path, daemon_json):
    os.chmod(daemon_json, 0o640)
    run_module(tmp_path, {"path": str(daemon_json), "cdi": True})
    assert stat.S_IMODE(daemon_json.stat().st_mode) == 0o640


def test_symlink_target_is_updated(tmp_path, daemon_json):
    link_dir = tmp_path / "etc-docker"
    link_dir.mkdir()
    link = link_dir / "daemon.json"
    link.symlink_to(daemon_json)
    result = run_module(tmp_path, {"path": str(link), "cdi": True})
    assert result["changed"] is True
    assert link.is_symlink()
    assert os.readlink(link) == str(daemon_json)
    assert json.loads(daemon_json.read_text())["features"]["cdi"] is True
    assert sorted(os.listdir(link_dir)) == ["daemon.json"]


def test_dangling_symlink_creates_target(tmp_path):
    target = tmp_path / "real" / "daemon.json"
    link = tmp_path / "daemon.json"
    link.symlink_to(target)
    run_module(tmp_path, {"path": str(link), "cdi": True})
    assert link.is_symlink()
    assert json.loads(target.read_text()) == {"features": {"cdi": True}}


def test_no_temp_files_left(tmp_path, daemon_json):
    run_module(tmp_path, {"path": str(daemon_json), "settings": {"debug": True}})
    assert sorted(os.listdir(daemon_json.parent)) == ["daemon.json"]


def test_remove_deletes_key_paths(tmp_path, daemon_json):
    daemon_json.write_text(json.dumps({"default-runtime": "nvidia", "runtimes": {
        "nvidia": {"path": "/usr/bin/nvidia-container-runtime"}, "custom": {"path": "/usr/bin/runc"}}}))
    result = run_module(tmp_path, {"path": str(daemon_json), "remove": ["default-runtime", "runtimes.nvidia"]})
    assert json.loads(daemon_json.read_text()) == {"runtimes": {"custom": {"path": "/usr/bin/runc"}}}
    assert result["changed_keys"] == ["default-runtime", "runtimes.nvidia"]


def test_runtime_update_keeps_fields(tmp_path, daemon_json):
    daemon_json.write_text(json.dumps({"runtimes": {"nvidia": {
        "path": "/usr/bin/nvidia-container-runtime", "runtimeArgs": ["--log-level=debug"]}}}))
    run_module(tmp_path, {"path": str(daemon_json), "runtimes": {"nvidia": {"path": "/opt/bin/ncr"}}})
    assert json.loads(daemon_json.read_text())["runtimes"]["nvidia"] == {
        "path": "/opt/bin/ncr", "runtimeArgs": ["--log-level=debug"]}


def test_migrate_graph_to_data_root(tmp_path, daemon_json):
    daemon_json.write_text('{"debug": true, "graph": "/srv/old", "bip": "10.9.0.1/24"}')
    result = run_module(tmp_path, {"path": str(daemon_json), "migrate_graph": True})
    written = json.loads(daemon_json.read_text())
    assert list(written) == ["debug", "data-root", "bip"]
    assert written["data-root"] == "/srv/old"
    assert result["changed_keys"] == ["graph", "data-root"]


def test_graph_key_is_warned(tmp_path, daemon_json):
    daemon_json.write_text('{"graph": "/srv/old"}')
    result = run_module(tmp_path, {"path": str(daemon_json)})
    assert result["changed"] is False
    # ansible-core 2.19 returns warnings as structured events, so search their JSON text.
    assert "migrate_graph=true" in json.dumps(result["warnings"])


def test_validation_reports_skip_reason(tmp_path, daemon_json):
    result = run_module(tmp_path, {"path": str(daemon_json), "cdi": True})
    assert result["validation"] == "passed" or result["validation"].startswith("skipped: ")


def test_validation_disabled_is_reported(tmp_path, daemon_json):
    result = run_module(tmp_path, {"path": str(daemon_json), "cdi": True, "validate": False})
    assert result["validation"] == "skipped: validate=false"


# Files dockerd cannot load: (content, parts the error message must contain).
BAD_FILES = [
    pytest.param(b'{\n  "debug": true,\n}\n', ["line 3, column 1", "trailing comma"], id="trailing comma"),
    pytest.param(b'{"a": 1}\n{"b": 2}\n', ["line 2, column 1", "more than one JSON value"], id="two objects"),
    pytest.param(b'\xef\xbb\xbf{"debug": true}\n', ["line 1, column 1", "byte-order mark"], id="byte-order mark"),
    pytest.param(b'{\n  // mirror\n  "debug": true\n}\n', ["line 2, column 3", "no comments"], id="comment"),
    pytest.param(b'["debug"]\n', ["line 1, column 1", "top level is a JSON array"], id="root not object"),
    pytest.param(b'{"runtimes": ["nvidia"]}\n', ["'runtimes' is a JSON array"], id="runtimes not object"),
]


@pytest.mark.parametrize(("content", "expected_parts"), BAD_FILES)
def test_bad_file_left_untouched(tmp_path, content, expected_parts):
    path = tmp_path / "daemon.json"
    path.write_bytes(content)
    mtime = path.stat().st_mtime_ns
    result = run_module(tmp_path, {"path": str(path), "runtimes": RUNTIME, "backup": True})
    assert result["rc"] == 1
    assert result["failed"] is True
    assert result["msg"].startswith(str(path))
    for part in expected_parts:
        assert part in result["msg"]
    assert "left unchanged" in result["msg"]
    assert path.read_bytes() == content
    assert path.stat().st_mtime_ns == mtime
    assert sorted(os.listdir(tmp_path)) == ["daemon.json", "module-args.json"]


CONFLICTING_ARGS = [
    pytest.param({"settings": {"default-runtime": "runc"}, "default_runtime": "nvidia"}, "set 'default-runtime'",
                 id="default runtime twice"),
    pytest.param({"settings": {"features": {"cdi": False}}, "cdi": True}, "set 'features.cdi'", id="cdi twice"),
    pytest.param({"cdi": True, "remove": ["features.cdi"]}, "cannot be removed and set", id="remove and set"),
    pytest.param({"remove": ["a..b"]}, "not a valid key path", id="empty key in path"),
    pytest.param({"runtimes": {"nvidia": "/usr/bin/nvidia-container-runtime"}}, "'runtimes.nvidia' is a JSON string",
                 id="runtime not object"),
    pytest.param({"settings": ["debug"]}, "settings", id="settings not dict"),
    pytest.param({"cdi": "sometimes"}, "cdi", id="cdi not boolean"),
    pytest.param({"unknown_option": 1}, "unknown_option", id="unknown option"),
]


@pytest.mark.parametrize(("args", "expected"), CONFLICTING_ARGS)
def test_invalid_options_are_rejected(tmp_path, daemon_json, args, expected):
    result = run_module(tmp_path, dict(args, path=str(daemon_json)))
    assert result["failed"] is True
    assert expected in result["msg"]
    assert daemon_json.read_text() == ORIGINAL


def test_directory_path_is_rejected(tmp_path):
    result = run_module(tmp_path, {"path": str(tmp_path), "cdi": True})
    assert result["failed"] is True
    assert "is a directory" in result["msg"]


def test_ansible_runs_module_by_fqcn(tmp_path, daemon_json):
    """Run the module through the ansible CLI to prove the FQCN and docs load."""
    env = dict(os.environ, ANSIBLE_CONFIG=str(PROJECT_ROOT / "ansible.cfg"), ANSIBLE_LOCALHOST_WARNING="false")
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "ansible"), "localhost", "-m", "gpu_spark.cluster.daemon_json",
         "-a", json.dumps({"path": str(daemon_json), "cdi": True}), "--diff"],
        capture_output=True, text=True, env=env, cwd=PROJECT_ROOT, check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert '+        "cdi": true' in completed.stdout
    assert json.loads(daemon_json.read_text())["features"]["cdi"] is True
