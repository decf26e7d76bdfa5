# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Registry-based checks and fixes: what the probe reads, desired values vs current, one evaluator per code.

Internal to vmbackup.azure (pure Python, no Ansible imports): used by the scan (``backup_scan``)
and by the ``dotnet_strong_crypto``, ``bcdr_agent_keys`` and ``bcdr_vss_copy_backup`` action
plugins, so a scan and ``remediate.yml --check`` compute the same plan (docs/architecture.md).

The probe's ``registry`` section (plugins/plugin_utils/_windows_probe.py) reads every key of
:data:`PROBE_KEYS` and, below each root of :data:`PROBE_DISCOVER`, every subkey whose name matches
the pattern. Its output::

    registry:
      keys:
        'HKLM:\\SOFTWARE\\Microsoft\\.NETFramework\\v4.0.30319':
          exists: true
          values: {SchUseStrongCrypto: {type: dword, data: 1}}
          # type: string|expandstring|dword|qword|multistring|binary|none
          subkeys: [SKUs]
          # error: "<message>"   only when the key exists but could not be read

Types are the names ``ansible.windows.win_regedit`` takes. Wrong type counts as wrong: REG_SZ ``1``
is not dword ``1``. Strings compare exactly (case-sensitive): what the consumer of a value does
with ``true`` instead of ``TRUE`` is not documented, so the documented spelling is written.
"""

from __future__ import annotations

import re

from ansible_collections.vmbackup.azure.plugins.module_utils._findings import make_finding
from ansible_collections.vmbackup.azure.plugins.plugin_utils._probe_sections import require

HKLM = "HKLM:\\"

# ExtensionSnapshotFailedNoSecureNetwork: the doc says the .NET versions are "under
# HKLM\SOFTWARE\Microsoft"; the version keys are under ...\Microsoft\.NETFramework, and 32-bit .NET
# reads the WOW6432Node view (catalog field_note), so both views are checked. Version keys are
# discovered (subkeys named v<digits>..., e.g. v2.0.50727, v4.0.30319), never hard-coded.
DOTNET_ROOTS = (
    ("64-bit", "HKLM:\\SOFTWARE\\Microsoft\\.NETFramework"),
    ("32-bit", "HKLM:\\SOFTWARE\\WOW6432Node\\Microsoft\\.NETFramework"),
)
DOTNET_VERSION_PATTERN = r"^v\d"
_DOTNET_VERSION = re.compile(DOTNET_VERSION_PATTERN, re.IGNORECASE)
STRONG_CRYPTO = "SchUseStrongCrypto"

# ExtensionFailedTimeoutVMNetworkUnresponsive, step 1 of the doc.
BCDR_PERSISTENT_KEYS = "HKLM:\\SOFTWARE\\Microsoft\\BcdrAgentPersistentKeys"

# SqlServerSnapshotDelay: REG_SZ TRUE (field notes section 2: the snapshot-timeout page), not a DWORD.
BCDRAGENT = "HKLM:\\SOFTWARE\\Microsoft\\BCDRAGENT"
USE_VSS_COPY_BACKUP = "USEVSSCOPYBACKUP"

# SQL Server detection. SQL Server setup lists the instance names of the database engine in
# REG_MULTI_SZ InstalledInstances under ...\Microsoft SQL Server (64-bit instances) and under the
# WOW6432Node view (32-bit instances on 64-bit Windows). The key alone is not enough: client tools,
# SSMS and the SQL VSS writer create it without an instance. Each engine instance also runs a
# service named MSSQLSERVER (default instance) or MSSQL$<instance> (named instance); the probe's
# services section has them. Either signal means "SQL Server is installed".
SQL_SERVER_KEYS = (
    "HKLM:\\SOFTWARE\\Microsoft\\Microsoft SQL Server",
    "HKLM:\\SOFTWARE\\WOW6432Node\\Microsoft\\Microsoft SQL Server",
)
INSTALLED_INSTANCES = "InstalledInstances"
_SQL_SERVICE = re.compile(r"^(MSSQLSERVER|MSSQL\$.+)$", re.IGNORECASE)

# What the probe's registry section reads: every key here (values and subkey names), and below each
# root of PROBE_DISCOVER every subkey matching the pattern (PowerShell -match and Python re agree on
# these patterns; both case-insensitive). Only HKLM paths. Add the keys your check needs here.
PROBE_KEYS: tuple[str, ...] = (
    *(root for _view, root in DOTNET_ROOTS),
    BCDR_PERSISTENT_KEYS,
    BCDRAGENT,
    *SQL_SERVER_KEYS,
)
PROBE_DISCOVER: tuple[tuple[str, str], ...] = tuple((root, DOTNET_VERSION_PATTERN) for _view, root in DOTNET_ROOTS)

REG_TYPES = ("string", "expandstring", "dword", "qword", "multistring", "binary", "none")
REG_NAMES = {
    "string": "REG_SZ",
    "expandstring": "REG_EXPAND_SZ",
    "dword": "REG_DWORD",
    "qword": "REG_QWORD",
    "multistring": "REG_MULTI_SZ",
    "binary": "REG_BINARY",
    "none": "REG_NONE",
}

ERROR_CODES = {
    "dotnet": "ExtensionSnapshotFailedNoSecureNetwork",
    "bcdr": "ExtensionFailedTimeoutVMNetworkUnresponsive",
    "sql": "SqlServerSnapshotDelay",
}

# ExtensionFailedTimeoutVMNetworkUnresponsive steps 2 and 3: nothing safe to automate.
BCDR_REPORT_ONLY = (
    "report only (doc steps 2-3): schedule the backup when the VM is least loaded;"
    " if snapshots still time out, move the VM to a bigger size"
)


# --------------------------------------------------------------------------- paths and values


def norm_path(path: str) -> str:
    """Case-insensitive key for a registry path (``HKEY_LOCAL_MACHINE\\`` and ``HKLM\\`` read as ``HKLM:\\``)."""
    text = str(path).strip().rstrip("\\")
    head, sep, rest = text.partition("\\")
    head = head.lower()
    if head in ("hkey_local_machine", "hklm"):
        head = "hklm:"
    return (head + sep + rest).lower()


def hklm_subpath(path: str) -> str:
    """``HKLM:\\SOFTWARE\\X`` -> ``SOFTWARE\\X``; raise ValueError for any other hive."""
    if not norm_path(path).startswith("hklm:\\"):
        raise ValueError(f"only HKLM:\\ paths are read by the probe, got {path!r}")
    return str(path).strip().rstrip("\\").partition("\\")[2]


def normalize_data(typ: str, data):
    """Data as compared: dword/qword unsigned (.NET returns a DWORD as a signed Int32), lists as lists."""
    if typ == "dword" and isinstance(data, int) and not isinstance(data, bool):
        return data & 0xFFFFFFFF
    if typ == "qword" and isinstance(data, int) and not isinstance(data, bool):
        return data & 0xFFFFFFFFFFFFFFFF
    if typ in ("multistring", "binary", "none"):
        if data is None:
            return []
        return list(data) if isinstance(data, (list, tuple)) else [data]
    return data


def value_text(value: dict | None) -> str:
    """``dword 1`` / ``REG_SZ 'True'`` / ``(missing)`` for messages and diffs."""
    if value is None:
        return "(missing)"
    typ = value.get("type")
    data = normalize_data(typ, value.get("data"))
    if typ in ("dword", "qword"):
        return f"{typ} {data}"
    return f"{REG_NAMES.get(typ, typ)} {data!r}"


class RegistrySectionError(Exception):
    """The probe's registry section is missing, errored or malformed."""


