"""A job file, JSON or HCL, as the ``Job`` object of Nomad's jobs API.

JSON is taken as Nomad's CLI takes it (``command/helpers.go`` ``JobGetter``): a
``{"Job": {...}}`` wrapper or the bare job. HCL is read with python-hcl2 and turned
into the API's JSON for the fields Outrider's jobs API acts on or accepts (the
README's "Jobs" section): each block and attribute below maps to its API field, and
anything else is refused with its place in the file, rather than dropped. Strings
keep Nomad's runtime interpolations (``${NOMAD_ALLOC_ID}``); ``$${`` is HCL's
escape for a literal ``${``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from typing import Any

from outrider.cli.errors import CLIError

Convert = Callable[[Any, str], Any]


class JobFileError(CLIError):
    """The job file cannot be read or turned into a job."""


def _str(value: Any, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise JobFileError(f"{where} must be a string")
    return _unescape(str(value))


def _int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise JobFileError(f"{where} must be a whole number")
    return value


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise JobFileError(f"{where} must be true or false")
    return value


def _duration(value: Any, where: str) -> int:
    """A Go duration (``"30s"``, ``"1m30s"``) in nanoseconds, as the API carries it."""
    from outrider.config import ConfigError, parse_duration

    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if not isinstance(value, str):
        raise JobFileError(f'{where} must be a duration such as "30s"')
    try:
        return round(parse_duration(value) * 1_000_000_000)
    except ConfigError:
        raise JobFileError(
            f"{where}: invalid duration {value!r}: expected a Go duration such as 30s or 1m30s"
        ) from None


def _strings(value: Any, where: str) -> list[str]:
    if not isinstance(value, list):
        raise JobFileError(f"{where} must be a list of strings")
    return [_str(v, f"{where}[{i}]") for i, v in enumerate(value)]


def _string_map(value: Any, where: str) -> dict[str, str]:
    body = _body(value, where)
    return {
        k: _str(v, f"{where}.{k}") if not isinstance(v, bool) else str(v).lower() for k, v in body.items()
    }


def _raw(value: Any, where: str) -> Any:
    """A driver's ``config``: values pass as written (strings unescaped)."""
    if isinstance(value, str):
        return _unescape(value)
    if isinstance(value, list):
        return [_raw(v, where) for v in value]
    if isinstance(value, dict):
        return {k: _raw(v, f"{where}.{k}") for k, v in _body(value, where).items()}
    return value


def _unescape(text: str) -> str:
    for marker in ("${var.", "${local."):
        if marker in text:
            raise JobFileError(
                f"HCL variables are not supported here ({text!r})",
                "write the value in the file, or send the job as JSON",
            )
    return text.replace("$${", "${").replace("%%{", "%{")


def _body(value: Any, where: str) -> dict[str, Any]:
    """One block's body: python-hcl2 gives a list of one dict per block, marked ``__is_block__``."""
    if isinstance(value, list):
        if len(value) != 1:
            raise JobFileError(f"{where} may appear only once")
        value = value[0]
    if not isinstance(value, dict):
        raise JobFileError(f"{where} must be a block")
    return {k: v for k, v in value.items() if k != "__is_block__"}


def _labelled(value: Any, where: str) -> list[tuple[str, dict[str, Any]]]:
    """Blocks with one label (``group "web" { }``), in file order."""
    out = []
    for item in value if isinstance(value, list) else [value]:
        if not isinstance(item, dict):
            raise JobFileError(f"{where} must be a block with a name")
        for label, body in item.items():
            if label == "__is_block__":
                continue
            out.append((_unescape(label), _body(body, f'{where} "{label}"')))
    return out


def _table(fields: Mapping[str, tuple[str, Convert]]) -> Convert:
    def convert(value: Any, where: str) -> dict[str, Any]:
        return _fields(_body(value, where), where, fields)

    return convert


