"""Case tables for the pure daemon.json functions."""

from __future__ import annotations

import json

import pytest

from ansible_collections.gpu_spark.cluster.plugins.module_utils.daemon_json import (
    DaemonJsonError,
    FlagConflict,
    build_overlay,
    changed_key_paths,
    check_remove_conflicts,
    deep_merge,
    detect_indent,
    dockerd_supports_validate,
    documents_equal,
    find_content_warnings,
    find_flag_conflicts,
    flag_keys,
    format_flag_conflict,
    migrate_graph_key,
    parse_document,
    parse_exec_start,
    parse_key_path,
    remove_key_paths,
    render_document,
)

PATH = "/etc/docker/daemon.json"

# A daemon.json as found on a GPU host that several tools already edited.
EXISTING = {
    "registry-mirrors": ["http://127.0.0.1:5000"],
    "data-root": "/srv/docker",
    "hosts": ["unix:///var/run/docker.sock", "tcp://127.0.0.1:2375"],
    "features": {"containerd-snapshotter": True, "buildkit": True},
    "runtimes": {
        "custom": {"path": "/opt/custom/bin/runtime", "runtimeArgs": ["--debug", "--log=/var/log/custom.log"]},
        "nvidia": {"path": "/usr/bin/nvidia-container-runtime", "runtimeArgs": ["--flag"]},
    },
    "log-opts": {"max-size": "10m", "max-file": "3"},
}

MERGE_CASES = [
    pytest.param({"debug": True}, ["registry-mirrors"], ["http://127.0.0.1:5000"], id="new key keeps mirrors"),
    pytest.param({"debug": True}, ["data-root"], "/srv/docker", id="new key keeps data-root"),
    pytest.param({"debug": True}, ["hosts"], EXISTING["hosts"], id="new key keeps hosts"),
    pytest.param({"features": {"cdi": True}}, ["features"],
                 {"containerd-snapshotter": True, "buildkit": True, "cdi": True}, id="cdi keeps feature flags"),
    pytest.param({"runtimes": {"test": {"path": "/usr/bin/runc"}}}, ["runtimes", "custom", "runtimeArgs"],
                 ["--debug", "--log=/var/log/custom.log"], id="new runtime keeps custom args"),
    pytest.param({"runtimes": {"nvidia": {"path": "/usr/local/bin/nvidia-container-runtime"}}},
                 ["runtimes", "nvidia", "runtimeArgs"], ["--flag"], id="runtime update keeps args"),
    pytest.param({"runtimes": {"nvidia": {"path": "/usr/local/bin/nvidia-container-runtime"}}},
                 ["runtimes", "nvidia", "path"], "/usr/local/bin/nvidia-container-runtime",
                 id="runtime update sets path"),
    pytest.param({"registry-mirrors": ["http://127.0.0.1:5001"]}, ["registry-mirrors"],
                 ["http://127.0.0.1:5001"], id="given list replaces list"),
    pytest.param({"log-opts": {"max-size": "20m"}}, ["log-opts"], {"max-size": "20m", "max-file": "3"},
                 id="nested object merges keywise"),
    pytest.param({"features": None}, ["features"], None, id="given null replaces object"),
    pytest.param({"data-root": {"nested": 1}}, ["data-root"], {"nested": 1}, id="object replaces scalar"),
]


@pytest.mark.parametrize(("overlay", "key_path", "expected"), MERGE_CASES)
def test_deep_merge_cases(overlay, key_path, expected):
    merged = deep_merge(EXISTING, overlay)
    value = merged
    for key in key_path:
        value = value[key]
    assert value == expected


def test_deep_merge_leaves_input_alone():
    original = json.loads(json.dumps(EXISTING))
    deep_merge(EXISTING, {"features": {"cdi": True}, "runtimes": {"x": {"path": "/x"}}})
    assert EXISTING == original


ORDER_CASES = [
    pytest.param({"debug": True}, ["registry-mirrors", "data-root", "hosts", "features", "runtimes", "log-opts", "debug"],
                 id="new key appended last"),
    pytest.param({"data-root": "/var/lib/docker"},
                 ["registry-mirrors", "data-root", "hosts", "features", "runtimes", "log-opts"],
                 id="changed key keeps position"),
    pytest.param({"zeta": 1, "alpha": 2},
                 ["registry-mirrors", "data-root", "hosts", "features", "runtimes", "log-opts", "zeta", "alpha"],
                 id="new keys keep given order"),
]