def registry_keys(probe) -> dict[str, dict]:
    """``{normalized path: {path, exists, values, subkeys, error?}}`` from a probe result."""
    problem = require(probe, "registry")
    if problem:
        raise RegistrySectionError(problem)
    section = probe["registry"]
    out = {}
    for path, entry in section["keys"].items():
        if not isinstance(entry, dict):
            raise RegistrySectionError(f"registry key {path}: expected a mapping, got {type(entry).__name__}")
        values = entry.get("values") or {}
        if not isinstance(values, dict):
            raise RegistrySectionError(f"registry key {path}: values must be a mapping")
        out[norm_path(path)] = {
            "path": path,
            "exists": bool(entry.get("exists")),
            "values": values,
            "subkeys": [str(s) for s in entry.get("subkeys") or []],
            "error": entry.get("error"),
        }
    return out


def _lookup_key(keys: dict, path: str) -> dict:
    entry = keys.get(norm_path(path))
    if entry is None:
        raise RegistrySectionError(f"the probe did not read {path}")
    if entry.get("error"):
        raise RegistrySectionError(f"could not read {path}: {entry['error']}")
    return entry


def _lookup_value(values: dict, name: str) -> dict | None:
    """Value names are case-insensitive on Windows."""
    if name in values:
        return values[name]
    low = name.lower()
    for key, value in values.items():
        if str(key).lower() == low:
            return value
    return None


# --------------------------------------------------------------------------- the generic planner


def desired(path: str, name: str, typ: str, data) -> dict:
    if typ not in REG_TYPES:
        raise ValueError(f"registry type {typ!r} is not one of {', '.join(REG_TYPES)}")
    return {"path": path, "name": name, "type": typ, "data": normalize_data(typ, data)}