def _fields(body: dict[str, Any], where: str, fields: Mapping[str, tuple[str, Convert]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in body.items():
        if key not in fields:
            raise JobFileError(
                f'{where}: "{key}" is not supported by Outrider\'s jobs API',
                'remove it, or see the README\'s "Jobs" section for what a job may hold',
            )
        name, convert = fields[key]
        out[name] = convert(value, f"{where}.{key}")
    return out


_RESTART = _table(
    {
        "attempts": ("Attempts", _int),
        "interval": ("Interval", _duration),
        "delay": ("Delay", _duration),
        "mode": ("Mode", _str),
        "render_templates": ("RenderTemplates", _bool),
    }
)
_RESCHEDULE = _table(
    {
        "attempts": ("Attempts", _int),
        "interval": ("Interval", _duration),
        "delay": ("Delay", _duration),
        "delay_function": ("DelayFunction", _str),
        "max_delay": ("MaxDelay", _duration),
        "unlimited": ("Unlimited", _bool),
    }
)
_MIGRATE = _table(
    {
        "max_parallel": ("MaxParallel", _int),
        "health_check": ("HealthCheck", _str),
        "min_healthy_time": ("MinHealthyTime", _duration),
        "healthy_deadline": ("HealthyDeadline", _duration),
    }
)
_UPDATE = _table(
    {
        "max_parallel": ("MaxParallel", _int),
        "health_check": ("HealthCheck", _str),
        "min_healthy_time": ("MinHealthyTime", _duration),
        "healthy_deadline": ("HealthyDeadline", _duration),
        "progress_deadline": ("ProgressDeadline", _duration),
        "auto_revert": ("AutoRevert", _bool),
        "auto_promote": ("AutoPromote", _bool),
        "canary": ("Canary", _int),
        "stagger": ("Stagger", _duration),
    }
)
_LOGS = _table(
    {
        "max_files": ("MaxFiles", _int),
        "max_file_size": ("MaxFileSizeMB", _int),
        "disabled": ("Disabled", _bool),
        "enabled": ("Enabled", _bool),
    }
)
_DISK = _table({"size": ("SizeMB", _int), "sticky": ("Sticky", _bool), "migrate": ("Migrate", _bool)})
_RESOURCES = _table(
    {
        "cpu": ("CPU", _int),
        "memory": ("MemoryMB", _int),
        "memory_max": ("MemoryMaxMB", _int),
        "cores": ("Cores", _int),
    }
)
_TASK_FIELDS: dict[str, tuple[str, Convert]] = {
    "driver": ("Driver", _str),
    "config": ("Config", lambda value, where: _raw(_body(value, where), where)),
    "env": ("Env", _string_map),
    "meta": ("Meta", _string_map),
    "kill_signal": ("KillSignal", _str),
    "kill_timeout": ("KillTimeout", _duration),
    "shutdown_delay": ("ShutdownDelay", _duration),
    "logs": ("LogConfig", _LOGS),
    "restart": ("RestartPolicy", _RESTART),
    "resources": ("Resources", _RESOURCES),
}


def _task(name: str, body: dict[str, Any], where: str) -> dict[str, Any]:
    return {"Name": name, **_fields(body, where, _TASK_FIELDS)}


def _tasks(value: Any, where: str) -> list[dict[str, Any]]:
    return [_task(name, body, f'{where} "{name}"') for name, body in _labelled(value, where)]


_GROUP_FIELDS: dict[str, tuple[str, Convert]] = {
    "count": ("Count", _int),
    "meta": ("Meta", _string_map),
    "restart": ("RestartPolicy", _RESTART),
    "reschedule": ("ReschedulePolicy", _RESCHEDULE),
    "migrate": ("Migrate", _MIGRATE),
    "update": ("Update", _UPDATE),
    "ephemeral_disk": ("EphemeralDisk", _DISK),
    "shutdown_delay": ("ShutdownDelay", _duration),
    "task": ("Tasks", _tasks),
}


def _groups(value: Any, where: str) -> list[dict[str, Any]]:
    return [
        {"Name": name, **_fields(body, f'{where} "{name}"', _GROUP_FIELDS)}
        for name, body in _labelled(value, where)
    ]


_JOB_FIELDS: dict[str, tuple[str, Convert]] = {
    "name": ("Name", _str),
    "namespace": ("Namespace", _str),
    "type": ("Type", _str),
    "region": ("Region", _str),
    "datacenters": ("Datacenters", _strings),
    "node_pool": ("NodePool", _str),
    "priority": ("Priority", _int),
    "all_at_once": ("AllAtOnce", _bool),
    "meta": ("Meta", _string_map),
    "update": ("Update", _UPDATE),
    "reschedule": ("Reschedule", _RESCHEDULE),
    "migrate": ("Migrate", _MIGRATE),
    "group": ("TaskGroups", _groups),
}


def job_from_hcl(text: str, where: str) -> dict[str, Any]:
    """The ``Job`` of an HCL jobspec."""
    import hcl2
    from hcl2.utils import SerializationOptions

    try:
        data = hcl2.loads(
            text,
            serialization_options=SerializationOptions(strip_string_quotes=True, preserve_heredocs=False),
        )
    except Exception as exc:  # python-hcl2 raises lark's many error types
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise JobFileError(
            f"{where} is not valid HCL: {first}", "fix the syntax, or send the job as JSON"
        ) from None
    extra = sorted(k for k in data if k != "job")
    if extra:
        raise JobFileError(f'{where}: "{extra[0]}" is not supported', "a job file holds one job block")
    jobs = _labelled(data.get("job", []), "job")
    if len(jobs) != 1:
        raise JobFileError(f"{where} must hold exactly one job block, not {len(jobs)}")
    job_id, body = jobs[0]
    job = {"ID": job_id, "Name": job_id, **_fields(body, f'job "{job_id}"', _JOB_FIELDS)}
    return job


def job_from_json(text: str, where: str) -> dict[str, Any]:
    """The ``Job`` of a JSON job file, with or without the ``{"Job": ...}`` wrapper."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise JobFileError(f"{where} is not valid JSON: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("Job"), dict):
        data = data["Job"]
    if not isinstance(data, dict):
        raise JobFileError(f"{where} must hold a JSON object (a job)")
    return data


def load_job(path: str, as_json: bool = False) -> dict[str, Any]:
    """Read a job file (``-`` for stdin): JSON when asked, named ``*.json`` or starting with ``{``, else HCL."""
    where = "stdin" if path == "-" else path
    try:
        if path == "-":
            text = sys.stdin.read()
        else:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
    except OSError as exc:
        raise JobFileError(f"cannot read the job file {where}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise JobFileError(f"{where} is not UTF-8 text") from None
    if as_json or path.endswith(".json") or text.lstrip().startswith("{"):
        return job_from_json(text, where)
    return job_from_hcl(text, where)
