# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The base of the collection's read-only ARM list modules: azure.azcollection's authentication, every page.

Uses azure.azcollection's AzureRMModuleBase (credentials, profiles, cloud) and GenericRestClient
unmodified; paging, Retry-After and failure wording are module_utils/_arm.py.
"""

from __future__ import annotations

from ansible_collections.vmbackup.azure.plugins.module_utils._arm import ArmError, list_pages, rest_sender

try:
    from ansible_collections.azure.azcollection.plugins.module_utils.azure_rm_common import AzureRMModuleBase
    from ansible_collections.azure.azcollection.plugins.module_utils.azure_rm_common_rest import (
        GenericRestClient,
        SendRequestException,
    )

    HAS_AZCOLLECTION = True
except ImportError:  # reported by run() with the module's usual message
    AzureRMModuleBase = object
    HAS_AZCOLLECTION = False


class ArmListModule(AzureRMModuleBase):
    """A facts module that lists one ARM collection, every page; subclasses implement ``exec_module``."""

    def __init__(self, arg_spec, results):
        self.module_arg_spec = dict(arg_spec, max_pages=dict(type="int", default=500))
        self.results = dict(results, changed=False, pages=0)
        super().__init__(self.module_arg_spec, supports_check_mode=True, supports_tags=False, facts_module=True)

    def list_all(self, url, params, what, max_pages):
        """Every item of every page, or ``fail_json`` with ``failure_kind`` (never the credential)."""
        client = self.get_mgmt_svc_client(
            GenericRestClient, base_url=self._cloud_environment.endpoints.resource_manager
        )
        try:
            pages = list_pages(rest_sender(client, what, SendRequestException), url, params, what, max_pages=max_pages)
        except ArmError as exc:
            self.fail(msg=str(exc), failure_kind=exc.kind, status_code=exc.status)
        self.results["pages"] = self.results.get("pages", 0) + len(pages)
        return [item for page in pages for item in page["value"]]


def run(module_class):
    """``main()`` of such a module: a clear failure when azure.azcollection is not installed."""
    if not HAS_AZCOLLECTION:
        from ansible.module_utils.basic import AnsibleModule, missing_required_lib

        module = AnsibleModule(argument_spec={}, bypass_checks=True)
        module.fail_json(msg=missing_required_lib("the azure.azcollection collection"), failure_kind="other")
    module_class()
