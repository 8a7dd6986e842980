# -*- coding: utf-8 -*-
# Copyright: gpu_spark.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure functions behind the gpu_spark.cluster.daemon_json module.

Everything here works on text and Python data only: parsing and rendering
/etc/docker/daemon.json, merging settings into it, removing key paths,
comparing documents and spotting content that dockerd rejects. The module
does the file and process work around these functions, so the logic is
unit-tested without running Ansible.
"""

from __future__ import annotations

import copy
import json
import re
import shlex
import typing as t

DEFAULT_INDENT = 2

# dockerd options whose daemon.json key differs from the long flag name.
# dockerd compares every flag given on its command line with the top-level
# keys of daemon.json and refuses to start when both set the same option.
NAMED_FLAG_KEYS = {
    "add-runtime": "runtimes",
    "authorization-plugin": "authorization-plugins",
    "cdi-spec-dir": "cdi-spec-dirs",
    "default-address-pool": "default-address-pools",
    "default-ulimit": "default-ulimits",
    "dns-opt": "dns-opts",
    "exec-opt": "exec-opts",
    "feature": "features",
    "host": "hosts",
    "insecure-registry": "insecure-registries",
    "label": "labels",
    "log-opt": "log-opts",
    "node-generic-resource": "node-generic-resources",
    "registry-mirror": "registry-mirrors",
    "storage-opt": "storage-opts",
}

# One-letter dockerd flags and the long flag each one stands for.
SHORT_FLAGS = {
    "b": "bridge",
    "D": "debug",
    "g": "graph",
    "G": "group",
    "H": "host",
    "l": "log-level",
    "p": "pidfile",
    "s": "storage-driver",
}

# Boolean dockerd flags take no separate value word.
BOOLEAN_FLAGS = frozenset({
    "debug", "experimental", "icc", "init", "ip-forward", "ip-masq", "ip6tables", "iptables",
    "ipv6", "live-restore", "no-new-privileges", "raw-logs", "rootless", "selinux-enabled",
    "tls", "tlsverify", "userland-proxy", "validate",
})

# Runtimes that dockerd 20.10 and later provide without a `runtimes` entry.
# Docker 23 and later also accept any containerd shim name in the
# io.containerd.* namespace.
BUILTIN_RUNTIMES = frozenset({"runc", "io.containerd.runc.v2", "io.containerd.runtime.v1.linux"})

KeyPath = t.Tuple[str, ...]


class DaemonJsonError(Exception):
    """Invalid input: a daemon.json that cannot be used, or conflicting options."""


class DocumentText(t.NamedTuple):
    """A parsed daemon.json with the indentation that writes it back in the same style."""

    document: dict[str, t.Any]
    indent: t.Union[int, str]
    duplicate_keys: list[str]


class FlagConflict(t.NamedTuple):
    """A daemon.json key that a dockerd command-line flag also sets."""

    key: str
    flag: str


def _reject_constant(name: str) -> t.NoReturn:
    raise ValueError(f"{name} is not valid JSON")


def _hint_for_decode_error(text: str, error: json.JSONDecodeError) -> str:
    """Return advice for the most common ways a hand-edited daemon.json breaks."""
    position = error.pos
    rest = text[position:]
    before = text[:position].rstrip()
    if error.msg.startswith("Extra data"):
        return ("the file holds more than one JSON value (for example two objects "
                "one after the other); merge them into a single object")
    if rest.startswith(("//", "/*", "#")):
        return "JSON has no comments; delete the comment"
    if before.endswith(",") and rest.lstrip()[:1] in ("}", "]"):
        return "JSON allows no comma after the last member; delete the trailing comma"
    if rest.startswith("'"):
        return "JSON strings and keys take double quotes, not single quotes"
    return "fix the JSON syntax at that position"


def _line_and_column(text: str, position: int) -> tuple[int, int]:
    line = text.count("\n", 0, position) + 1
    column = position - (text.rfind("\n", 0, position) + 1) + 1
    return line, column


def detect_indent(text: str) -> t.Union[int, str]:
    """Return the indentation of the first indented line: a tab, or a space count.

    Writing the file back with its own indentation keeps the diff a human
    reads down to the lines that really changed.
    """
    match = re.search(r"\n([ \t]+)\S", text)
    if match is None:
        return DEFAULT_INDENT
    whitespace = match.group(1)
    if whitespace.startswith("\t"):
        return "\t"
    return len(whitespace)


def parse_document(data: bytes, path: str) -> DocumentText:
    """Parse the bytes of a daemon.json into a document.

    An empty or whitespace-only file is an empty object, the same as dockerd
    treats it. Raise DaemonJsonError naming the path, the line and column
    where known, and the fix for anything dockerd would not load.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        raise DaemonJsonError(
            f"{path}: line 1, column 1: the file starts with a UTF-8 byte-order mark, "
            "which dockerd rejects; save the file as UTF-8 without a byte-order mark")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DaemonJsonError(
            f"{path}: byte {error.start}: the file is not valid UTF-8 ({error.reason}); "
            "save it as UTF-8 without a byte-order mark") from error

    if not text.strip():
        return DocumentText({}, DEFAULT_INDENT, [])

    duplicates: list[str] = []

    def build_object(pairs: list[tuple[str, t.Any]]) -> dict[str, t.Any]:
        result: dict[str, t.Any] = {}
        for key, value in pairs:
            if key in result:
                duplicates.append(key)
            result[key] = value
        return result

    try:
        document = json.loads(text, object_pairs_hook=build_object, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        hint = _hint_for_decode_error(text, error)
        raise DaemonJsonError(
            f"{path}: line {error.lineno}, column {error.colno}: invalid JSON "
            f"({error.msg}); {hint}") from error
    except ValueError as error:
        raise DaemonJsonError(
            f"{path}: invalid JSON ({error}); replace NaN and Infinity with numbers "
            "or strings") from error

    if not isinstance(document, dict):
        line, column = _line_and_column(text, len(text) - len(text.lstrip()))
        raise DaemonJsonError(
            f"{path}: line {line}, column {column}: the top level is a JSON "
            f"{json_type_name(document)}, but dockerd requires an object "
            "({...}); wrap the settings in one object")
    check_document(document, path)
    return DocumentText(document, detect_indent(text), duplicates)


def json_type_name(value: t.Any) -> str:
    """Return the JSON name of the type of a parsed value."""
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    return "number"


def check_document(document: dict[str, t.Any], path: str) -> None:
    """Raise DaemonJsonError when `runtimes` or one of its entries is not an object."""
    runtimes = document.get("runtimes")
    if runtimes is None:
        return
    if not isinstance(runtimes, dict):
        raise DaemonJsonError(
            f"{path}: 'runtimes' is a JSON {json_type_name(runtimes)}, but dockerd requires "
            "an object mapping runtime names to {\"path\": ..., \"runtimeArgs\": [...]}; "
            "fix or remove the 'runtimes' key")
    for name, entry in runtimes.items():
        if not isinstance(entry, dict):
            raise DaemonJsonError(
                f"{path}: 'runtimes.{name}' is a JSON {json_type_name(entry)}, but dockerd "
                "requires an object such as {\"path\": \"/usr/bin/nvidia-container-runtime\"}; "
                "fix or remove that runtime")


def render_document(document: dict[str, t.Any], indent: t.Union[int, str] = DEFAULT_INDENT) -> str:
    """Render a document as readable JSON that keeps key order and ends with a newline."""
    return json.dumps(document, indent=indent, ensure_ascii=False) + "\n"


def canonical_json(value: t.Any) -> str:
    """Return a text form that is equal for two values only when their JSON is equal.

    Python treats True, 1 and 1.0 as equal, but dockerd does not, so
    documents are compared through this form instead of with ==.
    """
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def documents_equal(first: t.Any, second: t.Any) -> bool:
    """Return whether two documents contain the same data, ignoring key order."""
    return canonical_json(first) == canonical_json(second)


def deep_merge(base: dict[str, t.Any], overlay: dict[str, t.Any]) -> dict[str, t.Any]:
    """Merge overlay into a copy of base.

    Objects present on both sides merge key by key. Any other value in the
    overlay (list, string, number, boolean, null) replaces the old one.
    Keys of base keep their position, and new keys follow in overlay order.
    """
    result = copy.deepcopy(base)
    for key, value in overlay.items():
        current = result.get(key)
        if isinstance(value, dict) and isinstance(current, dict):
            result[key] = deep_merge(current, value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def parse_key_path(key_path: t.Union[str, t.Sequence[str]]) -> KeyPath:
    """Turn `runtimes.nvidia` or `['runtimes', 'nvidia']` into a key tuple.

    A list is taken as is, which is the way to name a key that itself
    contains a dot.
    """
    if isinstance(key_path, str):
        parts = tuple(key_path.split("."))
    elif isinstance(key_path, (list, tuple)):
        parts = tuple(key_path)
    else:
        parts = ()
    if not parts or any(not isinstance(part, str) or part == "" for part in parts):
        raise DaemonJsonError(
            f"remove: {key_path!r} is not a valid key path; give a key such as "
            "'default-runtime', a dotted path such as 'runtimes.nvidia', or a list "
            "of keys such as ['log-opts', 'max-size']")
    return parts


def format_key_path(parts: t.Sequence[str]) -> str:
    """Return the dotted form of a key path."""
    return ".".join(parts)


def remove_key_paths(document: dict[str, t.Any], key_paths: t.Iterable[KeyPath]) -> dict[str, t.Any]:
    """Return a copy of document without the given key paths.

    A path that does not exist, or that runs through a value that is not an
    object, is left alone, so removal is idempotent.
    """
    result = copy.deepcopy(document)
    for parts in key_paths:
        parent: t.Any = result
        for part in parts[:-1]:
            parent = parent.get(part) if isinstance(parent, dict) else None
        if isinstance(parent, dict):
            parent.pop(parts[-1], None)
    return result


def build_overlay(
    settings: t.Optional[dict[str, t.Any]] = None,
    runtimes: t.Optional[dict[str, t.Any]] = None,
    default_runtime: t.Optional[str] = None,
    cdi: t.Optional[bool] = None,
) -> dict[str, t.Any]:
    """Express the module options as one overlay for deep_merge.

    The convenience options are shorthands. `runtimes` merges into the
    `runtimes` object, so fields of an existing entry that are not given
    stay. `default_runtime` sets `default-runtime`, and `cdi` sets
    `features.cdi` next to the other feature flags.
    Raise DaemonJsonError when two options set one key to different values.
    """
    overlay: dict[str, t.Any] = copy.deepcopy(settings) if settings else {}
    check_document(overlay, "settings")
    sources: list[tuple[str, dict[str, t.Any]]] = []
    if runtimes:
        check_document({"runtimes": runtimes}, "runtimes")
        sources.append(("runtimes", {"runtimes": runtimes}))
    if default_runtime is not None:
        sources.append(("default_runtime", {"default-runtime": default_runtime}))
    if cdi is not None:
        sources.append(("cdi", {"features": {"cdi": cdi}}))
    for option, addition in sources:
        for parts, value in iter_leaves(addition):
            existing = get_key_path(overlay, parts)
            if existing is not _MISSING and not documents_equal(existing, value):
                raise DaemonJsonError(
                    f"settings and {option} set '{format_key_path(parts)}' to different values "
                    f"({canonical_json(existing)} and {canonical_json(value)}); "
                    "give that key in one option only")
        overlay = deep_merge(overlay, addition)
    return overlay


_MISSING = object()


def get_key_path(document: t.Any, parts: t.Sequence[str]) -> t.Any:
    """Return the value at a key path, or a private marker when it is absent."""
    value = document
    for part in parts:
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


def iter_leaves(document: dict[str, t.Any], prefix: KeyPath = ()) -> t.Iterator[tuple[KeyPath, t.Any]]:
    """Yield (key path, value) for every non-object value, and for empty objects."""
    for key, value in document.items():
        parts = prefix + (key,)
        if isinstance(value, dict) and value:
            yield from iter_leaves(value, parts)
        else:
            yield parts, value


def check_remove_conflicts(overlay: dict[str, t.Any], key_paths: t.Iterable[KeyPath]) -> None:
    """Raise DaemonJsonError when a key path to remove is at or below a value being set.

    Removing a parent of a key being set stays allowed because removal runs
    first, so `remove: [runtimes]` with a new `runtimes` entry replaces the whole
    object, which a merge alone cannot do.
    """
    for parts in key_paths:
        for leaf, _value in iter_leaves(overlay):
            if parts[:len(leaf)] == leaf:
                raise DaemonJsonError(
                    f"remove names '{format_key_path(parts)}' while the options also set "
                    f"'{format_key_path(leaf)}'; a key cannot be removed and set in one "
                    "task, so drop it from one of the two")


def migrate_graph_key(document: dict[str, t.Any]) -> dict[str, t.Any]:
    """Replace the removed `graph` key by `data-root`, in the same position.

    Raise DaemonJsonError when both keys are present with different values,
    because only a human can tell which directory contains the data.
    """
    if "graph" not in document:
        return copy.deepcopy(document)
    graph = document["graph"]
    if "data-root" in document:
        if not documents_equal(document["data-root"], graph):
            raise DaemonJsonError(
                f"cannot migrate 'graph' ({canonical_json(graph)}) to 'data-root' because "
                f"'data-root' is already set to {canonical_json(document['data-root'])}; "
                "decide which directory holds Docker's data and remove the other key")
        return {key: copy.deepcopy(value) for key, value in document.items() if key != "graph"}
    return {
        ("data-root" if key == "graph" else key): copy.deepcopy(value)
        for key, value in document.items()
    }


def changed_key_paths(before: t.Any, after: t.Any, prefix: KeyPath = ()) -> list[str]:
    """List the dotted paths whose values differ between two documents.

    The walk enters objects present on both sides, so adding one runtime
    reports `runtimes.<name>` and not the whole `runtimes` object.
    """
    if isinstance(before, dict) and isinstance(after, dict):
        changed: list[str] = []
        for key in list(before) + [key for key in after if key not in before]:
            if key not in before or key not in after:
                changed.append(format_key_path(prefix + (key,)))
            else:
                changed.extend(changed_key_paths(before[key], after[key], prefix + (key,)))
        return changed
    if documents_equal(before, after):
        return []
    return [format_key_path(prefix)]


def find_content_warnings(document: dict[str, t.Any]) -> list[str]:
    """Return warnings for content that dockerd rejects or will reject."""
    warnings: list[str] = []
    if "graph" in document:
        warnings.append(
            "daemon.json sets 'graph', which Docker deprecated in 17.05 and removed in 23.0 "
            "(dockerd 23+ refuses to start with it); set migrate_graph=true to move it to "
            "'data-root'")
    default_runtime = document.get("default-runtime")
    runtimes = document.get("runtimes")
    known = set(runtimes) if isinstance(runtimes, dict) else set()
    if (isinstance(default_runtime, str) and default_runtime not in known
            and default_runtime not in BUILTIN_RUNTIMES
            and not default_runtime.startswith("io.containerd.")):
        warnings.append(
            f"daemon.json sets 'default-runtime' to '{default_runtime}', which is neither "
            "built in nor listed under 'runtimes'; dockerd will not start until that "
            "runtime is added")
    return warnings


def parse_exec_start(systemctl_output: str) -> list[list[str]]:
    """Extract the command lines from `systemctl show --property=ExecStart` output.

    systemd prints each command as `{ path=... ; argv[]=ARGS ; ... }`.
    """
    commands: list[list[str]] = []
    for match in re.finditer(r"argv\[\]=(.*?) ; ", systemctl_output):
        try:
            commands.append(shlex.split(match.group(1)))
        except ValueError:
            commands.append(match.group(1).split())
    return commands


def flag_keys(argv: t.Sequence[str]) -> list[FlagConflict]:
    """Map each dockerd flag in argv to the daemon.json key it sets.

    The first word of argv is the program and is skipped.
    NOTE: variables such as $DOCKER_OPTS that systemd expands from an
    EnvironmentFile are not expanded here, so flags given only that way are
    not seen.
    """
    found: list[FlagConflict] = []
    words = list(argv)
    for index, word in enumerate(words[1:], start=1):
        if word == "--":
            break
        if word.startswith("--"):
            name = word[2:].split("=", 1)[0]
            value_attached = "=" in word
        elif word.startswith("-") and len(word) > 1:
            name = SHORT_FLAGS.get(word[1], "")
            value_attached = len(word) > 2
        else:
            continue
        if not name:
            continue
        written = word
        next_word = words[index + 1] if index + 1 < len(words) else None
        if (not value_attached and name not in BOOLEAN_FLAGS
                and next_word is not None and not next_word.startswith("-")):
            written = f"{word} {next_word}"
        found.append(FlagConflict(NAMED_FLAG_KEYS.get(name, name), written))
    return found


def find_flag_conflicts(document: dict[str, t.Any], argv: t.Sequence[str]) -> list[FlagConflict]:
    """Return the top-level keys of document that a flag in argv also sets."""
    return [conflict for conflict in flag_keys(argv) if conflict.key in document]


def format_flag_conflict(conflict: FlagConflict, unit: str, argv: t.Sequence[str]) -> str:
    """Describe a flag conflict: the key, the unit, and how to fix it."""
    return (
        f"daemon.json key '{conflict.key}' is also set by the flag '{conflict.flag}' in "
        f"the ExecStart of {unit} ({' '.join(argv)}), and dockerd refuses to start when an "
        "option is specified both as a flag and in the configuration file. Remove "
        f"'{conflict.key}' from the settings, or drop the flag with a systemd drop-in "
        f"(/etc/systemd/system/{unit}.d/override.conf holding an empty 'ExecStart=' line "
        "and then the ExecStart without the flag) followed by 'systemctl daemon-reload'.")


def dockerd_supports_validate(help_text: str) -> bool:
    """Return whether `dockerd --help` lists `--validate` (Docker 23 and later)."""
    return re.search(r"(^|\s)--validate\b", help_text) is not None
