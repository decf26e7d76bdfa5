# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Registry: ``win_regedit`` and ``win_reg_stat`` over the ``registry`` section of the state.

Follows ansible.windows ``win_regedit.ps1`` / ``win_reg_stat.ps1`` (data conversion, diff
format ``{type: DWord, value: 0x00000001}``, ``data_changed``/``data_type_changed``). Keys are
matched case-insensitively (as Windows does); ``HKEY_LOCAL_MACHINE\\`` and ``HKLM\\`` in a state
file are accepted as ``HKLM:\\``. The ``hive`` option (loading a hive file) is not modelled.
Values are stored unsigned (dword/qword), binary as a list of ints.
"""

from __future__ import annotations

import re

from ansible_collections.vmbackup.azure.plugins.plugin_utils._winsim.args import fail

_PATH_RE = re.compile(r"^HK(CC|CR|CU|LM|U):\\", re.IGNORECASE)
_LONG_HIVES = {
    "hkey_local_machine": "hklm:",
    "hkey_current_user": "hkcu:",
    "hkey_classes_root": "hkcr:",
    "hkey_users": "hku:",
    "hkey_current_config": "hkcc:",
}
KIND = {  # option value -> .NET RegistryValueKind name (diff) and REG_* name (win_reg_stat)
    "string": ("String", "REG_SZ"),
    "expandstring": ("ExpandString", "REG_EXPAND_SZ"),
    "dword": ("DWord", "REG_DWORD"),
    "qword": ("QWord", "REG_QWORD"),
    "multistring": ("MultiString", "REG_MULTI_SZ"),
    "binary": ("Binary", "REG_BINARY"),
    "none": ("None", "REG_NONE"),
}
# Assumption: a fixed environment for expanding REG_EXPAND_SZ values in win_reg_stat's `value`.
_ENV = {
    "systemroot": "C:\\Windows",
    "windir": "C:\\Windows",
    "systemdrive": "C:",
    "programfiles": "C:\\Program Files",
    "programdata": "C:\\ProgramData",
}


def norm(path: str) -> str:
    p = str(path).strip().rstrip("\\").lower()
    head, sep, rest = p.partition("\\")
    head = _LONG_HIVES.get(head, head)
    if not head.endswith(":"):
        head += ":"
    return head + sep + rest if rest else head + "\\"


def find_key(state, path: str) -> str | None:
    target = norm(path)
    for key in state.section("registry"):
        if norm(key) == target:
            return key
    return None


def key_exists(state, path: str) -> bool:
    if find_key(state, path) is not None:
        return True
    prefix = norm(path).rstrip("\\") + "\\"
    return any(norm(k).startswith(prefix) for k in state.section("registry"))


def sub_keys(state, path: str) -> list[str]:
    prefix = norm(path).rstrip("\\") + "\\"
    depth = prefix.count("\\")  # components of path; a state key may spell the hive long (HKEY_LOCAL_MACHINE)
    out = []
    for key in state.section("registry"):
        n = norm(key)
        if n.startswith(prefix):
            child = str(key).strip().rstrip("\\").split("\\")[depth]
            if child and child.lower() not in (c.lower() for c in out):
                out.append(child)
    return out


def _find_value(values: dict, name: str | None):
    name = name or ""
    if name in values:
        return name
    low = name.lower()
    for key in values:
        if str(key).lower() == low:
            return key
    return None


def _hex_bytes(s: str) -> list[int]:
    s = re.sub(r"^hex:", "", s.lower())
    s = re.sub(r"[^a-f0-9\\,x\-:]", "", s).replace(",", ":")
    if not s:
        return []
    if len(s) == 1:
        return [int(s, 16)]
    if ":" in s:
        return [int(b, 16) for b in re.split(":+", s) if b]
    if len(s) % 2 == 0:
        return [int(s[i : i + 2], 16) for i in range(0, len(s), 2)]
    return []


def _convert(data, typ: str, name):
    """Data conversion as win_regedit.ps1 does it."""
    if typ in ("binary", "none"):
        if data is None:
            data = ""
        if isinstance(data, str):
            return _hex_bytes(data)
        if isinstance(data, int):
            if data > 255:
                raise fail(
                    f"cannot convert binary data '{data}' to byte array, please specify this value as a yaml byte "
                    "array or a comma separated hex value string"
                )
            return [data]
        return [int(b) for b in data]
    if typ in ("dword", "qword"):
        if data is None:
            data = 0
        if isinstance(data, str):
            try:
                data = int(data, 0)
            except ValueError:
                data = int(data)
        elif isinstance(data, float):
            if data % 1:
                raise fail(
                    f"data '{data}' cannot be a decimal or float value with a remainder when type is dword or qword"
                )
            data = int(data)
        if typ == "dword" and data > 0xFFFFFFFF:
            raise fail("data cannot be larger than 0xffffffff when type is dword")
        if data > 0xFFFFFFFFFFFFFFFF:
            raise fail("data cannot be larger than 0xffffffffffffffff when type is qword")
        return data & (0xFFFFFFFF if typ == "dword" else 0xFFFFFFFFFFFFFFFF)
    if typ in ("string", "expandstring"):
        if data is None:
            return "" if name else None
        return data if isinstance(data, str) else str(data)
    if typ == "multistring":
        if data is None:
            return []
        if isinstance(data, list):
            return [str(x) for x in data]
        return [str(data)]
    return data


def diff_value(typ: str, data) -> dict:
    kind = KIND.get(typ, KIND["string"])[0]
    if typ in ("binary", "none"):
        return {"type": kind, "value": [f"0x{b:02x}" for b in data]}
    if typ == "dword":
        return {"type": kind, "value": f"0x{data:08x}"}
    if typ == "qword":
        return {"type": kind, "value": f"0x{data:016x}"}
    return {"type": kind, "value": data}


def win_regedit(ctx) -> dict:
    p, state = ctx.params, ctx.state
    path, typ = p["path"], p["type"]
    name = p.get("name") or None
    warnings = []
    if name is None and typ != "string":
        warnings.append(
            "the data type when name is not specified can only be 'string', the type has automatically been converted"
        )
        typ = "string"
    if not _PATH_RE.match(path):
        raise fail(f"path: {path} is not a valid powershell path, see module documentation for examples.")
    if p.get("hive"):
        raise fail("simulator: the hive option is not modelled")
    data = _convert(p.get("data"), typ, name)
    result = {"changed": False, "data_changed": False, "data_type_changed": False}
    before, after = "", ""
    reg = state.section("registry")
    key = find_key(state, path)
    exists = key is not None or key_exists(state, path)
    vname = name or ""

    if p["state"] == "absent":
        if exists and p["delete_key"] and not name:
            result["changed"] = True
            before, after = {path: {}}, {}
            if not ctx.check_mode:
                prefix = norm(path).rstrip("\\") + "\\"
                for k in [k for k in reg if norm(k) == norm(path) or norm(k).startswith(prefix)]:
                    del reg[k]
                state.touch()
        elif exists:
            values = reg.get(key) or {} if key is not None else {}
            found = _find_value(values, vname)
            if found is not None:
                old = values[found]
                result["changed"] = True
                before = {path: {vname: diff_value(old.get("type", "string"), old.get("data"))}}
                after = {path: {}}
                if not ctx.check_mode:
                    del values[found]
                    state.touch()
    else:
        if not exists:
            result["changed"] = True
            before, after = {}, {path: {}}
            if ctx.check_mode:
                return _finish(ctx, result, before, after, warnings)
            key = path
            reg[key] = {}
            state.touch()
        else:
            before, after = {path: {}}, {path: {}}
            if key is None:  # exists only as a parent of listed keys: list it now
                key = path
                reg[key] = {}
        if data is None:
            return _finish(ctx, result, before, after, warnings)
        values = reg.get(key)
        if values is None:
            values = reg[key] = {}
        found = _find_value(values, vname)
        if found is not None:
            old = values[found]
            old_type, old_data = old.get("type", "string"), _convert(old.get("data"), old.get("type", "string"), vname)
            mismatch = old_data != data
            change = False
            if old_type != typ:
                change = True
                result["data_type_changed"] = True
                result["data_changed"] = mismatch
            elif mismatch:
                change = True
                result["data_changed"] = True
            before[path][vname] = diff_value(old_type, old_data)
            after[path][vname] = diff_value(typ, data) if change else diff_value(old_type, old_data)
            if change:
                result["changed"] = True
                if not ctx.check_mode:
                    values[found] = {"type": typ, "data": data}
                    state.touch()
        else:
            result["changed"] = True
            after[path][vname] = diff_value(typ, data)
            if not ctx.check_mode:
                values[vname] = {"type": typ, "data": data}
                state.touch()
    return _finish(ctx, result, before, after, warnings)


def _finish(ctx, result, before, after, warnings) -> dict:
    if ctx.diff_mode:
        result["diff"] = {"before": before, "after": after}
    if warnings:
        result["warnings"] = warnings
    return result


def _expand(s: str) -> str:
    return re.sub(r"%(\w+)%", lambda m: _ENV.get(m.group(1).lower(), m.group(0)), s)


def _stat_value(entry: dict) -> dict:
    typ = entry.get("type", "string")
    data = _convert(entry.get("data"), typ, "x")
    reg_type = KIND.get(typ, KIND["string"])[1]
    if typ in ("binary", "none"):
        return {"type": reg_type, "value": data, "raw_value": [f"0x{b:02x}" for b in data]}
    if typ == "expandstring":
        return {"type": reg_type, "value": _expand(data), "raw_value": data}
    return {"type": reg_type, "value": data, "raw_value": data}


def win_reg_stat(ctx) -> dict:
    p, state = ctx.params, ctx.state
    path, name = p["path"], p.get("name")
    if not _PATH_RE.match(path):
        raise fail(f"path: {path} is not a valid registry path, see module documentation for examples.")
    result = {"changed": False}
    if not key_exists(state, path):
        result["exists"] = False
        return result
    key = find_key(state, path)
    values = (state.section("registry").get(key) or {}) if key is not None else {}
    if name is None:
        result["exists"] = True
        result["properties"] = {str(k): _stat_value(v) for k, v in values.items()}
        result["sub_keys"] = sub_keys(state, path)
        return result
    found = _find_value(values, name)
    if found is None:
        result["exists"] = False
        return result
    result["exists"] = True
    result.update(_stat_value(values[found]))
    return result
