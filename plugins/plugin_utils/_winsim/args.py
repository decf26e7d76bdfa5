# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Argument validation like ``Ansible.Basic.AnsibleModule`` (ansible-core
``module_utils/csharp/Ansible.Basic.cs``), driven by the module's installed documentation.

Same order and messages as Ansible.Basic: unsupported parameters (case-insensitive match is
accepted and renamed), then the check-mode gate (done by the caller), aliases, defaults and
required, type conversion, choices (case-insensitive), then unset options become ``None``.

Assumption: modules written on ``Ansible.ModuleUtils.Legacy`` (win_reg_stat, win_file_version)
ignore unknown options on real Windows; the simulator is stricter and rejects them like
Ansible.Basic does (a typo should fail in tests, not pass silently).
"""

from __future__ import annotations

import json

BOOLEANS_TRUE = ("y", "yes", "on", "1", "true", "t", "1.0")
BOOLEANS_FALSE = ("n", "no", "off", "0", "false", "f", "0.0")
NO_LOG_MARK = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"

_NET_TYPES = {
    str: "System.String",
    bool: "System.Boolean",
    int: "System.Int32",
    float: "System.Double",
    list: "System.Object[]",
    dict: "System.Collections.Hashtable",
}


class ModuleExit(Exception):
    """Stop the module with this result (failure or early exit)."""

    def __init__(self, result: dict):
        super().__init__(result.get("msg", ""))
        self.result = result


def fail(msg: str, **extra) -> ModuleExit:
    return ModuleExit({"failed": True, "msg": msg, "changed": False, **extra})


def _ps_str(value) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    return str(value)


def _to_bool(value):
    if isinstance(value, bool):
        return value
    s = _ps_str(value).lower().strip()
    if s in BOOLEANS_TRUE:
        return True
    if s in BOOLEANS_FALSE:
        return False
    raise ValueError(
        f"The value '{s}' is not a valid boolean. Valid booleans include: {', '.join(BOOLEANS_TRUE + BOOLEANS_FALSE)}"
    )


def _to_int(value):
    if isinstance(value, bool):
        raise ValueError("Input string was not in a correct format.")
    if isinstance(value, int):
        return value
    try:
        return int(_ps_str(value).strip())
    except ValueError:
        raise ValueError("Input string was not in a correct format.") from None


def _to_float(value):
    try:
        return float(_ps_str(value))
    except ValueError:
        raise ValueError("Input string was not in a correct format.") from None


def _to_list(value):
    if value is None:
        return None
    if isinstance(value, list):
        return value
    if isinstance(value, str):
        return [s.strip() for s in value.split(",")]
    if isinstance(value, int) and not isinstance(value, bool):
        return [value]
    raise ValueError(f"{_NET_TYPES.get(type(value), type(value).__name__)} cannot be converted to a list")


def _to_dict(value):
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        s = value.strip()
        if s.startswith("{") and s.endswith("}"):
            return json.loads(s)
        if "=" in s:
            out = {}
            for part in s.replace(",", " ").split():
                k, _sep, v = part.partition("=")
                out[k] = v
            return out
        raise ValueError("string cannot be converted to a dict, must either be a JSON string or in the key=value form")
    raise ValueError(f"{_NET_TYPES.get(type(value), type(value).__name__)} cannot be converted to a dict")


def _to_path(value):
    # Ansible.Basic expands %ENV% variables; the simulator has no environment: kept as given.
    s = _ps_str(value)
    if any(c in s for c in '<>"|\0'):
        raise ValueError("string value contains invalid path characters, cannot convert to path")
    return s


def _to_json(value):
    if isinstance(value, dict):
        return json.dumps(value)
    if isinstance(value, str):
        return value
    raise ValueError(f"{_NET_TYPES.get(type(value), type(value).__name__)} cannot be converted to json")


CONVERTERS = {
    "str": _ps_str,
    "bool": _to_bool,
    "int": _to_int,
    "float": _to_float,
    "list": _to_list,
    "dict": _to_dict,
    "path": _to_path,
    "raw": lambda v: v,
    "json": _to_json,
    "sid": _ps_str,
}


def _context(ctx: list[str], msg: str) -> str:
    return f"{msg} found in {' -> '.join(ctx)}" if ctx else msg


def check_unsupported(options: dict, params: dict, module_name: str, ctx: list[str] | None = None) -> dict:
    """Split off ``_ansible_*`` keys; fail on unknown options. Returns the control values."""
    ctx = ctx or []
    legal = list(options)
    for spec in options.values():
        legal.extend((spec or {}).get("aliases") or [])
    lower = {k.lower(): k for k in legal}
    control, unsupported = {}, []
    for key in list(params):
        if key in legal:
            continue
        if key.lower() in lower:
            params[lower[key.lower()]] = params.pop(key)
        elif not ctx and key.startswith("_ansible_"):
            control[key[len("_ansible_") :]] = params.pop(key)
        else:
            unsupported.append(key)
    if unsupported and not control.get("ignore_unknown_opts"):
        msg = f"Unsupported parameters for ({module_name}) module: {', '.join(sorted(unsupported))}"
        raise fail(f"{_context(ctx, msg)}. Supported parameters include: {', '.join(sorted(legal))}")
    return control


def validate(options: dict, params: dict, ctx: list[str] | None = None) -> dict:
    """Aliases, defaults, required, types, choices, sub-options. ``params`` is modified and returned."""
    ctx = ctx or []
    for name, spec in options.items():
        for alias in (spec or {}).get("aliases") or []:
            if alias in params:
                params[name] = params.pop(alias)
    missing = []
    for name, spec in options.items():
        spec = spec or {}
        if "default" in spec and spec["default"] is not None and params.get(name) is None:
            params[name] = spec["default"]
        if spec.get("required") and params.get(name) is None:
            missing.append(name)
    if missing:
        raise fail(_context(ctx, f"missing required arguments: {', '.join(missing)}"))
    for name, spec in options.items():
        spec = spec or {}
        value = params.get(name)
        if value is None:
            params[name] = None
            continue
        typ = spec.get("type", "str")
        try:
            value = CONVERTERS.get(typ, CONVERTERS["raw"])(value)
            if typ == "list" and spec.get("elements") and spec["elements"] != "dict":
                value = [CONVERTERS.get(spec["elements"], CONVERTERS["raw"])(v) for v in value]
        except (ValueError, TypeError) as e:
            got = _NET_TYPES.get(type(value), type(value).__name__)
            raise fail(
                _context(ctx, f"argument for {name} is of type {got} and we were unable to convert to {typ}: {e}")
            ) from None
        choices = [str(c) for c in spec.get("choices") or []]
        if choices:
            values = [_ps_str(v) for v in value] if typ == "list" else [_ps_str(value)]
            low = {c.lower() for c in choices}
            bad = [v for v in values if v.lower() not in low]
            if bad:
                which = "one or more of" if typ == "list" else "one of"
                raise fail(
                    _context(
                        ctx,
                        f"value of {name} must be {which}: {', '.join(choices)}. Got no match for: {', '.join(bad)}",
                    )
                )
        sub = spec.get("suboptions")
        if sub:
            items = value if isinstance(value, list) else [value]
            for item in items:
                if isinstance(item, dict):
                    check_unsupported(sub, item, "", ctx + [name])
                    validate(sub, item, ctx + [name])
        params[name] = value
    return params


def redact(params: dict, options: dict) -> dict:
    """For ``invocation``: hide anything that looks secret (docs carry no ``no_log`` flag)."""
    out = {}
    for k, v in params.items():
        secret = "password" in k or "secret" in k or (options.get(k) or {}).get("no_log")
        out[k] = NO_LOG_MARK if secret and v is not None else v
    return out
