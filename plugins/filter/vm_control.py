# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""VM control-plane filters: plan, outcome and merge for the VM agent and power-state roles (controller side)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.vmbackup.azure.plugins.plugin_utils import _control_vm
from ansible_collections.vmbackup.azure.plugins.plugin_utils._control import ControlError

# Documented in vm_control_plan.yml, vm_control_outcome.yml, vm_control_merge.yml, vm_power_state.yml and
# vm_control_retry_done.yml.


def vm_control_plan(read, vm, code, remove=False, restart=False, opt_in_remove="", opt_in_restart="", waited=None):
    try:
        return _control_vm.vm_plan(
            read, vm, code, remove=bool(remove), restart=bool(restart), opt_in_remove=opt_in_remove,
            opt_in_restart=opt_in_restart, waited=waited,
        )  # fmt: skip
    except ControlError as exc:
        raise AnsibleFilterError(f"vm_control_plan: {exc}") from None


def vm_control_outcome(plan, vm, removed=None, restarted=None, after=None):
    return _control_vm.vm_outcome(plan, vm, removed=removed, restarted=restarted, after=after)


def vm_control_merge(guest, control):
    try:
        return _control_vm.merge_result(guest, control)
    except ControlError as exc:
        raise AnsibleFilterError(f"vm_control_merge: {exc}") from None


class FilterModule:
    def filters(self):
        return {
            "vm_control_plan": vm_control_plan,
            "vm_control_outcome": vm_control_outcome,
            "vm_control_merge": vm_control_merge,
            "vm_power_state": _control_vm.power_state,
            "vm_control_retry_done": _control_vm.retry_done,
        }
