#!/usr/bin/python
# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: backup_rg_info
short_description: The locks and restore point collections of one resource group (Azure Backup's), every page
version_added: 0.2.0
description:
  - Reads the resource group where Azure Backup keeps a VM's restore point collections (C(AzureBackupRG_<region>_1)) --
    its management locks (REST C(ManagementLocks_ListAtResourceGroupLevel)) and its restore point collections
    (C(RestorePointCollections_List)), following every C(nextLink) as the service returns it; each collection whose
    C(source.id) is O(vm_id) is read again with C($expand=restorePoints) (C(RestorePointCollections_Get)).
  - Used by the role C(extension_failed_snapshot_limit_reached_error) instead of
    C(azure.azcollection.azure_rm_lock_info), which reads only the first page of locks (it never follows C(nextLink)),
    and C(azure.azcollection.azure_rm_resource_info), which sends a C(nextLink) back as a C(skiptoken) parameter of
    the first URL and retries no 429.
  - Waits the C(Retry-After) of a 429 or 503 answer (shared with M(vmbackup.azure.backup_jobs_info)).
  - A resource group that does not exist is not an error (RV(resource_group_found) is false, the lists are empty).
  - Authenticates as the azure.azcollection modules do. Runs on the controller; it changes nothing.
author: vmbackup.azure maintainers (@vmbackup)
options:
  name:
    description: The resource group (C(AzureBackupRG_<region>_1)).
    type: str
    required: true
  vm_id:
    description: The VM whose restore point collections are read with their restore points (its resource id).
    type: str
    required: true
  api_version:
    description: The Microsoft.Compute api-version.
    type: str
    default: "2024-07-01"
extends_documentation_fragment:
  - azure.azcollection.azure
  - vmbackup.azure.arm_list
"""

EXAMPLES = r"""
- name: Azure Backup's resource group of a VM in westeurope
  vmbackup.azure.backup_rg_info:
    name: AzureBackupRG_westeurope_1
    vm_id: /subscriptions/xxxx/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/vm01
  delegate_to: localhost
  register: backup_rg
"""

RETURN = r"""
resource_group_found:
  description: Whether the resource group exists.
  returned: success
  type: bool
locks:
  description: The locks the service lists for the group (ManagementLockObject, camelCase keys as in the REST API).
  returned: success
  type: list
  elements: dict
restore_point_collections:
  description:
    - The group's restore point collections (RestorePointCollection).
    - Those of O(vm_id) carry C(properties.restorePoints).
  returned: success
  type: list
  elements: dict
failure_kind:
  description: On failure, what failed (auth, not_found, network, throttled, server, paging, other).
  returned: failure
  type: str
pages:
  description: How many pages were read (all calls together).
  returned: success
  type: int
"""

from ansible_collections.vmbackup.azure.plugins.module_utils._arm import ArmError, list_pages, rest_sender
from ansible_collections.vmbackup.azure.plugins.module_utils._arm_module import ArmListModule, run

try:
    from ansible_collections.azure.azcollection.plugins.module_utils.azure_rm_common_rest import (
        GenericRestClient,
        SendRequestException,
    )
except ImportError:  # run() reports the missing collection
    GenericRestClient = SendRequestException = None

LOCKS_API = "2020-05-01"  # ManagementLocks, azure-rest-api-specs Microsoft.Authorization stable 2020-05-01


class BackupRgInfo(ArmListModule):
    def __init__(self):
        super().__init__(
            dict(
                name=dict(type="str", required=True),
                vm_id=dict(type="str", required=True),
                api_version=dict(type="str", default="2024-07-01"),
            ),
            dict(resource_group_found=False, locks=[], restore_point_collections=[]),
        )

    def exec_module(self, **kwargs):
        group = f"/subscriptions/{self.subscription_id}/resourceGroups/{kwargs['name']}"
        what = f"reading resource group {kwargs['name']}"
        client = self.get_mgmt_svc_client(
            GenericRestClient, base_url=self._cloud_environment.endpoints.resource_manager
        )
        send = rest_sender(client, what, SendRequestException)
        try:
            pages = list_pages(
                send, f"{group}/providers/Microsoft.Authorization/locks", {"api-version": LOCKS_API}, what
            )
        except ArmError as exc:
            if exc.kind == "not_found" and "resourcegroupnotfound" in str(exc).casefold():
                return self.results  # no such group: no backup made restore points there yet
            self.fail(msg=str(exc), failure_kind=exc.kind, status_code=exc.status)
        self.results["resource_group_found"] = True
        self.results["pages"] += len(pages)
        self.results["locks"] = [item for page in pages for item in page["value"]]
        compute = {"api-version": kwargs["api_version"]}
        collections = self.list_all(
            f"{group}/providers/Microsoft.Compute/restorePointCollections", compute, what, kwargs["max_pages"]
        )
        vm_id = kwargs["vm_id"].casefold()
        for index, coll in enumerate(collections):
            source = ((coll.get("properties") or {}).get("source") or {}).get("id") or ""
            if str(source).casefold() != vm_id:
                continue
            # One GET: list_pages retries it like a page; the answer is the collection (no "value" of its own).
            try:
                got = list_pages(
                    send, str(coll["id"]), dict(compute, **{"$expand": "restorePoints"}), what, max_pages=1
                )
            except ArmError as exc:
                self.fail(msg=f"{exc} (collection {coll.get('name')})", failure_kind=exc.kind, status_code=exc.status)
            got[0].pop("value", None)
            self.results["pages"] += 1
            collections[index] = got[0]
        self.results["restore_point_collections"] = collections
        return self.results


def main():
    run(BackupRgInfo)


if __name__ == "__main__":
    main()
