# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Report-only conditions of a Windows guest, and the probe's script parameters (internal, controller side).

Pure Python evaluators over the Windows probe (docs/architecture.md): they change nothing and
have no fix role. Each finding's ``fix`` says it is report-only and what a person should do.

- ``GuestDhcpDisabled``: a NIC without DHCP (probe section ``nics``).
- ``AzureEndpointUnreachable``: Azure names that do not resolve (section ``dns``; the names come
  from the probe's ``AzureEndpointNames`` parameter, see :func:`probe_parameters`).
- ``HighResourceUsage``: CPU or memory above 90 % (section ``resources``).
- ``OtherBackupProductFailing``: event 517 from Windows Server Backup in the Application log
  during the last N days (section ``events``).

``SnapshotExtensionLoadFailed`` (section ``extension_status``) is evaluated by
``plugins/module_utils/_extension_status.py``, which the Linux gather module shares.
"""

from __future__ import annotations

import re

from ansible_collections.vmbackup.azure.plugins.module_utils._findings import make_finding, probe_section

# Azure names every backed-up VM must resolve. The storage account of a VM's disks is
# <account>.blob.core.windows.net and is not known in the guest: add it (or your region's
# names, or a private-endpoint name) with vmbackup_azure_endpoint_names.
DEFAULT_ENDPOINT_NAMES = ("management.azure.com", "login.microsoftonline.com")
DEFAULT_EVENT_DAYS = 7
DEFAULT_THRESHOLD = 90
# Event 517 in the Application log: "The backup operation that started at ... has failed"
# (Windows Server Backup). Matched on the provider name; the Security log's 517 is not read.
BACKUP_EVENT_ID = 517
BACKUP_EVENT_PROVIDER = re.compile(r"backup", re.IGNORECASE)

# Options of the report-only conditions (they have no role): code -> option -> (variable, default).
# The scan reads these inventory variables, and the fix plugins pass the same probe parameters.
CONDITION_OPTIONS = {
    "AzureEndpointUnreachable": {
        "azure_endpoint_names": ("vmbackup_azure_endpoint_names", list(DEFAULT_ENDPOINT_NAMES))
    },
    "OtherBackupProductFailing": {"event_days": ("vmbackup_backup_event_days", DEFAULT_EVENT_DAYS)},
    "HighResourceUsage": {"threshold": ("vmbackup_resource_threshold", DEFAULT_THRESHOLD)},
}
PROBE_PARAMETER_VARS = {
    "AzureEndpointNames": ("vmbackup_azure_endpoint_names", list(DEFAULT_ENDPOINT_NAMES)),
    "BackupEventDays": ("vmbackup_backup_event_days", DEFAULT_EVENT_DAYS),
}
_NAME_RE = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9_-]{1,63})*\.?$")


# ---------------------------------------------------------------- probe parameters


def validate_endpoint_names(names) -> list[str]:
    if isinstance(names, str):
        names = [n for n in re.split(r"[\s,]+", names) if n]
    if not isinstance(names, (list, tuple)):
        raise ValueError(f"azure endpoint names must be a list of DNS names, got {type(names).__name__}")
    out = []
    for name in names:
        if not isinstance(name, str) or not _NAME_RE.match(name.strip()):
            raise ValueError(f"azure endpoint names: {name!r} is not a DNS name")
        if name.strip() not in out:
            out.append(name.strip())
    return out


def validate_event_days(days) -> int:
    try:
        value = int(days)
    except (TypeError, ValueError):
        raise ValueError(f"backup event days: {days!r} is not a whole number of days") from None
    if isinstance(days, bool) or not 1 <= value <= 365:
        raise ValueError(f"backup event days: {days!r} must be between 1 and 365")
    return value


def probe_parameters(lookup_var) -> dict:
    """The probe's script parameters from the host's variables (``lookup_var(name)`` raises KeyError when unset).

    The scan and every fix plugin call this with the same variables, so their probes are identical.
    """
    values = {}
    for param, (var, default) in PROBE_PARAMETER_VARS.items():
        try:
            values[param] = lookup_var(var)
        except KeyError:
            values[param] = default
    return {
        "AzureEndpointNames": validate_endpoint_names(values["AzureEndpointNames"]),
        "BackupEventDays": validate_event_days(values["BackupEventDays"]),
    }


# ---------------------------------------------------------------- DHCP


def evaluate_dhcp(probe: dict, options: dict | None = None) -> dict:
    code = "GuestDhcpDisabled"
    nics, error = probe_section(probe, "nics", code, (list,))
    if error:
        return error
    nics = [n for n in nics if isinstance(n, dict)]
    if not nics:
        return make_finding(code, "not_applicable", "no IP-enabled network interface reported")
    static = [n for n in nics if n.get("dhcp_enabled") is not True]
    if not static:
        return make_finding(
            code, "pass", f"DHCP is enabled on every NIC ({', '.join(str(n.get('name')) for n in nics)})"
        )
    names = ", ".join(
        f"'{n.get('name')}'" + (f" ({', '.join(n.get('ip_addresses') or [])})" if n.get("ip_addresses") else "")
        for n in static
    )
    return make_finding(
        code,
        "fail",
        f"DHCP is disabled on {names}",
        "report only, nothing changed: set the static private IP on the Azure NIC (ip configuration, allocation"
        " Static) and enable DHCP in the guest from the serial console or a maintenance window — enabling DHCP"
        " remotely can cut your connection.",
    )


# ---------------------------------------------------------------- DNS


def evaluate_dns(probe: dict, options: dict | None = None) -> dict:
    code = "AzureEndpointUnreachable"
    results, error = probe_section(probe, "dns", code, (list,))
    if error:
        return error
    results = [r for r in results if isinstance(r, dict)]
    if not results:
        return make_finding(
            code, "not_applicable", "no Azure endpoint names to resolve (vmbackup_azure_endpoint_names)"
        )
    failed = [r for r in results if not r.get("resolved")]
    if not failed:
        return make_finding(
            code, "pass", "every Azure endpoint name resolves: " + ", ".join(str(r["name"]) for r in results)
        )
    names = "; ".join(f"{r.get('name')}" + (f" ({r['error']})" if r.get("error") else "") for r in failed)
    return make_finding(
        code,
        "fail",
        f"{len(failed)} of {len(results)} Azure endpoint names do not resolve: {names}",
        "report only, nothing changed: fix the guest's DNS servers (Azure DNS 168.63.129.16 or your custom DNS"
        " forwarding to it), the hosts file or the proxy so these names resolve, then check routes/NSG rules to"
        " Azure storage and management.",
    )


# ---------------------------------------------------------------- CPU / memory


def evaluate_resources(probe: dict, options: dict | None = None) -> dict:
    code = "HighResourceUsage"
    data, error = probe_section(probe, "resources", code, (dict,))
    if error:
        return error
    threshold = (options or {}).get("threshold", DEFAULT_THRESHOLD)
    try:
        threshold = float(threshold)
    except (TypeError, ValueError):
        return make_finding(code, "error", f"invalid option: threshold {threshold!r} is not a number")
    readings = {}
    for key, label in (("cpu_percent", "CPU"), ("memory_percent", "memory")):
        value = data.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            readings[label] = float(value)
    if not readings:
        return make_finding(code, "error", "the probe's resources section has no CPU or memory reading")
    text = ", ".join(f"{label} {value:.0f} %" for label, value in readings.items())
    high = [label for label, value in readings.items() if value > threshold]
    if not high:
        return make_finding(code, "pass", f"{text} (threshold {threshold:.0f} %)")
    return make_finding(
        code,
        "fail",
        f"{' and '.join(high)} above {threshold:.0f} %: {text} (one sample at scan time)",
        "report only, nothing changed: run an on-demand backup at a quieter time or move the backup policy's"
        " schedule away from the load peak; if the load is permanent, consider a bigger VM size.",
    )


# ---------------------------------------------------------------- event 517


def evaluate_backup_events(probe: dict, options: dict | None = None) -> dict:
    code = "OtherBackupProductFailing"
    data, error = probe_section(probe, "events", code, (dict,))
    if error:
        return error
    if data.get("error"):
        return make_finding(code, "error", f"could not read the Application event log: {data['error']}")
    days = data.get("days") or (options or {}).get("event_days") or DEFAULT_EVENT_DAYS
    events = [
        e
        for e in data.get("backup_failures") or []
        if isinstance(e, dict) and BACKUP_EVENT_PROVIDER.search(str(e.get("provider") or ""))
    ]
    if not events:
        return make_finding(code, "pass", f"no event {BACKUP_EVENT_ID} from a backup product in the last {days} days")
    latest = max(events, key=lambda e: str(e.get("time_created") or ""))
    message = " ".join(str(latest.get("message") or "").split())[:300]
    return make_finding(
        code,
        "fail",
        f"{len(events)} event(s) {BACKUP_EVENT_ID} from {latest.get('provider')} in the last {days} days; latest at"
        f" {latest.get('time_created')}: {message}",
        "report only, nothing changed: another backup product (Windows Server Backup) is failing, not Azure"
        " Backup. Check whether the Azure VM backup job succeeded; if it did, troubleshoot the other product.",
    )
