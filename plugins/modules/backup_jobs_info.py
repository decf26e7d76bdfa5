#!/usr/bin/python
# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: backup_jobs_info
short_description: List a Recovery Services vault's Azure Backup jobs, every page
version_added: 0.2.0
description:
  - Lists the jobs of a Recovery Services vault (REST C(Jobs_List), C(.../vaults/{vault}/backupJobs)) with one
    OData O(filter), and follows every C(nextLink) exactly as the service returns it, as the Azure SDK does.
  - Used by C(playbooks/triage.yml) for its live query instead of C(azure.azcollection.azure_rm_resource_info),
    whose paging sends a C(nextLink) back as a C(skiptoken) parameter of the first URL (two C($filter), a parameter
    the service does not read) and does not retry a throttled request.
  - Waits the C(Retry-After) of a 429 or 503 answer (at most 4 times per page, 60 seconds each at most).
  - Authenticates exactly as the azure.azcollection modules do (same options, environment variables, profiles
    and C(cloud_environment)); it reuses azure.azcollection's module_utils, which need its Python requirements.
  - A failure says whether it was authentication, the network, or a vault / resource group that does not exist,
    without any secret.
  - Runs on the controller (delegated to localhost); it changes nothing.
author: vmbackup.azure maintainers (@vmbackup)
options:
  vault_name:
    description: The Recovery Services vault.
    type: str
    required: true
  vault_resource_group:
    description: The vault's resource group.
    type: str
    required: true
  filter:
    description: The OData C($filter), sent once.
    type: str
    default: "status eq 'Failed' and backupManagementType eq 'AzureIaasVM' and operation eq 'Backup'"
  api_version:
    description: The Recovery Services api-version.
    type: str
    default: "2024-04-01"
extends_documentation_fragment:
  - azure.azcollection.azure
  - vmbackup.azure.arm_list
"""

EXAMPLES = r"""
- name: Failed VM backup jobs of a vault, every page
  vmbackup.azure.backup_jobs_info:
    vault_name: rsv-prod
    vault_resource_group: rg-backup
  delegate_to: localhost
  register: failed_jobs
"""

RETURN = r"""
jobs:
  description: Every job of every page (JobResource, camelCase keys as the REST API returns them).
  returned: success
  type: list
  elements: dict
url:
  description: The list's path (no query string).
  returned: always
  type: str
failure_kind:
  description: On failure, what failed (auth, not_found, network, throttled, server, paging, other); RV(pages) read.
  returned: failure
  type: str
pages:
  description: How many pages were read.
  returned: success
  type: int
"""

from ansible_collections.vmbackup.azure.plugins.module_utils._arm_module import ArmListModule, run
from ansible_collections.vmbackup.azure.plugins.module_utils._jobs import JobsError, live_query_args


class BackupJobsInfo(ArmListModule):
    def __init__(self):
        super().__init__(
            dict(
                vault_name=dict(type="str", required=True),
                vault_resource_group=dict(type="str", required=True),
                filter=dict(
                    type="str",
                    default="status eq 'Failed' and backupManagementType eq 'AzureIaasVM' and operation eq 'Backup'",
                ),
                api_version=dict(type="str", default="2024-04-01"),
            ),
            dict(jobs=[], url=""),
        )

    def exec_module(self, **kwargs):
        what = f"listing the jobs of vault {kwargs['vault_resource_group']}/{kwargs['vault_name']}"
        try:
            args = live_query_args(
                {"name": kwargs["vault_name"], "resource_group": kwargs["vault_resource_group"]},
                self.subscription_id,
                api_version=kwargs["api_version"],
                job_filter=kwargs["filter"],
            )
        except JobsError as exc:
            self.fail(msg=str(exc), failure_kind="other")
        self.results["url"] = args["url"]
        params = {"api-version": args["api_version"]}
        if args["filter"]:
            params["$filter"] = args["filter"]
        self.results["jobs"] = self.list_all(args["url"], params, what, kwargs["max_pages"])
        return self.results


def main():
    run(BackupJobsInfo)


if __name__ == "__main__":
    main()