def plan_values(keys: dict, wanted: list[dict]) -> list[dict]:
    """One change per wanted value that differs from the host (type-aware), in the order given.

    ``keys`` is :func:`registry_keys` output. A change is the finding's action::

        {action: set_registry_value, path, name, type, data, current: {type, data} | None,
         key_exists, reason: 'key missing' | 'value missing' | 'wrong type' | 'wrong data',
         allowed: true, disruptive: false}
    """
    changes = []
    for want in wanted:
        entry = _lookup_key(keys, want["path"])
        current = _lookup_value(entry["values"], want["name"]) if entry["exists"] else None
        if not entry["exists"]:
            reason = "key missing"
        elif current is None:
            reason = "value missing"
        elif current.get("type") != want["type"]:
            reason = "wrong type"
        elif normalize_data(want["type"], current.get("data")) != want["data"]:
            reason = "wrong data"
        else:
            continue
        changes.append(
            {
                "action": "set_registry_value",
                "path": entry["path"] if entry["exists"] else want["path"],
                "name": want["name"],
                "type": want["type"],
                "data": want["data"],
                "current": None
                if current is None
                else {"type": current.get("type"), "data": normalize_data(current.get("type"), current.get("data"))},
                "key_exists": entry["exists"],
                "reason": reason,
                "allowed": True,
                "disruptive": False,
            }
        )
    return changes


def _current_text(change: dict) -> str:
    if change["current"] is None:
        return change["reason"]
    return f"{value_text(change['current'])} ({change['reason']})"


def change_text(change: dict) -> str:
    want = {"type": change["type"], "data": change["data"]}
    return (
        f"{change['path']} {change['name']}: {value_text(change['current'])} -> {value_text(want)} ({change['reason']})"
    )


def _gate(changes: list[dict], apply: bool) -> list[dict]:
    if not apply:
        for change in changes:
            change["allowed"] = False
            change["reason_not_allowed"] = "apply: false (report only)"
    return changes


def _fix_text(changes: list[dict]) -> str:
    allowed = [c for c in changes if c["allowed"]]
    parts = []
    if allowed:
        parts.append("set " + "; ".join(change_text(c) for c in allowed))
    held = [c for c in changes if not c["allowed"]]
    if held:
        parts.append("would set " + "; ".join(change_text(c) for c in held) + " but not allowed: apply is false")
    return "; ".join(parts)


# --------------------------------------------------------------------------- evaluators


def dotnet_version_keys(keys: dict, include_32bit_view: bool = True) -> tuple[list[dict], list[str]]:
    """``([{view, path}], [views without a .NETFramework key])`` of the discovered version keys."""
    found, absent = [], []
    for view, root in DOTNET_ROOTS:
        if view == "32-bit" and not include_32bit_view:
            continue
        entry = _lookup_key(keys, root)
        if not entry["exists"]:
            absent.append(view)
            continue
        for sub in entry["subkeys"]:
            if _DOTNET_VERSION.match(sub):
                found.append({"view": view, "path": f"{entry['path']}\\{sub}"})
    return found, absent


def assess_dotnet_strong_crypto(probe, options: dict | None = None) -> tuple[dict, list[dict]]:
    """``(finding, changes)`` for ExtensionSnapshotFailedNoSecureNetwork.

    ``options``: ``include_32bit_view`` (default true), ``apply`` (default true).
    """
    code = ERROR_CODES["dotnet"]
    options = options or {}
    try:
        keys = registry_keys(probe)
        versions, absent = dotnet_version_keys(keys, bool(options.get("include_32bit_view", True)))
        if not versions:
            return make_finding(
                code, "not_applicable", "no .NET Framework version key (v<digits>...) found in the checked views"
            ), []
        changes = plan_values(keys, [desired(v["path"], STRONG_CRYPTO, "dword", 1) for v in versions])
    except RegistrySectionError as exc:
        return make_finding(code, "error", str(exc)), []
    changes = _gate(changes, bool(options.get("apply", True)))
    views = sorted({v["view"] for v in versions})
    scope = f"{len(versions)} .NET Framework version key{'s' if len(versions) != 1 else ''} ({', '.join(views)} view)"
    if absent:
        scope += f"; no .NETFramework key in the {', '.join(absent)} view"
    if not changes:
        return make_finding(code, "pass", f"{STRONG_CRYPTO} is dword 1 in all {scope}"), []
    detail = f"{STRONG_CRYPTO} is not dword 1 in {len(changes)} of {scope}: " + ", ".join(
        f"{c['path']} {_current_text(c)}" for c in changes
    )
    return make_finding(code, "fail", detail, _fix_text(changes), changes), changes


def bcdr_agent_wanted() -> list[dict]:
    return [
        desired(BCDR_PERSISTENT_KEYS, "SnapshotMethod", "string", "firstHostThenGuest"),
        desired(BCDR_PERSISTENT_KEYS, "CalculateSnapshotTimeFromHost", "string", "True"),
    ]


