"""Reading the fields of a Nomad JSON job: Go's zero values, typed fields with their limits, names.

Each reader names the field it reads (``where``) in the 400 it raises, as Nomad's job
validation names the offending field.
"""

from __future__ import annotations

from typing import Any

from outrider.jobs.errors import JobError

# A task's name is part of file names: "<alloc_id>.<task>" (its cgroup) and
# "<task>.stderr.<index>" (its logs) must fit in NAME_MAX (255 bytes).
MAX_TASK_NAME_BYTES = 200


def is_empty(value: Any) -> bool:
    """Nomad's zero values: null, false, 0, "", and lists or objects holding only those."""
    if value is None or value is False or value == "" or (type(value) in (int, float) and value == 0):
        return True
    if isinstance(value, dict):
        return all(is_empty(v) for v in value.values())
    if isinstance(value, list):
        return not value
    return False


def check_fields(obj: dict[str, Any], where: str, used: set[str], ignored: set[str]) -> None:
    for key, value in obj.items():
        if key not in used and key not in ignored and not is_empty(value):
            raise JobError(f"{where}.{key} is not supported by Outrider")


def read_obj(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise JobError(f"{where} must be an object")
    return value


def read_int(
    value: Any, where: str, default: int, minimum: int | None = None, maximum: int | None = None
) -> int:
    if value is None:
        return default
    if type(value) is not int:
        raise JobError(f"{where} must be an integer")
    if minimum is not None and value < minimum:
        raise JobError(f"{where} must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise JobError(f"{where} must be at most {maximum}, got {value}")
    return value


def read_str(value: Any, where: str, default: str = "") -> str:
    if value is None:
        return default
    if not isinstance(value, str):
        raise JobError(f"{where} must be a string")
    return value


def read_exec_str(value: Any, where: str, default: str = "") -> str:
    """A string that reaches ``execve`` (command, argument, environment), which cannot carry a NUL byte."""
    text = read_str(value, where, default)
    if "\x00" in text:
        raise JobError(f"{where} contains a NUL byte")
    return text


def read_list(value: Any, where: str, limit: int) -> list[Any]:
    if not isinstance(value, list) or not value:
        return []
    if len(value) > limit:
        raise JobError(f"{where} has {len(value)} entries; the limit is {limit}")
    return value


def too_deep(value: Any, limit: int) -> bool:
    """Whether objects and arrays nest more than ``limit`` levels (iterative: no recursion limit)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def read_bool(value: Any, where: str) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise JobError(f"{where} must be a boolean")
    return value


def read_env(value: Any, where: str) -> dict[str, str]:
    obj = read_obj(value, where)
    for key, item in obj.items():
        if "=" in key or "\x00" in key:
            raise JobError(f"{where} has a variable name containing '=' or a NUL byte: {key!r}")
        if not isinstance(item, str):
            raise JobError(f"{where}.{key} must be a string")
        read_exec_str(item, f"{where}.{key}")
    return dict(obj)


def read_name(value: Any, where: str, what: str) -> str:
    name = read_str(value, where)
    if not name:
        raise JobError(f"Missing {what} name")
    if "/" in name or "\x00" in name or name in (".", "..") or (what == "task" and name == "alloc"):
        raise JobError(f"{what} name {name!r} cannot be used as a directory name")
    size = len(name.encode())
    if what == "task" and size > MAX_TASK_NAME_BYTES:
        raise JobError(f"task name is {size} bytes long; the limit is {MAX_TASK_NAME_BYTES}")
    return name
