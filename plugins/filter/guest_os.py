# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""guest_os filter: Windows or Linux, told from a host's connection variables (no remote call)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible_collections.vmbackup.azure.plugins.plugin_utils._guest_os import GuestOsError
from ansible_collections.vmbackup.azure.plugins.plugin_utils._guest_os import guest_os as _guest_os

DOCUMENTATION = r"""
name: guest_os
author: vmbackup.azure maintainers (@vmbackup)
version_added: 0.1.0
short_description: Tell whether a host is a Windows or a Linux guest from its connection variables
description:
  - Returns V(windows) when the host's C(vmbackup_os) says so, or when it is reached over WinRM, PSRP,
    the Windows simulator (C(vmbackup.azure.winsim)), or with C(ansible_shell_type) V(powershell) or V(cmd)
    (Windows over SSH); V(linux) otherwise.
  - Set C(vmbackup_os) on a host to override the guess.
  - The same detector as M(vmbackup.azure.backup_scan), which also reads the shell its connection really uses.
  - Costs no remote execution, which matters at fleet scale.
options:
  _input:
    description: The host's variables, usually C(hostvars[inventory_hostname]).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Include the Windows or the Linux tasks
  ansible.builtin.include_tasks: "{{ hostvars[inventory_hostname] | vmbackup.azure.guest_os }}.yml"
"""

RETURN = r"""
_value:
  description: V(windows) or V(linux).
  type: str
"""


def guest_os(host_vars):
    """``windows`` or ``linux`` for a host's variables."""
    if not hasattr(host_vars, "get"):
        raise AnsibleFilterError(f"guest_os expects a host's variables (a dict), got {type(host_vars).__name__}")
    try:
        return _guest_os(host_vars)
    except GuestOsError as exc:
        raise AnsibleFilterError(str(exc)) from None


class FilterModule:
    def filters(self):
        return {"guest_os": guest_os}