@pytest.mark.parametrize(("overlay", "expected_order"), ORDER_CASES)
def test_merge_order_cases(overlay, expected_order):
    assert list(deep_merge(EXISTING, overlay)) == expected_order


def test_nested_new_key_appended():
    merged = deep_merge(EXISTING, {"features": {"cdi": True}})
    assert list(merged["features"]) == ["containerd-snapshotter", "buildkit", "cdi"]


REMOVE_CASES = [
    pytest.param(["default-runtime"], {"a": 1, "default-runtime": "nvidia"}, {"a": 1}, id="top-level key"),
    pytest.param(["runtimes.nvidia"], {"runtimes": {"nvidia": {"path": "/n"}, "runc": {"path": "/r"}}},
                 {"runtimes": {"runc": {"path": "/r"}}}, id="dotted runtime path"),
    pytest.param([["log-opts", "max-size"]], {"log-opts": {"max-size": "1m", "max-file": "2"}},
                 {"log-opts": {"max-file": "2"}}, id="list key path"),
    pytest.param([["labels.with.dots"]], {"labels.with.dots": 1, "labels": {"with": {"dots": 2}}},
                 {"labels": {"with": {"dots": 2}}}, id="list names dotted key"),
    pytest.param(["missing"], {"a": 1}, {"a": 1}, id="missing key ignored"),
    pytest.param(["a.b"], {"a": [1, 2]}, {"a": [1, 2]}, id="path through list ignored"),
    pytest.param(["a.b.c"], {"a": {}}, {"a": {}}, id="missing parent ignored"),
]


@pytest.mark.parametrize(("remove", "document", "expected"), REMOVE_CASES)
def test_remove_key_paths_cases(remove, document, expected):
    paths = [parse_key_path(item) for item in remove]
    assert remove_key_paths(document, paths) == expected


@pytest.mark.parametrize("bad_path", ["", "a..b", ".a", [], ["a", ""], ["a", 3], 3, None, {"a": 1}])
def test_parse_key_path_rejects(bad_path):
    with pytest.raises(DaemonJsonError, match="not a valid key path"):
        parse_key_path(bad_path)


PARSE_CASES = [
    pytest.param(b"", {}, id="empty file"),
    pytest.param(b"  \n\t\n", {}, id="whitespace only"),
    pytest.param(b"{}", {}, id="empty object"),
    pytest.param(b'{"b": 1, "a": {"d": 2, "c": 3}}', {"b": 1, "a": {"d": 2, "c": 3}}, id="nested object"),
    pytest.param('{"label": "caf\u00e9"}'.encode(), {"label": "caf\u00e9"}, id="utf-8 text"),
]


@pytest.mark.parametrize(("data", "expected"), PARSE_CASES)
def test_parse_document_cases(data, expected):
    assert parse_document(data, PATH).document == expected


def test_parse_keeps_key_order():
    parsed = parse_document(b'{"z": 1, "a": 2, "m": {"y": 1, "b": 2}}', PATH)
    assert [list(parsed.document), list(parsed.document["m"])] == [["z", "a", "m"], ["y", "b"]]


def test_parse_reports_duplicate_keys():
    parsed = parse_document(b'{"debug": true, "debug": false}', PATH)
    assert parsed.duplicate_keys == ["debug"]


# (bytes, text the message must contain) for every input dockerd cannot load.
BAD_INPUT_CASES = [
    pytest.param(b'{\n  "debug": true,\n}\n', ["line 3, column 1", "trailing comma"], id="trailing comma"),
    pytest.param(b'{"a": [1, 2,]}', ["line 1, column 13", "trailing comma"], id="trailing comma in list"),
    pytest.param(b'{"a": 1}\n{"b": 2}\n', ["line 2, column 1", "more than one JSON value"], id="two objects"),
    pytest.param(b'\xef\xbb\xbf{"a": 1}', ["line 1, column 1", "byte-order mark"], id="utf-8 byte-order mark"),
    pytest.param(b'{\n  // mirrors\n  "a": 1\n}', ["line 2, column 3", "no comments"], id="line comment"),
    pytest.param(b'{\n  "a": 1, /* x */ "b": 2\n}', ["line 2, column 11", "no comments"], id="block comment"),
    pytest.param(b'# docker\n{"a": 1}', ["line 1, column 1", "no comments"], id="hash comment"),
    pytest.param(b"{'a': 1}", ["line 1, column 2", "double quotes"], id="single quotes"),
    pytest.param(b'{"a": NaN}', ["NaN"], id="nan constant"),
    pytest.param(b'{"a": \xff}', ["not valid UTF-8", "byte 6"], id="invalid utf-8"),
    pytest.param(b'\n  ["a"]', ["line 2, column 3", "top level is a JSON array"], id="root is array"),
    pytest.param(b'"text"', ["top level is a JSON string"], id="root is string"),
    pytest.param(b"null", ["top level is a JSON null"], id="root is null"),
    pytest.param(b'{"runtimes": ["nvidia"]}', ["'runtimes' is a JSON array"], id="runtimes is array"),
    pytest.param(b'{"runtimes": "nvidia"}', ["'runtimes' is a JSON string"], id="runtimes is string"),
    pytest.param(b'{"runtimes": {"nvidia": "/usr/bin/x"}}', ["'runtimes.nvidia' is a JSON string"],
                 id="runtime entry is string"),
]


