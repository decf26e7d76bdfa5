# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""backup_rg_plan / backup_rg_result filters: Azure Backup's resource group of a VM (locks, restore points)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.vmbackup.azure.plugins.plugin_utils._control_backup_rg import BackupRgError
from ansible_collections.vmbackup.azure.plugins.plugin_utils._control_backup_rg import (
    backup_rg_plan as _backup_rg_plan,
)
from ansible_collections.vmbackup.azure.plugins.plugin_utils._control_backup_rg import (
    backup_rg_result as _backup_rg_result,
)

# Documented in backup_rg_plan.yml and backup_rg_result.yml.


def backup_rg_plan(
    info, vm, vm_info=None, remove_lock=False, delete_restore_points=False, lock_opt_in="", delete_opt_in=""
):
    return _backup_rg_plan(
        info,
        vm,
        vm_info=vm_info,
        remove_lock=bool(remove_lock),
        delete_restore_points=bool(delete_restore_points),
        lock_opt_in=lock_opt_in,
        delete_opt_in=delete_opt_in,
    )


def backup_rg_result(plan, removed=None, deleted=None, guest=None):
    try:
        return _backup_rg_result(plan, removed=removed, deleted=deleted, guest=guest)
    except BackupRgError as exc:
        raise AnsibleFilterError(f"backup_rg_result: {exc}") from None


class FilterModule:
    def filters(self):
        return {"backup_rg_plan": backup_rg_plan, "backup_rg_result": backup_rg_result}
