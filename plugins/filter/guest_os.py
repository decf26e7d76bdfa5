# Copyright: vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""guest_os filter: Windows or Linux, told from a host's connection variables (no remote call)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
name: guest_os
author: vmbackup.azure maintainers (@vmbackup)
version_added: 0.1.0
short_description: Tell whether a host is a Windows or a Linux guest from its connection variables
description:
  - Returns V(windows) when the host's C(vmbackup_os) says so, or when it is reached over WinRM, PSRP,
    the Windows simulator (C(vmbackup.azure.winsim)) or with C(ansible_shell_type=powershell); V(linux) otherwise.
  - Set C(vmbackup_os) on a host to override the guess (for example a Windows host reached over SSH
    with the PowerShell shell is already found by its shell type).
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

WINDOWS_CONNECTIONS = frozenset(
    {
        "winrm",
        "psrp",
        "ansible.builtin.winrm",
        "ansible.builtin.psrp",
        "ansible.legacy.winrm",
        "ansible.legacy.psrp",
        "vmbackup.azure.winsim",
    }
)


def guest_os(host_vars):
    """``windows`` or ``linux`` for a host's variables."""
    if not hasattr(host_vars, "get"):
        raise AnsibleFilterError(f"guest_os expects a host's variables (a dict), got {type(host_vars).__name__}")
    explicit = host_vars.get("vmbackup_os")
    if explicit:
        if str(explicit).lower() not in ("windows", "linux"):
            raise AnsibleFilterError(f"vmbackup_os must be 'windows' or 'linux', got {explicit!r}")
        return str(explicit).lower()
    if str(host_vars.get("ansible_shell_type") or "") == "powershell":
        return "windows"
    if str(host_vars.get("ansible_connection") or "") in WINDOWS_CONNECTIONS:
        return "windows"
    return "linux"


class FilterModule:
    def filters(self):
        return {"guest_os": guest_os}