@pytest.mark.parametrize(("data", "expected_parts"), BAD_INPUT_CASES)
def test_parse_rejects_bad_input(data, expected_parts):
    with pytest.raises(DaemonJsonError) as caught:
        parse_document(data, PATH)
    message = str(caught.value)
    assert message.startswith(PATH)
    for part in expected_parts:
        assert part in message


INDENT_CASES = [
    pytest.param('{\n    "a": 1\n}\n', 4, id="four spaces"),
    pytest.param('{\n  "a": 1\n}\n', 2, id="two spaces"),
    pytest.param('{\n\t"a": 1\n}\n', "\t", id="tab"),
    pytest.param('{"a": 1}', 2, id="single line default"),
]


@pytest.mark.parametrize(("text", "expected"), INDENT_CASES)
def test_detect_indent_cases(text, expected):
    assert detect_indent(text) == expected


def test_render_ends_with_newline():
    assert render_document({"a": 1}).endswith("}\n")


def test_render_round_trips_unchanged_file():
    text = '{\n    "registry-mirrors": [\n        "http://127.0.0.1:5000"\n    ],\n    "debug": true\n}\n'
    parsed = parse_document(text.encode(), PATH)
    assert render_document(parsed.document, parsed.indent) == text


def test_render_keeps_non_ascii_readable():
    assert render_document({"label": "caf\u00e9"}) == '{\n  "label": "caf\u00e9"\n}\n'


EQUALITY_CASES = [
    pytest.param({"debug": True}, {"debug": 1}, False, id="true differs from 1"),
    pytest.param({"n": 1}, {"n": 1.0}, False, id="int differs from float"),
    pytest.param({"a": 1, "b": 2}, {"b": 2, "a": 1}, True, id="key order ignored"),
    pytest.param({"a": [1, 2]}, {"a": [2, 1]}, False, id="list order matters"),
]


@pytest.mark.parametrize(("first", "second", "expected"), EQUALITY_CASES)
def test_documents_equal_cases(first, second, expected):
    assert documents_equal(first, second) is expected


OVERLAY_CASES = [
    pytest.param({}, None, None, None, {}, id="nothing given"),
    pytest.param({}, {"nvidia": {"path": "/usr/bin/nvidia-container-runtime"}}, "nvidia", True,
                 {"runtimes": {"nvidia": {"path": "/usr/bin/nvidia-container-runtime"}},
                  "default-runtime": "nvidia", "features": {"cdi": True}}, id="gpu shorthands"),
    pytest.param({"features": {"containerd-snapshotter": True}}, None, None, False,
                 {"features": {"containerd-snapshotter": True, "cdi": False}}, id="cdi merges into features"),
    pytest.param({"default-runtime": "nvidia"}, None, "nvidia", None, {"default-runtime": "nvidia"},
                 id="same value twice accepted"),
]


@pytest.mark.parametrize(("settings", "runtimes", "default_runtime", "cdi", "expected"), OVERLAY_CASES)
def test_build_overlay_cases(settings, runtimes, default_runtime, cdi, expected):
    assert build_overlay(settings, runtimes, default_runtime, cdi) == expected


OVERLAY_CONFLICT_CASES = [
    pytest.param({"default-runtime": "runc"}, None, "nvidia", None, "default_runtime", id="default runtime differs"),
    pytest.param({"features": {"cdi": False}}, None, None, True, "cdi", id="cdi differs"),
    pytest.param({"runtimes": {"nvidia": {"path": "/a"}}}, {"nvidia": {"path": "/b"}}, None, None, "runtimes",
                 id="runtime path differs"),
    pytest.param({}, {"nvidia": "/usr/bin/nvidia-container-runtime"}, None, None, "'runtimes.nvidia' is a JSON string",
                 id="runtime entry not object"),
    pytest.param({"runtimes": []}, None, None, None, "'runtimes' is a JSON array", id="settings runtimes list"),
]


