# Copyright: vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""snapshot_extension_plan filter: what to do about a VM's Azure Backup snapshot extension (control plane)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.vmbackup.azure.plugins.module_utils._control import ControlError
from ansible_collections.vmbackup.azure.plugins.module_utils._control import (
    snapshot_extension_plan as _snapshot_extension_plan,
)

DOCUMENTATION = r"""
name: snapshot_extension_plan
author: vmbackup.azure maintainers (@vmbackup)
version_added: 0.2.0
short_description: Decide, on the controller, whether a VM's Azure Backup snapshot extension must be uninstalled
description:
  - Reads a registered C(azure.azcollection.azure_rm_virtualmachineextension_info) result and returns the finding
    (status V(fail) when the snapshot extension -- publisher C(Microsoft.Azure.RecoveryServices), type C(VMSnapshot)
    or C(VMSnapshotLinux) -- is in the C(Deleting) or C(Failed) provisioning state, V(pass) otherwise), the
    extension names to remove (only when O(uninstall) is true) and a before/after for C(--diff).
  - No other extension is ever listed. A failed read, or a VM that does not exist, fails naming the VM; it never
    means "nothing to do".
options:
  _input:
    description: The registered result of C(azure.azcollection.azure_rm_virtualmachineextension_info).
    type: dict
    required: true
  vm:
    description: The VM's name, for the messages.
    type: str
    required: true
  code:
    description: The error code the finding is for.
    type: str
    default: ExtensionStuckInDeletionState
  uninstall:
    description: The opt-in to uninstall (disruptive).
    type: bool
    default: false
  opt_in:
    description: The name of the opt-in variable, for the fix text.
    type: str
  vm_info:
    description:
      - The registered result of C(azure.azcollection.azure_rm_virtualmachine_info) for the VM. A VM it does not
        return fails the plan (the extension module answers an empty list for a VM that does not exist).
    type: dict
"""

EXAMPLES = r"""
- name: Decide
  ansible.builtin.set_fact:
    plan: "{{ ext_info | vmbackup.azure.snapshot_extension_plan(vm='vm01', uninstall=false) }}"
"""

RETURN = r"""
_value:
  description: C(finding) (a report finding), C(remove) (extension names) and C(diff) (C(before) / C(after)).
  type: dict
"""


def snapshot_extension_plan(info, vm, code="ExtensionStuckInDeletionState", uninstall=False, opt_in="", vm_info=None):
    try:
        return _snapshot_extension_plan(info, vm, code=code, uninstall=bool(uninstall), opt_in=opt_in, vm_info=vm_info)
    except ControlError as exc:
        raise AnsibleFilterError(f"snapshot_extension_plan: {exc}") from None


class FilterModule:
    def filters(self):
        return {"snapshot_extension_plan": snapshot_extension_plan}
