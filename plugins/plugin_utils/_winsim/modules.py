# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which module (FQCN) the simulator emulates, and with what.

Each emulation takes a :class:`Context` and returns the module result, or raises
``args.ModuleExit`` (``args.fail(...)``). It changes the state in memory and calls
``state.touch()``; it must not change anything in check mode (the runner never saves then anyway).
"""

from __future__ import annotations

from dataclasses import dataclass

from ansible_collections.vmbackup.azure.plugins.plugin_utils._winsim import (
    commands,
    files,
    packages,
    registry,
    security,
    services,
)


@dataclass
class Context:
    params: dict
    state: object  # state.HostState
    check_mode: bool
    diff_mode: bool
    module: str


EMULATIONS = {
    "ansible.windows.win_ping": commands.win_ping,
    "ansible.windows.win_command": commands.win_command,
    "ansible.windows.win_shell": commands.win_shell,
    "ansible.windows.win_powershell": commands.win_powershell,
    "ansible.windows.win_service": services.win_service,
    "ansible.windows.win_service_info": services.win_service_info,
    "ansible.windows.win_regedit": registry.win_regedit,
    "ansible.windows.win_reg_stat": registry.win_reg_stat,
    "ansible.windows.win_stat": files.win_stat,
    "ansible.windows.win_certificate_info": files.win_certificate_info,
    "community.windows.win_file_version": files.win_file_version,
    "ansible.windows.win_package": packages.win_package,
    "ansible.windows.win_acl": security.win_acl,
    "ansible.windows.win_acl_inheritance": security.win_acl_inheritance,
    "ansible.windows.win_owner": security.win_owner,
    "ansible.windows.win_certificate_store": security.win_certificate_store,
}
