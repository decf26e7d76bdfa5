# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""snapshot_extension_plan filter: what to do about a VM's Azure Backup snapshot extension (control plane)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.vmbackup.azure.plugins.module_utils._jobs import JobsError, inventory_identities
from ansible_collections.vmbackup.azure.plugins.plugin_utils._control import ControlError
from ansible_collections.vmbackup.azure.plugins.plugin_utils._control import (
    control_plane_findings as _control_plane_findings,
)
from ansible_collections.vmbackup.azure.plugins.plugin_utils._control import (
    snapshot_extension_plan as _snapshot_extension_plan,
)

# Documented in snapshot_extension_plan.yml and control_plane_findings.yml.


def snapshot_extension_plan(info, vm, code="ExtensionStuckInDeletionState", uninstall=False, opt_in="", vm_info=None):
    try:
        return _snapshot_extension_plan(info, vm, code=code, uninstall=bool(uninstall), opt_in=opt_in, vm_info=vm_info)
    except ControlError as exc:
        raise AnsibleFilterError(f"snapshot_extension_plan: {exc}") from None


def control_plane_findings(status, inventory, hosts=None):
    """Registered vm_status_info result(s) + hostvars -> {host: [control-plane findings]}."""
    results = status.get("results") if isinstance(status, dict) and "results" in status else [status]
    vms, locks, collections = [], [], []
    for result in results if isinstance(results, list) else [results]:
        if not isinstance(result, dict) or result.get("failed") or not isinstance(result.get("vms"), list):
            msg = result.get("msg") if isinstance(result, dict) else None
            raise AnsibleFilterError(f"control_plane_findings: the VMs could not be read: {msg or 'no vms list'}")
        vms.extend(result["vms"])
        if locks is not None and isinstance(result.get("locks"), list):
            locks.extend(result["locks"])
            collections.extend(result.get("restore_point_collections") or [])
        else:  # a subscription read without them: no AzureBackupRG finding for anyone (not a guess)
            locks = collections = None
    try:
        return _control_plane_findings(vms, inventory_identities(inventory, hosts), locks, collections)
    except (ControlError, JobsError) as exc:
        raise AnsibleFilterError(f"control_plane_findings: {exc}") from None


class FilterModule:
    def filters(self):
        return {"snapshot_extension_plan": snapshot_extension_plan, "control_plane_findings": control_plane_findings}
