"""The nine Windows fixes as test cases (shared by tests/unit and tools/hostile.py; not shipped).

Each row: the action plugin, its role, a simulator state on which the fix has work to do, the
options that opt in to everything it may do, the probe sections it plans from, and its assess
function (finding + plan from a probe).
"""

from __future__ import annotations

from ansible_collections.vmbackup.azure.plugins.plugin_utils._bitlocker import evaluate_bitlocker
from ansible_collections.vmbackup.azure.plugins.plugin_utils._com import evaluate_com
from ansible_collections.vmbackup.azure.plugins.plugin_utils._machinekeys import evaluate_machinekeys
from ansible_collections.vmbackup.azure.plugins.plugin_utils._probe_sections import MAY_BE_EMPTY
from ansible_collections.vmbackup.azure.plugins.plugin_utils._registry import (
    evaluate_bcdr_agent_keys,
    evaluate_bcdr_vss_copy_backup,
    evaluate_dotnet_strong_crypto,
)
from ansible_collections.vmbackup.azure.plugins.plugin_utils._vss import evaluate_vss
from ansible_collections.vmbackup.azure.plugins.plugin_utils._windows_agent import evaluator_for
from ansible_collections.vmbackup.azure.plugins.plugin_utils._windows_installer import evaluate_installer

AGENT_MSI = "C:\\Install\\WindowsAzureVmAgent.msi"
PASSWORD = "111111-222222-333333-444444-555555-666666-000011-123453"

FIXES = [
    {
        "action": "vss_writers",
        "role": "extension_failed_vss_writer_in_bad_state",
        "state": "vss_system_writer_timeout_zh-TW.yml",
        "options": {"restart": True, "settle_timeout": 0},
        "sections": ("vssadmin", "services"),
        "evaluate": evaluate_vss,
    },
    {
        "action": "com_services",
        "role": "extension_snapshot_failed_com",
        "state": "com_msdtc_wrong_account.yml",
        "options": {"restart": True, "reinstall_msdtc": True},
        "sections": ("services",),
        "evaluate": evaluate_com,
    },
    {
        "action": "machinekeys_acl",
        "role": "extension_config_parsing_failure",
        "state": "machinekeys_extra_principals.yml",
        "options": {"reset_acl": True, "delete_certificates": True},
        "sections": ("machinekeys_acl", "certificates_my"),
        "evaluate": evaluate_machinekeys,
    },
    {
        "action": "bitlocker_volumes",
        "role": "extension_snapshot_bitlocker_error",
        "state": "bitlocker_locked_data.yml",
        "options": {"unlock": True, "recovery_passwords": {"D:": PASSWORD}},
        "sections": ("bitlocker",),
        "evaluate": evaluate_bitlocker,
    },
    {
        "action": "windows_guest_agent",
        "role": "vm_agent_not_running",
        "state": "agent_stopped.yml",
        "options": {"start": True, "restart": True, "install": True, "msi_path": AGENT_MSI},
        "sections": ("services", "agent"),
        "evaluate": evaluator_for("VmAgentNotRunning"),
    },
    {
        "action": "windows_installer",
        "role": "extension_vc_redist_installation_failure",
        "state": "installer_msiserver_disabled.yml",
        "options": {"reregister_msi": True},
        "sections": ("services", "installer"),
        "evaluate": evaluate_installer,
    },
    {
        "action": "dotnet_strong_crypto",
        "role": "extension_snapshot_failed_no_secure_network",
        "state": "registry_dotnet_missing.yml",
        "options": {},
        "sections": ("registry",),
        "evaluate": evaluate_dotnet_strong_crypto,
    },
    {
        "action": "bcdr_agent_keys",
        "role": "extension_failed_timeout_vm_network_unresponsive",
        "state": "registry_bcdr_missing.yml",
        "options": {},
        "sections": ("registry",),
        "evaluate": evaluate_bcdr_agent_keys,
    },
    {
        "action": "bcdr_vss_copy_backup",
        "role": "sql_server_snapshot_delay",
        "state": "registry_sql_missing.yml",
        "options": {},
        "sections": ("registry", "services"),
        "evaluate": evaluate_bcdr_vss_copy_backup,
    },
]


def empty_like(value):
    """An implausibly empty section of the same kind (what a broken read returns)."""
    if isinstance(value, list):
        return []
    if isinstance(value, dict):
        return {"keys": {}} if "keys" in value else {k: None for k in value}
    return None


def mutations(probe: dict, section: str):
    """(label, probe) variants where ``section`` is missing, errored or implausibly empty."""
    missing = {k: v for k, v in probe.items() if k != section}
    errored = dict(missing, section_errors={**(probe.get("section_errors") or {}), section: "Access is denied"})
    out = [("missing", missing), ("errored", errored)]
    if section not in MAY_BE_EMPTY:
        out.append(("empty", dict(probe, **{section: empty_like(probe.get(section))})))
    return out
