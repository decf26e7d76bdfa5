# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Probe renderers for the agent, installer and report-only sections (``_windows_probe.py``).

Each renderer returns what that section of the probe would store in ``$probe['<name>']`` on the
simulated host, from the state model (docs/simulator.md, plugins/plugin_utils/_winsim/state.py):

- ``agent``: ``files['C:\\WindowsAzure\\Packages\\WaAppAgent.exe']`` (``version``, ``product_version``)
  and ``registry['HKLM:\\SOFTWARE\\Microsoft\\Virtual Machine\\Guest'].GuestAgentVersion``.
- ``installer``: ``installed_products`` whose name contains "C++ 2013" (the probe reads the
  Uninstall keys of both views and keeps those), and the folders under the VMSnapshot plugin
  root found in ``files`` (a folder exists when a file lies below it).
- ``nics``: the ``nics`` list (``name``, ``dhcp_enabled``, optional ``ip_addresses``, ``index``).
- ``dns``: the names of the script parameter ``AzureEndpointNames``; every name resolves unless
  listed in ``dns.unresolved`` (addresses from ``dns.addresses`` or a documentation-range address).
- ``resources``: ``resources.cpu_percent`` / ``memory_percent`` (absent: an idle host, 5 % / 30 %).
- ``events``: ``events`` entries with ``id`` 517 in ``log: Application`` (the default) younger than
  the parameter ``BackupEventDays``; ``age_days`` gives the age (time_created = now - age_days).
- ``extension_status``: ``extension_status`` (``plugin_version``, ``sequence``, ``age_minutes`` and
  either ``content``: the raw file text, or ``items``: the JSON list to write); absent: no file.

Assumption: ``[System.Net.Dns]::GetHostAddresses`` failing prints "No such host is known".
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from ansible_collections.vmbackup.azure.plugins.plugin_utils._winsim import files, registry

AGENT_EXE = "C:\\WindowsAzure\\Packages\\WaAppAgent.exe"
AGENT_KEY = "HKLM:\\SOFTWARE\\Microsoft\\Virtual Machine\\Guest"
PLUGIN_ROOT = "C:\\Packages\\Plugins\\Microsoft.Azure.RecoveryServices.VMSnapshot"


