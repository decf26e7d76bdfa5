# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""role_vars filter: a fix role's variables typed by the role's argument spec, as the scan reads them."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.vmbackup.azure.plugins.plugin_utils._controls import var_lookup
from ansible_collections.vmbackup.azure.plugins.plugin_utils._role_vars import RoleVarsError, role_vars

DOCUMENTATION = r"""
name: role_vars
author: vmbackup.azure maintainers (@vmbackup)
version_added: 0.1.0
short_description: A fix role's variables for a host, typed by the role's argument spec
description:
  - Reads every variable of the role's C(meta/argument_specs.yml) from the host's variables and converts
    it with Ansible's own C(ArgumentSpecValidator), defaults applied -- the same function
    M(vmbackup.azure.backup_scan) uses, so a string C("false") (from C(-e k=v) or an AWX survey) is false in
    the scan and in the role alike.
  - Fails, naming the variable, when a value does not fit the spec, or when a list is given as text the role
    would read as one item (an AWX survey textarea with one item per line, a JSON list inside a string).
  - C(playbooks/remediate.yml) and C(playbooks/triage.yml) run it before each role.
options:
  _input:
    description: The host's variables, usually C(hostvars[inventory_hostname]).
    type: dict
    required: true
  role:
    description: The fix role's name, e.g. C(extension_failed_vss_writer_in_bad_state).
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Show what the VSS role will do on this host
  ansible.builtin.debug:
    msg: "{{ hostvars[inventory_hostname] | vmbackup.azure.role_vars('extension_failed_vss_writer_in_bad_state') }}"
"""

RETURN = r"""
_value:
  description: Option name (the variable without the role prefix) to typed value.
  type: dict
"""


def role_vars_filter(host_vars, role):
    if not hasattr(host_vars, "get") or not hasattr(host_vars, "keys"):
        raise AnsibleFilterError(f"role_vars expects a host's variables (a dict), got {type(host_vars).__name__}")

    try:
        return role_vars(str(role), var_lookup(host_vars))
    except (RoleVarsError, OSError, KeyError) as exc:
        raise AnsibleFilterError(str(exc)) from None


class FilterModule:
    def filters(self):
        return {"role_vars": role_vars_filter}
