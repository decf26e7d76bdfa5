#!/usr/bin/python
# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This is a documentation stub: the work is done by the action plugin plugins/action/windows_installer.py.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: windows_installer
short_description: Windows Installer service and VC++ 2013 x64 (ExtensionVCRedistInstallationFailure)
version_added: 0.2.0
description:
  - Reads the services, the VC++ 2013 entries of the Uninstall registry keys (64-bit and WOW6432Node views)
    and the VMSnapshot plugin folders with one read-only M(ansible.windows.win_powershell) probe that also runs
    in check mode.
  - When the Windows Installer service (C(msiserver)) is disabled (C(Start) = 4), sets its start mode to manual
    with M(ansible.windows.win_service); the Service Control Manager stores that as C(Start) = 3.
  - When the VC++ 2013 x64 redistributable is missing, installs C(vcredist2013_x64.exe) from the newest
    C(C:\Packages\Plugins\Microsoft.Azure.RecoveryServices.VMSnapshot\<version>) folder (or O(vcredist_path))
    with M(ansible.windows.win_package), C(/install /quiet /norestart), idempotent by O(vcredist_product_id).
  - With O(reregister_msi=true) and a problem found, runs C(msiexec.exe /unregister) then
    C(msiexec.exe /regserver) with M(ansible.windows.win_command) (not sent in check mode, where
    RV(detail.would_run) lists them).
  - This is the fix for the Azure Backup error C(ExtensionVCRedistInstallationFailure).
options:
  msiserver_manual:
    description: Set msiserver's start mode to manual when it is disabled.
    type: bool
    default: true
  install_vcredist:
    description: Install the VC++ 2013 x64 redistributable when it is missing.
    type: bool
    default: true
  vcredist_path:
    description:
      - Absolute path of C(vcredist2013_x64.exe) on the host. Default the newest VMSnapshot plugin folder holding it.
    type: str
  vcredist_product_id:
    description:
      - The product code M(ansible.windows.win_package) checks before running the installer.
      - Detection also accepts the other VC++ 2013 x64 codes and the display name
        C(Microsoft Visual C++ 2013 Redistributable (x64)).
    type: str
    default: "{042d26ef-3dbe-4c25-95d3-4c1b11b235a7}"
  reregister_msi:
    description:
      - Re-register the Windows Installer (C(msiexec.exe /unregister), C(msiexec.exe /regserver)) when a problem
        was found. Disruptive. The doc's C(MSIEXEC /REGISTER) is not a msiexec switch; C(/regserver) is.
    type: bool
    default: false
extends_documentation_fragment:
  - action_common_attributes
  - action_common_attributes.flow
  - vmbackup.azure.windows_fix
attributes:
  check_mode:
    support: full
    details: The probe runs in check mode; win_service and win_package run in check mode; msiexec is reported, not sent.
  diff_mode:
    support: full
    details: Shows msiserver's start mode and the VC++ 2013 x64 product before and after (predicted in check mode).
notes:
  - Nothing of this ever ran on Windows here; it is tested against the vmbackup.azure.winsim simulator.
seealso:
  - module: ansible.windows.win_service
  - module: ansible.windows.win_package
  - module: ansible.windows.win_command
author:
  - vmbackup.azure contributors (@vmbackup)
"""

EXAMPLES = r"""
- name: ExtensionVCRedistInstallationFailure | installer service and VC++ 2013 x64
  vmbackup.azure.windows_installer:

- name: ExtensionVCRedistInstallationFailure | also re-register the Windows Installer
  vmbackup.azure.windows_installer:
    reregister_msi: true
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
  - 'For this fix: msiserver start mode, the VC++ 2013 x64 entry found, the VMSnapshot plugin versions.'
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
  - 'For this fix: The steps that changed something (set_start_mode, reregister_msi, install_vcredist).'
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
    would_run:
      description: Commands that would run (check mode only; win_command is skipped in check mode).
      returned: always
      type: list
      elements: str
    reboot_required:
      description: The VC++ installer asked for a reboot (return code 3010).
      returned: when the installer asked for it
      type: bool
"""
