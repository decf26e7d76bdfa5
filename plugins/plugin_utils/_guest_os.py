# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Windows or Linux: the one OS detector of the collection (internal, controller side, no remote call).

Used by the ``guest_os`` filter (remediate.yml, triage.yml, the report) and by ``backup_scan``, so a
host is the same OS in the scan and in remediate.

Order: ``vmbackup_os`` (the user's word) first; then the shell the connection really uses, when the
caller has it (``backup_scan``: ``self._connection._shell.SHELL_FAMILY``); then the connection
variables. Windows shells: ``powershell`` and ``cmd`` -- ansible-core's cmd shell plugin is a
PowerShell shell (ansible/plugins/shell/cmd.py: ``class ShellModule(PSShellModule)``,
``SHELL_FAMILY = 'cmd'``), what Windows over SSH with ``ansible_shell_type: cmd`` uses.
"""

from __future__ import annotations

WINDOWS_SHELLS = frozenset({"powershell", "cmd"})
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


class GuestOsError(ValueError):
    """vmbackup_os holds something other than windows or linux."""


def guest_os(host_vars, shell_family: str | None = None) -> str:
    """``windows`` or ``linux`` for a host's variables (a mapping), optionally its connection's shell family."""
    explicit = host_vars.get("vmbackup_os")
    if explicit:
        if str(explicit).lower() not in ("windows", "linux"):
            raise GuestOsError(f"vmbackup_os must be 'windows' or 'linux', got {explicit!r}")
        return str(explicit).lower()
    if shell_family:
        return "windows" if shell_family in WINDOWS_SHELLS else "linux"
    if str(host_vars.get("ansible_shell_type") or "") in WINDOWS_SHELLS:
        return "windows"
    if str(host_vars.get("ansible_connection") or "") in WINDOWS_CONNECTIONS:
        return "windows"
    return "linux"
