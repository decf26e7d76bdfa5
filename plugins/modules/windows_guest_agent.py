#!/usr/bin/python
# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This is a documentation stub: the work is done by the action plugin plugins/action/windows_guest_agent.py.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: windows_guest_agent
short_description: Keep the Windows VM agent installed, current and running (VmAgentNotRunning, AzureVmOffline)
version_added: 0.2.0
description:
  - Reads the services, the agent version and the VMSnapshot extension's newest status file of a Windows
    guest with one read-only M(ansible.windows.win_powershell) probe that also runs in check mode.
  - The agent version is the product version of C(C:\WindowsAzure\Packages\WaAppAgent.exe), else
    C(GuestAgentVersion) under C(HKLM\SOFTWARE\Microsoft\Virtual Machine\Guest).
  - A stopped service C(WindowsAzureGuestAgent) is started with M(ansible.windows.win_service) (O(start)); a
    stuck one (start/stop pending, paused) is restarted only with O(restart=true).
  - A missing or outdated agent (older than O(min_version)) is installed or updated with
    M(ansible.windows.win_package) from O(msi_path), only with O(install=true).
  - An install, update or restart is refused while a backup snapshot is in progress, that is while the
    VMSnapshot extension's newest C(.status) says C(transitioning) (younger than O(backup_stale_minutes)) or a
    VSS writer is in a waiting state 2-5. Nothing changes then and the finding says why.
  - The same check decides several Azure Backup error codes; O(error_code) names the one to report.
options:
  error_code:
    description: The error code the finding is reported under; the check is the same.
    type: str
    default: VmAgentNotRunning
    choices: [VmAgentNotRunning, AzureVmOffline, NoVmAgent, UserErrorVmProvisioningStateFailed]
  start:
    description: Start the agent service when it is stopped (start mode back to auto when disabled).
    type: bool
    default: true
  restart:
    description: Restart the agent service when it is stuck (start pending, stop pending, paused). Disruptive.
    type: bool
    default: false
  install:
    description:
      - Install a missing agent or update an outdated one from O(msi_path). Disruptive.
      - Requires O(msi_path).
    type: bool
    default: false
  msi_path:
    description:
      - The Windows VM agent MSI, as a path on the host (ending in C(.msi)) or an http(s) URL.
    type: str
  msi_product_id:
    description:
      - The MSI's product code, when known. With a URL, M(ansible.windows.win_package) then skips the download
        when the product is installed.
    type: str
  min_version:
    description: The oldest agent version accepted.
    type: str
    default: 2.6.1198.718
  backup_stale_minutes:
    description:
      - A C(transitioning) status written longer ago than this many minutes is stale (a crashed run), not a
        running backup.
    type: int
    default: 180
extends_documentation_fragment:
  - action_common_attributes
  - action_common_attributes.flow
  - vmbackup.azure.windows_fix
attributes:
  check_mode:
    support: full
    details: The probe runs in check mode; installs and service changes are passed to the modules in check mode.
  diff_mode:
    support: full
    details: Shows the agent service state and version before and after (predicted in check mode).
notes:
  - The script parameters of the probe come from the host variables C(vmbackup_azure_endpoint_names) and
    C(vmbackup_backup_event_days), as in the scan, so both run the same probe.
  - Nothing of this ever ran on Windows here; it is tested against the vmbackup.azure.winsim simulator.
seealso:
  - module: ansible.windows.win_package
  - module: ansible.windows.win_service
author:
  - vmbackup.azure contributors (@vmbackup)
"""

EXAMPLES = r"""
- name: VmAgentNotRunning | start the agent if it is stopped, report anything else
  vmbackup.azure.windows_guest_agent:

- name: AzureVmOffline | install the agent from an MSI on the host
  vmbackup.azure.windows_guest_agent:
    error_code: AzureVmOffline
    install: true
    msi_path: C:\Install\WindowsAzureVmAgent.msi
"""

RETURN = r"""
extends_documentation_fragment:
- vmbackup.azure.windows_fix
finding:
  description: The finding (error_code, status, detail, fix, actions) before the run; the scan reports the same.
  returned: always
  type: dict
before:
  description:
  - What the fix reads before any change (fix-specific shape, see below).
  - 'For this fix: Service existence, state and start mode, agent version and its source, backup in progress.'
  returned: success
  type: dict
after:
  description:
  - 'The same after the fix: probed again when O(verify=true),'
  - else (and in check mode) predicted, see C(after_predicted).
  - 'For this fix: The same after the run (predicted in check mode, see C(after_predicted)).'
  returned: success
  type: dict
actions:
  description:
  - The state-changing steps that ran (or would run, in check mode), in order.
  - 'For this fix: The steps that changed something (install_agent, update_agent, start_service, restart_service).'
  returned: success
  type: list
  elements: str
not_allowed:
  description: Planned steps that were not run, with the reason (an opt-in missing, a safety rule).
  returned: success
  type: list
  elements: dict
detail:
  contains:
    reboot_required:
      description: The agent MSI asked for a reboot (return code 3010).
      returned: when the MSI asked for it
      type: bool
"""
