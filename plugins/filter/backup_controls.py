# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""backup_controls filter: the codes a host switched off and the waivers it holds."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.vmbackup.azure.plugins.plugin_utils._controls import ControlError, controls, var_lookup

DOCUMENTATION = r"""
name: backup_controls
author: vmbackup.azure maintainers (@vmbackup)
version_added: 0.1.0
short_description: The error codes a host switched off and the waivers it holds
description:
  - Reads C(vmbackup_disabled_codes) (codes, aliases, numeric codes or role names), every
    C(vmbackup_disable_<snake_case code>) switch, and C(vmbackup_waivers) merged with every variable
    named C(vmbackup_waivers_<suffix>) (so group variables can add waivers without hiding the host's).
  - A waiver is C({code, reason, until}); C(until) (a date, optional) ends it. A malformed switch or
    waiver fails, naming the variable.
  - Used by C(playbooks/remediate.yml); M(vmbackup.azure.backup_scan) and M(vmbackup.azure.backup_report)
    read the same variables the same way.
options:
  _input:
    description: The host's variables, usually C(hostvars[inventory_hostname]).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Skip the codes the host switched off
  ansible.builtin.debug:
    msg: "{{ (hostvars[inventory_hostname] | vmbackup.azure.backup_controls).disabled }}"
"""

RETURN = r"""
_value:
  description: What the user set for the host.
  type: dict
  contains:
    disabled:
      description: Canonical codes switched off (not checked, not fixed).
      type: list
      elements: str
    waivers:
      description: Code to C({reason, until, active, source}); C(active) is false once C(until) is past.
      type: dict
    waived:
      description: Codes under an active waiver (checked and reported, never fixed).
      type: list
      elements: str
"""


def backup_controls(host_vars):
    if not hasattr(host_vars, "get") or not hasattr(host_vars, "keys"):
        raise AnsibleFilterError(f"backup_controls expects a host's variables (a dict), got {type(host_vars).__name__}")

    try:
        return controls(var_lookup(host_vars), list(host_vars.keys()))
    except ControlError as exc:
        raise AnsibleFilterError(str(exc)) from None


class FilterModule:
    def filters(self):
        return {"backup_controls": backup_controls}