@pytest.mark.parametrize(("settings", "runtimes", "default_runtime", "cdi", "expected"), OVERLAY_CONFLICT_CASES)
def test_build_overlay_rejects_conflicts(settings, runtimes, default_runtime, cdi, expected):
    with pytest.raises(DaemonJsonError, match=expected):
        build_overlay(settings, runtimes, default_runtime, cdi)


REMOVE_CONFLICT_CASES = [
    pytest.param({"default-runtime": "nvidia"}, ["default-runtime"], True, id="same key"),
    pytest.param({"runtimes": {"nvidia": {"path": "/n"}}}, ["runtimes.nvidia.path"], True, id="same nested key"),
    pytest.param({"registry-mirrors": ["http://127.0.0.1:5000"]}, ["registry-mirrors.0"], True,
                 id="removed below set list"),
    pytest.param({"runtimes": {"nvidia": {"path": "/n"}}}, ["runtimes"], False, id="parent removed then replaced"),
    pytest.param({"runtimes": {"nvidia": {"path": "/n"}}}, ["runtimes.nvidia.runtimeArgs"], False,
                 id="sibling field removed"),
    pytest.param({"runtimes": {"nvidia": {"path": "/n"}}}, ["runtimes.other"], False, id="sibling runtime"),
    pytest.param({"debug": True}, ["default-runtime"], False, id="unrelated keys"),
]


@pytest.mark.parametrize(("overlay", "remove", "conflicts"), REMOVE_CONFLICT_CASES)
def test_remove_conflict_cases(overlay, remove, conflicts):
    paths = [parse_key_path(item) for item in remove]
    if conflicts:
        with pytest.raises(DaemonJsonError, match="cannot be removed and set"):
            check_remove_conflicts(overlay, paths)
    else:
        assert check_remove_conflicts(overlay, paths) is None


MIGRATE_CASES = [
    pytest.param({"a": 1, "graph": "/srv/d", "b": 2}, ["a", "data-root", "b"], id="renamed in place"),
    pytest.param({"graph": "/srv/d", "data-root": "/srv/d"}, ["data-root"], id="equal data-root kept"),
    pytest.param({"a": 1}, ["a"], id="no graph unchanged"),
]


@pytest.mark.parametrize(("document", "expected_keys"), MIGRATE_CASES)
def test_migrate_graph_cases(document, expected_keys):
    assert list(migrate_graph_key(document)) == expected_keys


def test_migrate_graph_moves_value():
    assert migrate_graph_key({"graph": "/srv/d"})["data-root"] == "/srv/d"


def test_migrate_graph_rejects_different_root():
    with pytest.raises(DaemonJsonError, match="already set"):
        migrate_graph_key({"graph": "/srv/a", "data-root": "/srv/b"})


CHANGED_KEY_CASES = [
    pytest.param({}, {}, [], id="nothing changed"),
    pytest.param({"runtimes": {"a": {"path": "/a"}}}, {"runtimes": {"a": {"path": "/a"}, "b": {"path": "/b"}}},
                 ["runtimes.b"], id="runtime added"),
    pytest.param({"a": 1, "b": 2}, {"a": 1}, ["b"], id="key removed"),
    pytest.param({"f": {"x": True}}, {"f": {"x": True, "cdi": True}}, ["f.cdi"], id="flag added"),
    pytest.param({"m": ["a"]}, {"m": ["a", "b"]}, ["m"], id="list changed"),
    pytest.param({"d": True}, {"d": 1}, ["d"], id="boolean to number"),
    pytest.param({}, {"r": {"n": {}}}, ["r"], id="new object key"),
]


@pytest.mark.parametrize(("before", "after", "expected"), CHANGED_KEY_CASES)
def test_changed_key_paths_cases(before, after, expected):
    assert changed_key_paths(before, after) == expected


WARNING_CASES = [
    pytest.param({"graph": "/srv/docker"}, "migrate_graph=true", id="graph key"),
    pytest.param({"default-runtime": "nvidia"}, "neither built in nor listed", id="unknown default runtime"),
]


@pytest.mark.parametrize(("document", "expected"), WARNING_CASES)
def test_content_warning_cases(document, expected):
    warnings = find_content_warnings(document)
    assert len(warnings) == 1
    assert expected in warnings[0]