def assess_bcdr_agent_keys(probe, options: dict | None = None) -> tuple[dict, list[dict]]:
    """``(finding, changes)`` for ExtensionFailedTimeoutVMNetworkUnresponsive (step 1; steps 2-3 report only).

    ``options``: ``apply`` (default true).
    """
    code = ERROR_CODES["bcdr"]
    options = options or {}
    try:
        changes = plan_values(registry_keys(probe), bcdr_agent_wanted())
    except RegistrySectionError as exc:
        return make_finding(code, "error", str(exc)), []
    changes = _gate(changes, bool(options.get("apply", True)))
    if not changes:
        return make_finding(
            code,
            "pass",
            f"{BCDR_PERSISTENT_KEYS} SnapshotMethod = REG_SZ 'firstHostThenGuest' and CalculateSnapshotTimeFromHost"
            f" = REG_SZ 'True'; if the error persists: {BCDR_REPORT_ONLY}",
        ), []
    detail = f"{len(changes)} of 2 BcdrAgentPersistentKeys values not as documented: " + ", ".join(
        f"{c['name']} {_current_text(c)}" for c in changes
    )
    return make_finding(code, "fail", detail, _fix_text(changes) + "; " + BCDR_REPORT_ONLY, changes), changes


def sql_server_signals(keys: dict, services) -> list[str]:
    """Why we think SQL Server is installed (empty: it is not)."""
    signals = []
    for path in SQL_SERVER_KEYS:
        entry = _lookup_key(keys, path)
        if not entry["exists"]:
            continue
        value = _lookup_value(entry["values"], INSTALLED_INSTANCES)
        if value is None:
            continue
        instances = [str(i) for i in normalize_data("multistring", value.get("data")) if str(i).strip()]
        if instances:
            signals.append(f"{entry['path']} {INSTALLED_INSTANCES} = {', '.join(instances)}")
    names = sorted(
        str(s.get("name")) for s in services if isinstance(s, dict) and _SQL_SERVICE.match(str(s.get("name")))
    )
    if names:
        signals.append(f"service{'s' if len(names) != 1 else ''} {', '.join(names)}")
    return signals


def assess_bcdr_vss_copy_backup(probe, options: dict | None = None) -> tuple[dict, list[dict]]:
    """``(finding, changes)`` for SqlServerSnapshotDelay.

    ``options``: ``only_with_sql_server`` (default true: ``not_applicable`` where SQL Server is not
    installed), ``apply`` (default true).
    """
    code = ERROR_CODES["sql"]
    options = options or {}
    try:
        keys = registry_keys(probe)
        problem = require(probe, "services")
        if problem:
            raise RegistrySectionError(f"{problem} (needed to detect SQL Server)")
        services = probe["services"]
        signals = sql_server_signals(keys, services)
        if not signals and options.get("only_with_sql_server", True):
            return make_finding(
                code,
                "not_applicable",
                f"SQL Server is not installed (no {INSTALLED_INSTANCES} under {SQL_SERVER_KEYS[0]} or its"
                " WOW6432Node view, no MSSQLSERVER / MSSQL$<instance> service)",
            ), []
        changes = plan_values(keys, [desired(BCDRAGENT, USE_VSS_COPY_BACKUP, "string", "TRUE")])
    except RegistrySectionError as exc:
        return make_finding(code, "error", str(exc)), []
    changes = _gate(changes, bool(options.get("apply", True)))
    why = "; ".join(signals) if signals else "SQL Server not detected, set anyway (only_with_sql_server: false)"
    if not changes:
        return make_finding(code, "pass", f"{BCDRAGENT} {USE_VSS_COPY_BACKUP} = REG_SZ 'TRUE' ({why})"), []
    detail = f"{BCDRAGENT} {USE_VSS_COPY_BACKUP}: {_current_text(changes[0])}; {why}"
    return make_finding(code, "fail", detail, _fix_text(changes), changes), changes


def evaluate_dotnet_strong_crypto(probe, options: dict | None = None) -> dict:
    """The ExtensionSnapshotFailedNoSecureNetwork finding (docs/architecture.md, Finding)."""
    return assess_dotnet_strong_crypto(probe, options)[0]


def evaluate_bcdr_agent_keys(probe, options: dict | None = None) -> dict:
    """The ExtensionFailedTimeoutVMNetworkUnresponsive finding."""
    return assess_bcdr_agent_keys(probe, options)[0]


def evaluate_bcdr_vss_copy_backup(probe, options: dict | None = None) -> dict:
    """The SqlServerSnapshotDelay finding."""
    return assess_bcdr_vss_copy_backup(probe, options)[0]