def dotnet_o(moment) -> str:
    """``DateTime.ToUniversalTime().ToString('o')``: 7 fractional digits and ``Z`` (what the probe prints;
    ``datetime.fromisoformat`` rejects 7 digits before Python 3.11)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}0Z"


IDLE = {"cpu_percent": 5.0, "memory_percent": 30.0}


def _norm(path: str) -> str:
    return str(path).replace("/", "\\").rstrip("\\").lower()


def probe_agent(state, parameters=None) -> dict:
    out = {
        "waappagent_exists": False,
        "waappagent_product_version": None,
        "waappagent_file_version": None,
        "guest_agent_version": None,
    }
    found = files.find_file(state, AGENT_EXE)
    if found is not None and not found[1].get("isdir"):
        version = str(found[1].get("version") or "")
        parts = (version.split(".") + ["0", "0", "0", "0"])[:4] if version else ["0"] * 4
        out["waappagent_exists"] = True
        out["waappagent_product_version"] = str(found[1].get("product_version", version))
        out["waappagent_file_version"] = ".".join(parts)
    key = registry.find_key(state, AGENT_KEY)
    if key is not None:
        values = state.section("registry").get(key) or {}
        for name, value in values.items():
            if str(name).lower() == "guestagentversion":
                out["guest_agent_version"] = str((value or {}).get("data", ""))
    return out


def _plugin_folders(state) -> dict[str, list[str]]:
    """version folder -> file names below it (from ``files``)."""
    root = _norm(PLUGIN_ROOT) + "\\"
    folders: dict[str, list[str]] = {}
    for path, props in state.section("files").items():
        if (props or {}).get("exists", True) is False:
            continue
        norm = _norm(path)
        if not norm.startswith(root):
            continue
        rest = str(path).replace("/", "\\")[len(root) :]
        version, _sep, below = rest.partition("\\")
        if version:
            folders.setdefault(version, []).append(below.lower())
    return folders


def probe_installer(state, parameters=None) -> dict:
    products = [
        {
            "product_id": str(pid),
            "name": str((info or {}).get("name", "")),
            "version": str((info or {}).get("version", "")),
            "wow6432": bool((info or {}).get("wow6432", True)),
        }
        for pid, info in state.section("installed_products").items()
        if "c++ 2013" in str((info or {}).get("name", "")).lower()
    ]
    plugins = [
        {"version": version, "vcredist": "vcredist2013_x64.exe" in names}
        for version, names in sorted(_plugin_folders(state).items())
    ]
    return {"vcredist_products": products, "snapshot_plugins": plugins}


def probe_nics(state, parameters=None) -> list[dict]:
    return [
        {
            "name": str(nic.get("name", f"Ethernet {i}")),
            "index": int(nic.get("index", i)),
            "dhcp_enabled": bool(nic.get("dhcp_enabled", True)),
            "ip_addresses": [str(a) for a in nic.get("ip_addresses") or []],
        }
        for i, nic in enumerate(state.section("nics", list))
        if isinstance(nic, dict)
    ]


def probe_dns(state, parameters=None) -> list[dict]:
    names = (parameters or {}).get("AzureEndpointNames") or []
    if isinstance(names, str):
        names = [names]
    dns = state.data.get("dns") or {}
    unresolved = {str(n).lower().rstrip(".") for n in dns.get("unresolved") or []}
    addresses = {str(k).lower().rstrip("."): v for k, v in (dns.get("addresses") or {}).items()}
    out = []
    for name in names:
        if not name:
            continue
        key = str(name).lower().rstrip(".")
        if key in unresolved:
            out.append({"name": str(name), "resolved": False, "addresses": [], "error": "No such host is known"})
        else:
            out.append(
                {
                    "name": str(name),
                    "resolved": True,
                    "addresses": list(addresses.get(key) or ["192.0.2.10"]),
                    "error": None,
                }
            )
    return out


def probe_resources(state, parameters=None) -> dict:
    data = dict(IDLE)
    data.update(state.data.get("resources") or {})
    return {
        "cpu_percent": data.get("cpu_percent"),
        "memory_percent": data.get("memory_percent"),
        "memory_total_kb": data.get("memory_total_kb", 8388608.0),
        "memory_free_kb": data.get("memory_free_kb"),
    }


def _now():
    return datetime.now(UTC)


def probe_events(state, parameters=None) -> dict:
    try:
        days = int((parameters or {}).get("BackupEventDays") or 7)
    except (TypeError, ValueError):
        days = 7
    if days < 1:
        days = 7
    now = _now()
    found = []
    for event in state.data.get("events") or []:
        if not isinstance(event, dict) or int(event.get("id", 0)) != 517:
            continue
        if str(event.get("log", "Application")).lower() != "application":
            continue
        age = float(event.get("age_days", 0))
        if age > days:
            continue
        found.append(
            {
                "id": 517,
                "provider": str(event.get("provider", "Microsoft-Windows-Backup")),
                "time_created": dotnet_o(now - timedelta(days=age)),
                "message": str(event.get("message", "")),
            }
        )
    found.sort(key=lambda e: e["time_created"], reverse=True)
    return {"days": days, "error": None, "backup_failures": found[:50]}


def probe_extension_status(state, parameters=None) -> dict:
    now = _now()
    out = {"found": False, "path": None, "last_write_utc": None, "now_utc": dotnet_o(now), "content": None}
    data = state.data.get("extension_status")
    if not isinstance(data, dict):
        return out
    version = str(data.get("plugin_version", "1.0.0.0"))
    sequence = int(data.get("sequence", 0))
    content = data.get("content")
    if content is None:
        content = json.dumps(data.get("items") or [], indent=2)
    out.update(
        found=True,
        path=f"{PLUGIN_ROOT}\\{version}\\Status\\{sequence}.status",
        last_write_utc=dotnet_o(now - timedelta(minutes=float(data.get("age_minutes", 60)))),
        content=str(content),
    )
    return out


# section name -> renderer(state, parameters); registered in probe.RENDERERS
RENDERERS = {
    "agent": probe_agent,
    "installer": probe_installer,
    "nics": probe_nics,
    "dns": probe_dns,
    "resources": probe_resources,
    "events": probe_events,
    "extension_status": probe_extension_status,
}
for _renderer in RENDERERS.values():
    _renderer.takes_parameters = True