@pytest.mark.parametrize("document", [
    pytest.param({"default-runtime": "runc"}, id="runc built in"),
    pytest.param({"default-runtime": "io.containerd.runsc.v1"}, id="containerd shim"),
    pytest.param({"default-runtime": "nvidia", "runtimes": {"nvidia": {"path": "/n"}}}, id="listed runtime"),
])
def test_content_without_warnings(document):
    assert find_content_warnings(document) == []


# `systemctl show --property=ExecStart docker.service` on Debian 12 (docker.io 20.10).
DEBIAN_SHOW = (
    "ExecStart={ path=/usr/sbin/dockerd ; argv[]=/usr/sbin/dockerd -H fd:// $DOCKER_OPTS ; "
    "ignore_errors=no ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }\n"
)


def test_parse_exec_start_debian():
    assert parse_exec_start(DEBIAN_SHOW) == [["/usr/sbin/dockerd", "-H", "fd://", "$DOCKER_OPTS"]]


def test_parse_exec_start_empty():
    assert parse_exec_start("ExecStart=\n") == []


FLAG_CASES = [
    pytest.param(["dockerd", "-H", "fd://"], [FlagConflict("hosts", "-H fd://")], id="short host"),
    pytest.param(["dockerd", "-Hfd://"], [FlagConflict("hosts", "-Hfd://")], id="short host attached"),
    pytest.param(["dockerd", "--host=unix:///run/d.sock"], [FlagConflict("hosts", "--host=unix:///run/d.sock")],
                 id="long host"),
    pytest.param(["dockerd", "--containerd=/run/containerd/containerd.sock"],
                 [FlagConflict("containerd", "--containerd=/run/containerd/containerd.sock")], id="containerd"),
    pytest.param(["dockerd", "--debug", "--data-root", "/srv"],
                 [FlagConflict("debug", "--debug"), FlagConflict("data-root", "--data-root /srv")],
                 id="boolean then value"),
    pytest.param(["dockerd", "--registry-mirror", "http://127.0.0.1:5000"],
                 [FlagConflict("registry-mirrors", "--registry-mirror http://127.0.0.1:5000")], id="named mirror"),
    pytest.param(["dockerd", "--add-runtime", "x=/usr/bin/runc"],
                 [FlagConflict("runtimes", "--add-runtime x=/usr/bin/runc")], id="add runtime"),
    pytest.param(["dockerd", "$DOCKER_OPTS"], [], id="unexpanded variable"),
]


@pytest.mark.parametrize(("argv", "expected"), FLAG_CASES)
def test_flag_keys_cases(argv, expected):
    assert flag_keys(argv) == expected


CONFLICT_CASES = [
    pytest.param({"hosts": ["tcp://127.0.0.1:2375"]}, ["hosts"], id="hosts with fd flag"),
    pytest.param({"registry-mirrors": ["http://127.0.0.1:5000"]}, [], id="mirrors not a flag"),
    pytest.param({"hosts": [], "containerd": "/run/c.sock"}, ["hosts", "containerd"], id="two conflicts"),
]


@pytest.mark.parametrize(("document", "expected_keys"), CONFLICT_CASES)
def test_find_flag_conflict_cases(document, expected_keys):
    argv = ["/usr/bin/dockerd", "-H", "fd://", "--containerd=/run/containerd/containerd.sock"]
    assert [conflict.key for conflict in find_flag_conflicts(document, argv)] == expected_keys


def test_flag_conflict_message_names_fix():
    argv = ["/usr/sbin/dockerd", "-H", "fd://"]
    message = format_flag_conflict(FlagConflict("hosts", "-H fd://"), "docker.service", argv)
    for part in ["'hosts'", "'-H fd://'", "docker.service", "specified both as a flag and in the configuration file",
                 "/etc/systemd/system/docker.service.d/override.conf", "systemctl daemon-reload"]:
        assert part in message


VALIDATE_HELP_CASES = [
    pytest.param("      --tlsverify    Use TLS\n      --validate     Validate daemon configuration and exit\n",
                 True, id="docker 23 help"),
    pytest.param("      --userns-remap string   User/Group setting\n  -v, --version   Print version\n",
                 False, id="docker 20.10 help"),
]


@pytest.mark.parametrize(("help_text", "expected"), VALIDATE_HELP_CASES)
def test_dockerd_validate_support_cases(help_text, expected):
    assert dockerd_supports_validate(help_text) is expected
