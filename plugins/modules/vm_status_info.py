#!/usr/bin/python
# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: vm_status_info
short_description: Every VM of a subscription with its instance view, in one paged list
version_added: 0.2.0
description:
  - Lists the virtual machines of the subscription with their instance views (REST C(VirtualMachines_ListAll)
    with C(statusOnly=true)) -- power state, provisioning state, VM agent status and extension states of every VM
    -- and once more without it for each VM's C(osProfile) (C(provisionVMAgent)), two paged call chains per
    subscription, instead of one or more calls per VM.
  - Follows every C(nextLink) as the service returns it and waits the C(Retry-After) of a 429 or 503 answer
    (shared with M(vmbackup.azure.backup_jobs_info)).
  - Authenticates as the azure.azcollection modules do; needs azure.azcollection's Python requirements
    (C(vmbackup_azure_python)). A failure says auth, network, not found, throttled or server, without any secret.
  - Runs on the controller; it changes nothing.
author: vmbackup.azure maintainers (@vmbackup)
options:
  api_version:
    description: The Microsoft.Compute api-version.
    type: str
    default: "2024-07-01"
  backup_resource_groups:
    description:
      - Also list the subscription's management locks (C(ManagementLocks_ListAtSubscriptionLevel)) and restore point
        collections (C(RestorePointCollections_ListAll)), one paged call chain each, for the restore point collections
        Azure Backup keeps in C(AzureBackupRG_<region>_1) and a lock there that stops its clean-up.
    type: bool
    default: true
extends_documentation_fragment:
  - azure.azcollection.azure
  - vmbackup.azure.arm_list
"""

EXAMPLES = r"""
- name: Read the subscription's VMs once
  vmbackup.azure.vm_status_info:
  delegate_to: localhost
  run_once: true
  register: vm_status
"""

RETURN = r"""
locks:
  description: Every management lock of the subscription (empty unless O(backup_resource_groups)).
  returned: success
  type: list
  elements: dict
restore_point_collections:
  description: Every restore point collection of the subscription (empty unless O(backup_resource_groups)).
  returned: success
  type: list
  elements: dict
vms:
  description: Every VM (VirtualMachine, camelCase keys as the REST API returns them, with C(properties.instanceView)).
  returned: success
  type: list
  elements: dict
subscription_id:
  description: The subscription read.
  returned: always
  type: str
failure_kind:
  description: On failure, what failed (auth, not_found, network, throttled, server, paging, other); RV(pages) read.
  returned: failure
  type: str
pages:
  description: How many pages were read (all lists together).
  returned: success
  type: int
"""

from ansible_collections.vmbackup.azure.plugins.module_utils._arm_module import ArmListModule, run


class VmStatusInfo(ArmListModule):
    def __init__(self):
        super().__init__(
            dict(
                api_version=dict(type="str", default="2024-07-01"),
                backup_resource_groups=dict(type="bool", default=True),
            ),
            dict(vms=[], locks=[], restore_point_collections=[], subscription_id=""),
        )

    def exec_module(self, **kwargs):
        what = f"listing the VMs of subscription {self.subscription_id}"
        self.results["subscription_id"] = self.subscription_id
        url = f"/subscriptions/{self.subscription_id}/providers/Microsoft.Compute/virtualMachines"
        params = {"api-version": kwargs["api_version"], "statusOnly": "true"}
        vms = self.list_all(url, params, what, kwargs["max_pages"])
        # The statusOnly list has no model: osProfile (provisionVMAgent) comes from the plain list, joined by id.
        models = self.list_all(url, {"api-version": kwargs["api_version"]}, what, kwargs["max_pages"])
        profiles = {str(m.get("id", "")).casefold(): (m.get("properties") or {}).get("osProfile") for m in models}
        for vm in vms:
            profile = profiles.get(str(vm.get("id", "")).casefold())
            if profile is not None:
                vm.setdefault("properties", {})["osProfile"] = profile
        self.results["vms"] = vms
        if kwargs["backup_resource_groups"]:
            sub = f"/subscriptions/{self.subscription_id}/providers"
            self.results["locks"] = self.list_all(
                f"{sub}/Microsoft.Authorization/locks", {"api-version": "2020-05-01"}, what, kwargs["max_pages"]
            )
            self.results["restore_point_collections"] = self.list_all(
                f"{sub}/Microsoft.Compute/restorePointCollections",
                {"api-version": kwargs["api_version"]},
                what,
                kwargs["max_pages"],
            )
        return self.results


def main():
    run(VmStatusInfo)


if __name__ == "__main__":
    main()
