# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for triage of failed Azure Backup jobs (documentation: backup_job_findings.yml, backup_job_query.yml)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible.utils.display import Display
from ansible_collections.vmbackup.azure.plugins.module_utils._jobs import JobsError, live_query_args, triage_result
from ansible_collections.vmbackup.azure.plugins.module_utils._jobs import (
    backup_job_findings as _backup_job_findings,
)


def backup_job_findings(data, inventory, hosts=None, operations=None):
    try:
        result = _backup_job_findings(data, inventory, hosts=hosts, operations=operations)
    except JobsError as exc:
        raise AnsibleFilterError(f"backup_job_findings: {exc}") from None
    for note in result["incomplete"]:  # jobs missing after an unfollowed nextLink: never silently
        Display().warning(f"backup_job_findings: INCOMPLETE: {note}")
    return result


def backup_job_query(vault, subscription_id=None, api_version=None, job_filter=None):
    """Arguments for azure_rm_resource_info (documented in backup_job_query.yml)."""
    kwargs = {}
    if api_version:
        kwargs["api_version"] = api_version
    if job_filter:
        kwargs["job_filter"] = job_filter
    try:
        return live_query_args(vault, subscription_id, **kwargs)
    except JobsError as exc:
        raise AnsibleFilterError(f"backup_job_query: {exc}") from None


def backup_job_host_result(host_triage, os_family, outcomes=None, failures=None, check_mode=True, waived=None):
    """One host's triage result for backup_report (documented in backup_job_host_result.yml)."""
    try:
        return triage_result(host_triage, os_family, outcomes, failures, check_mode=check_mode, waived=waived or ())
    except JobsError as exc:
        raise AnsibleFilterError(f"backup_job_host_result: {exc}") from None


class FilterModule:
    def filters(self):
        return {
            "backup_job_findings": backup_job_findings,
            "backup_job_query": backup_job_query,
            "backup_job_host_result": backup_job_host_result,
        }
