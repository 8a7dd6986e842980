#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: gpu_spark.cluster contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: daemon_json
short_description: Merge settings into Docker's daemon.json without losing existing content
version_added: 0.1.0
description:
  - Deep-merges settings into C(/etc/docker/daemon.json) and removes the key paths given,
    keeping every other key with its value and position. New keys are appended, so the
    diff shows only the lines that change.
  - Convenience options cover the GPU case (a named runtime, the default runtime, the
    C(features.cdi) flag) and are applied through the same merge.
  - A missing file is created with mode C(0644), owner C(root), and its parent directory.
    An empty or whitespace-only file counts as an empty object.
  - The file is rewritten only when its parsed content changes. The new content is
    written to a temporary file in the target's directory, checked with
    C(dockerd --validate) where dockerd supports it, and moved into place atomically.
    The file keeps its mode, owner and SELinux context.
  - A file that is not valid JSON, a top level that is not an object, or C(runtimes)
    that is not an object makes the module fail without touching the file.
  - Before writing, the module reads the C(ExecStart) of C(docker.service) through
    C(systemctl) and fails when a key it would change is also set there as a
    command-line flag (for example C(hosts) while dockerd runs with C(-H fd://)),
    because dockerd does not start in that case.
  - The module does not restart Docker. It returns the new document in RV(config) and
    sets RV(restart_required), and the caller restarts the daemon.
author:
  - gpu_spark.cluster maintainers (@gpu-spark)
options:
  path:
    description:
      - Path of the daemon configuration file.
      - When it is a symbolic link, the link's target is updated and the link is kept.
    type: path
    default: /etc/docker/daemon.json
  settings:
    description:
      - Settings to deep-merge into the file.
      - Objects merge key by key. A list, string, number, boolean or null given here
        replaces the old value.
    type: dict
    default: {}
  remove:
    description:
      - Key paths to delete, applied before O(settings) is merged.
      - Each item is a key (V(default-runtime)), a dotted path (V(runtimes.nvidia)), or a
        list of keys (V([log-opts, max-size])) to name a key that contains a dot.
      - A path that does not exist is ignored.
      - A path at or below a key that another option sets is rejected. Removing the
        parent of a key being set is allowed and replaces the whole object. For example the item
        V(runtimes) together with the O(runtimes) option leaves only the runtimes given.
    type: list
    elements: raw
    default: []
  runtimes:
    description:
      - Runtimes to add or update, by name, under the C(runtimes) key.
      - >-
        Each value is an object such as
        C({"path": "/usr/bin/nvidia-container-runtime", "runtimeArgs": []}).
        Fields of an existing entry that are not given are kept.
    type: dict
  default_runtime:
    description:
      - Value for the C(default-runtime) key.
    type: str
  cdi:
    description:
      - Value for C(features.cdi). Other feature flags stay as they are.
    type: bool
  migrate_graph:
    description:
      - Rename the C(graph) key, which Docker 23 removed, to C(data-root) in the same
        position.
      - Fails when both keys are set to different directories.
    type: bool
    default: false
  backup:
    description:
      - Copy the old file to a time-stamped backup next to it before writing.
    type: bool
    default: false
  validate:
    description:
      - Check the new content with C(dockerd --validate --config-file) before it replaces
        the old file. A rejected file is never installed.
      - dockerd has this option since Docker 23. Without such a dockerd the check is
        skipped and RV(validation) says why.
    type: bool
    default: true
notes:
  - Key paths that two options set to different values, for example O(default_runtime)
    and C(default-runtime) in O(settings), are rejected before the file is read.
  - The flag check reads C(systemctl show --property=ExecStart docker.service). Variables
    such as C($DOCKER_OPTS) in that command line are not expanded, and hosts without
    systemd get no flag check.
attributes:
  check_mode:
    description: Whether the module can predict its changes without making them.
    support: full
    details: Reports what would change and writes nothing. Validation still runs, on a
      temporary copy outside the target's directory.
  diff_mode:
    description: Whether the module returns a before and after view of its changes under C(--diff).
    support: full
    details: Shows the file text before and after.
  platform:
    description: The target systems the module runs on.
    support: full
    platforms: posix
"""

EXAMPLES = r"""
- name: Register the NVIDIA runtime and keep everything else in daemon.json
  gpu_spark.cluster.daemon_json:
    runtimes:
      nvidia:
        path: /usr/bin/nvidia-container-runtime
        runtimeArgs: []
    default_runtime: nvidia
    cdi: true
    backup: true
  register: daemon_json_result

- name: Add a registry mirror and move the data root
  gpu_spark.cluster.daemon_json:
    settings:
      registry-mirrors:
        - http://127.0.0.1:5000
      data-root: /srv/docker

- name: Remove the NVIDIA runtime and the default runtime
  gpu_spark.cluster.daemon_json:
    remove:
      - default-runtime
      - runtimes.nvidia

- name: Replace the removed graph key by data-root
  gpu_spark.cluster.daemon_json:
    migrate_graph: true
"""

RETURN = r"""
config:
  description: The resulting document (in check mode, the document that would be written).
  returned: success
  type: dict
  sample: {"data-root": "/srv/docker", "runtimes": {"nvidia": {"path": "/usr/bin/nvidia-container-runtime"}}}
changed_keys:
  description: Dotted paths of the keys whose values were added, changed or removed.
  returned: success
  type: list
  elements: str
  sample: ["runtimes.nvidia", "features.cdi"]
restart_required:
  description: Whether Docker must be restarted to apply the file, which is the case whenever it changed.
  returned: success
  type: bool
  sample: true
created:
  description: Whether the file did not exist before and was created (in check mode, would be created).
  returned: success
  type: bool
  sample: false
backup_file:
  description: Name of the backup of the old file.
  returned: when O(backup=true) and the file existed and changed
  type: str
  sample: /etc/docker/daemon.json.12345.2024-01-01@10:00:00~
validation:
  description:
    - V(passed) when dockerd accepted the new content, otherwise V(skipped) followed by the reason.
  returned: always
  type: str
  sample: "skipped: dockerd at /usr/sbin/dockerd (Docker version 20.10.24+dfsg1, build 5d6db84) has no --validate option (Docker 23 and later have it)"
cmd:
  description: The validation command that failed.
  returned: when dockerd rejected the new content
  type: list
  elements: str
rc:
  description: Exit status of the failed validation command.
  returned: when dockerd rejected the new content
  type: int
stdout:
  description: Standard output of the failed validation command.
  returned: when dockerd rejected the new content
  type: str
stderr:
  description: Standard error of the failed validation command.
  returned: when dockerd rejected the new content
  type: str
"""

import os
import tempfile
import typing as t

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_native

from ansible_collections.gpu_spark.cluster.plugins.module_utils.daemon_json import (
    DaemonJsonError,
    build_overlay,
    changed_key_paths,
    check_remove_conflicts,
    deep_merge,
    dockerd_supports_validate,
    documents_equal,
    find_content_warnings,
    find_flag_conflicts,
    format_flag_conflict,
    migrate_graph_key,
    parse_document,
    parse_exec_start,
    parse_key_path,
    remove_key_paths,
    render_document,
)

DOCKER_UNIT = "docker.service"
NEW_FILE_MODE = "0644"
DOCKERD_DIRS = ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"]


def argument_spec() -> dict[str, t.Any]:
    return dict(
        path=dict(type="path", default="/etc/docker/daemon.json"),
        settings=dict(type="dict", default={}),
        remove=dict(type="list", elements="raw", default=[]),
        runtimes=dict(type="dict"),
        default_runtime=dict(type="str"),
        cdi=dict(type="bool"),
        migrate_graph=dict(type="bool", default=False),
        backup=dict(type="bool", default=False),
        validate=dict(type="bool", default=True),
    )


def read_exec_start(module: AnsibleModule) -> list[list[str]]:
    """Return the ExecStart command lines of docker.service, or [] without systemd."""
    systemctl = module.get_bin_path("systemctl")
    if systemctl is None:
        return []
    rc, stdout, _stderr = module.run_command([systemctl, "show", "--property=ExecStart", DOCKER_UNIT])
    if rc != 0:
        return []
    return parse_exec_start(stdout)


def check_flag_conflicts(module: AnsibleModule, document: dict[str, t.Any], changed_top_keys: set[str]) -> None:
    """Fail for a changed key that docker.service also sets as a flag, warn for an unchanged one."""
    for argv in read_exec_start(module):
        for conflict in find_flag_conflicts(document, argv):
            message = format_flag_conflict(conflict, DOCKER_UNIT, argv)
            if conflict.key in changed_top_keys:
                module.fail_json(msg=f"{message} {module.params['path']} was left unchanged.",
                                 validation="skipped: the flag conflict was found first")
            module.warn(message)


def validation_support(module: AnsibleModule) -> tuple[str | None, str]:
    """Return the dockerd to validate with, or None and the reason validation is skipped."""
    dockerd = module.get_bin_path("dockerd", opt_dirs=DOCKERD_DIRS)
    if dockerd is None:
        return None, "skipped: dockerd was not found"
    rc, stdout, stderr = module.run_command([dockerd, "--help"])
    if rc == 0 and dockerd_supports_validate(stdout + stderr):
        return dockerd, ""
    _rc, version, _err = module.run_command([dockerd, "--version"])
    return None, (f"skipped: dockerd at {dockerd} ({version.strip() or 'version unknown'}) has no "
                  "--validate option (Docker 23 and later have it)")


def validate_file(module: AnsibleModule, dockerd: str, candidate: str) -> None:
    """Run dockerd --validate on candidate, and remove candidate and fail when dockerd rejects it."""
    cmd = [dockerd, "--validate", "--config-file", candidate]
    rc, stdout, stderr = module.run_command(cmd)
    if rc == 0:
        return
    os.unlink(candidate)
    output = (stderr or stdout).strip()
    module.fail_json(
        msg=(f"dockerd rejected the new content for {module.params['path']}, so the file was "
             f"left unchanged: {output}. Fix or remove the setting dockerd names."),
        cmd=cmd, rc=rc, stdout=stdout, stderr=stderr,
        validation=f"failed: {output}")


def write_temp_file(directory: str, text: str) -> str:
    """Write text to a new temporary file in directory and return its name."""
    fd, name = tempfile.mkstemp(prefix=".daemon.json.", suffix=".tmp", dir=directory)
    with os.fdopen(fd, "wb") as handle:
        handle.write(to_bytes(text, errors="surrogate_or_strict"))
        handle.flush()
        os.fsync(handle.fileno())
    return name


def compute_document(module: AnsibleModule, before: dict[str, t.Any]) -> dict[str, t.Any]:
    """Apply migrate_graph, remove and the merged options to the old document."""
    params = module.params
    try:
        key_paths = [parse_key_path(item) for item in params["remove"]]
        overlay = build_overlay(params["settings"], params["runtimes"], params["default_runtime"], params["cdi"])
        check_remove_conflicts(overlay, key_paths)
        document = migrate_graph_key(before) if params["migrate_graph"] else before
    except DaemonJsonError as error:
        module.fail_json(msg=f"{error}. {params['path']} was left unchanged.")
    document = remove_key_paths(document, key_paths)
    return deep_merge(document, overlay)


def install_document(module: AnsibleModule, target: str, text: str, dockerd: str | None,
                     result: dict[str, t.Any]) -> None:
    """Validate text, back up the old file if requested, and move text into place atomically."""
    path = module.params["path"]
    exists = os.path.exists(target)
    directory = os.path.dirname(target)
    try:
        if not os.path.isdir(directory):
            os.makedirs(directory, mode=0o755)
        candidate = write_temp_file(directory, text)
    except OSError as error:
        module.fail_json(msg=f"failed to write a temporary file in {directory}: {to_native(error)}. "
                             f"{path} was left unchanged; check that the directory is writable.")
    if dockerd is not None:
        validate_file(module, dockerd, candidate)
        result["validation"] = "passed"
    if module.params["backup"] and exists:
        result["backup_file"] = module.backup_local(target)

    # atomic_move gives the new file the old one's mode, owner and SELinux
    # context. A file that did not exist gets the defaults below instead.
    module.atomic_move(candidate, target)
    if not exists:
        module.set_mode_if_different(target, NEW_FILE_MODE, False)
        if os.geteuid() == 0:
            module.set_owner_if_different(target, "root", False)
            module.set_group_if_different(target, "root", False)


def main() -> None:
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    path = module.params["path"]
    # Writing to the resolved name updates a symlinked daemon.json's target
    # and leaves the link itself in place.
    target = os.path.realpath(path)
    if os.path.isdir(target):
        module.fail_json(msg=f"{path} is a directory; give the path of the daemon.json file")
    exists = os.path.exists(target)

    data = b""
    if exists:
        try:
            with open(target, "rb") as handle:
                data = handle.read()
        except OSError as error:
            module.fail_json(msg=f"failed to read {path}: {to_native(error)}; check its permissions")
    try:
        parsed = parse_document(data, path)
    except DaemonJsonError as error:
        module.fail_json(msg=f"{error}. The file was left unchanged.",
                         validation="skipped: the file could not be parsed")
    for key in parsed.duplicate_keys:
        module.warn(f"{path} has the key '{key}' more than once; dockerd uses the last one, "
                    "and so does this module, which drops the others when it writes the file")

    before = parsed.document
    after = compute_document(module, before)
    changed = not documents_equal(before, after)
    changed_keys = changed_key_paths(before, after)
    for warning in find_content_warnings(after):
        module.warn(warning)
    changed_top_keys = {key for key in set(before) | set(after)
                        if key not in before or key not in after or not documents_equal(before[key], after[key])}
    check_flag_conflicts(module, after, changed_top_keys)

    new_text = render_document(after, parsed.indent)
    result: dict[str, t.Any] = dict(
        changed=changed,
        config=after,
        changed_keys=changed_keys,
        restart_required=changed,
        created=changed and not exists,
        validation="skipped: nothing changed",
    )
    if changed and module._diff:
        result["diff"] = dict(before=data.decode("utf-8"), after=new_text,
                              before_header=path, after_header=path)
    if not changed:
        module.exit_json(**result)

    dockerd = None
    if module.params["validate"]:
        dockerd, result["validation"] = validation_support(module)
    else:
        result["validation"] = "skipped: validate=false"

    if module.check_mode:
        if dockerd is not None:
            candidate = write_temp_file(module.tmpdir, new_text)
            validate_file(module, dockerd, candidate)
            os.unlink(candidate)
            result["validation"] = "passed"
        module.exit_json(**result)

    install_document(module, target, new_text, dockerd, result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
