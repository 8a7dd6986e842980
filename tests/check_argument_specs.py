"""Check that every role's meta/argument_specs.yml agrees with defaults/main.yml.

Checks each role under roles/, or the role folders given as arguments. The
`main` entry point of meta/argument_specs.yml must list exactly the
variables of defaults/main.yml with the same default values. Each default
must also fit the declared `type`, `elements` and `choices`. An option
without a default is accepted only when it is `required: true`. A role
without defaults/main.yml is checked as if the file were empty.

Exit status: 0 when every role agrees, 1 when any problem is found, 2 when
a file cannot be read. Each problem is printed as `role: variable: problem`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent

# Python types a default may have for each argument spec `type`. `bool` is
# a subclass of `int`, so it is rejected separately for int and float.
TYPE_CHECKS: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "path": (str,),
    "int": (int,),
    "float": (float, int),
    "bool": (bool,),
    "list": (list,),
    "dict": (dict,),
}
# Types whose values cannot be checked from the default alone.
UNCHECKED_TYPES = {"raw", "bits", "bytes", "json", "jsonarg"}
NUMERIC_TYPES = {"int", "float"}
DEFAULTS_FILES = ("defaults/main.yml", "defaults/main.yaml")
SPEC_FILES = ("meta/argument_specs.yml", "meta/argument_specs.yaml")


class AnsibleTagLoader(yaml.SafeLoader):
    """SafeLoader that reads Ansible's `!unsafe` and `!vault` tags as plain strings."""


def _construct_tagged_scalar(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    return loader.construct_scalar(node)


AnsibleTagLoader.add_constructor("!unsafe", _construct_tagged_scalar)
AnsibleTagLoader.add_constructor("!vault", _construct_tagged_scalar)


class ReadError(Exception):
    """A role file that is missing where required or cannot be parsed."""


def load_yaml(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as handle:
            return yaml.load(handle, Loader=AnsibleTagLoader)
    except (OSError, yaml.YAMLError) as error:
        raise ReadError(f"{path}: cannot be read as YAML: {error}") from error


def first_existing(role: Path, candidates: tuple[str, ...]) -> Path | None:
    for name in candidates:
        if (role / name).is_file():
            return role / name
    return None


def read_defaults(role: Path) -> dict[str, Any]:
    path = first_existing(role, DEFAULTS_FILES)
    if path is None:
        return {}
    document = load_yaml(path)
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise ReadError(f"{path}: expected a mapping of variable names, found {type(document).__name__}")
    return document


def read_main_options(role: Path) -> dict[str, dict[str, Any]] | None:
    """Return the options of the `main` entry point, or None when the role has no spec file."""
    path = first_existing(role, SPEC_FILES)
    if path is None:
        return None
    document = load_yaml(path) or {}
    specs = document.get("argument_specs") if isinstance(document, dict) else None
    if not isinstance(specs, dict) or not isinstance(specs.get("main"), dict):
        raise ReadError(f"{path}: no `argument_specs.main` entry point found")
    options = specs["main"].get("options") or {}
    if not isinstance(options, dict):
        raise ReadError(f"{path}: `argument_specs.main.options` must be a mapping")
    return options


def value_fits_type(value: Any, type_name: str) -> bool:
    if type_name in UNCHECKED_TYPES:
        return True
    allowed = TYPE_CHECKS.get(type_name)
    if allowed is None:
        return False
    if type_name in NUMERIC_TYPES and isinstance(value, bool):
        return False
    return isinstance(value, allowed)


def is_template(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def check_default_value(name: str, spec: dict[str, Any], value: Any) -> list[str]:
    """Return the problems of one default value against its option spec."""
    problems: list[str] = []
    type_name = spec.get("type", "str")
    if type_name not in TYPE_CHECKS and type_name not in UNCHECKED_TYPES:
        problems.append(f"{name}: unknown type {type_name!r} in argument_specs")
        return problems
    # A null default means "unset", and a Jinja expression is only typed
    # once Ansible renders it, so neither can be checked here.
    if value is None or is_template(value):
        return problems
    if not value_fits_type(value, type_name):
        problems.append(
            f"{name}: default {value!r} is {type(value).__name__}, "
            f"but argument_specs declares type {type_name!r}"
        )
        return problems

    elements = spec.get("elements")
    if type_name == "list" and elements:
        for index, item in enumerate(value):
            if not is_template(item) and not value_fits_type(item, elements):
                problems.append(
                    f"{name}: element {index} ({item!r}) is not of the declared elements type {elements!r}"
                )

    choices = spec.get("choices")
    if choices is not None:
        chosen = value if type_name == "list" else [value]
        for item in chosen:
            if item not in choices:
                problems.append(f"{name}: default {item!r} is not one of the choices {choices!r}")
    return problems


def check_role(role: Path) -> list[str]:
    """Return the problems found in one role folder."""
    defaults = read_defaults(role)
    options = read_main_options(role)
    if options is None:
        return ["meta/argument_specs.yml is missing; every role needs one"]
    problems = []

    for name in sorted(set(defaults) - set(options)):
        problems.append(f"{name}: set in defaults/main.yml but not listed in argument_specs")

    for name in sorted(set(options) - set(defaults)):
        spec = options[name] or {}
        if spec.get("required") is True:
            continue
        problems.append(
            f"{name}: listed in argument_specs but not set in defaults/main.yml "
            "(add it to defaults or mark it `required: true`)"
        )

    for name in sorted(set(options) & set(defaults)):
        spec = options[name] or {}
        if spec.get("required") is True:
            problems.append(f"{name}: marked `required: true` although defaults/main.yml sets it")
        spec_default = spec.get("default")
        if spec_default != defaults[name]:
            problems.append(
                f"{name}: default differs, defaults/main.yml has {defaults[name]!r}, "
                f"argument_specs has {spec_default!r}"
            )
        problems.extend(check_default_value(name, spec, defaults[name]))
    return problems


def role_folders(arguments: list[str]) -> list[Path]:
    if arguments:
        return [Path(argument) for argument in arguments]
    roles_dir = ROOT / "roles"
    if not roles_dir.is_dir():
        return []
    return sorted(path for path in roles_dir.iterdir() if path.is_dir() and not path.name.startswith("."))


def main(arguments: list[str]) -> int:
    roles = role_folders(arguments)
    failed = False
    unreadable = False
    for role in roles:
        try:
            problems = check_role(role)
        except ReadError as error:
            print(f"{role.name}: {error}", file=sys.stderr)
            unreadable = True
            continue
        for problem in problems:
            print(f"{role.name}: {problem}", file=sys.stderr)
        failed = failed or bool(problems)
    if unreadable:
        return 2
    if failed:
        return 1
    print(f"argument_specs agree with defaults in {len(roles)} role(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
