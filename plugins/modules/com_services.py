#!/usr/bin/python
# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This is a documentation stub: the work is done by the action plugin plugins/action/com_services.py.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: com_services
short_description: Keep COM+ System Application and MSDTC able to start (ExtensionSnapshotFailedCOM)
version_added: 0.1.0
description:
  - Reads the services of a Windows host with one read-only M(ansible.windows.win_powershell) probe that
    also runs in check mode.
  - Checks that C(COMSysApp) (COM+ System Application) can start (installed, not disabled, not stuck) and
    that C(MSDTC) (Distributed Transaction Coordinator) runs and logs on as C(NT AUTHORITY\NetworkService).
    A stopped C(COMSysApp) is normal (demand-start) and passes.
  - "Fixes, in the order of the Microsoft doc, with M(ansible.windows.win_service): re-enable a disabled
    C(COMSysApp)/C(MSDTC) and start stopped services (non-disruptive, always done); set MSDTC's logon
    account to Network Service (by SID C(S-1-5-20), so localized Windows works) and restart MSDTC and COM+
    (disruptive: O(restart=true) only)."
  - Last resort, only when a start above still fails B(and) O(reinstall_msdtc=true) - stop MSDTC,
    C(msdtc -uninstall), C(msdtc -install) (M(ansible.windows.win_command)), start MSDTC, start COMSysApp -
    then the services are probed again and must pass.
  - This is the fix for the Azure Backup errors C(ExtensionSnapshotFailedCOM), C(ExtensionInstallationFailedCOM)
    and C(ExtensionInstallationFailedMDTC).
options:
  restart:
    description:
      - Allow the disruptive steps - change MSDTC's logon account and restart MSDTC and COMSysApp
        when they run.
      - With V(false) those steps are only reported in RV(not_allowed) and RV(finding).
    type: bool
    default: false
  reinstall_msdtc:
    description:
      - Allow the last resort (stop MSDTC, C(msdtc -uninstall), C(msdtc -install), start MSDTC and COMSysApp)
        when a service still fails to start after the lighter steps, and installing MSDTC when it is missing.
      - A reinstall resets MSDTC's configuration (including its DTC security settings) to the Windows defaults.
    type: bool
    default: false
extends_documentation_fragment:
  - action_common_attributes
  - action_common_attributes.flow
  - vmbackup.azure.windows_fix
attributes:
  check_mode:
    support: full
    details:
      - The probe runs in check mode; M(ansible.windows.win_service) runs in check mode and reports what it would do.
      - The reinstall needs a start that failed, which check mode cannot observe; RV(finding) lists it as the
        conditional last resort with its C(allowed) flag (M(ansible.windows.win_command) is skipped in check mode).
  diff_mode:
    support: full
    details: Shows state, start mode and logon account of both services before and after (predicted in check mode).
notes:
  - Restarting MSDTC and COM+ interrupts distributed transactions and COM+ applications; spread O(restart)
    over the fleet with C(serial) or C(throttle).
seealso:
  - module: ansible.windows.win_service
  - module: ansible.windows.win_command
author:
  - vmbackup.azure contributors (@vmbackup)
"""

EXAMPLES = r"""
- name: ExtensionSnapshotFailedCOM | report what would change
  vmbackup.azure.com_services:
  register: com

- name: ExtensionSnapshotFailedCOM | fix, reinstalling MSDTC as the last resort
  vmbackup.azure.com_services:
    restart: true
    reinstall_msdtc: true
  throttle: 5
"""

RETURN = r"""
extends_documentation_fragment:
- vmbackup.azure.windows_fix
finding:
  description: The ExtensionSnapshotFailedCOM finding before any change, as the scan reports it.
  returned: always
  type: dict
  sample:
    error_code: ExtensionSnapshotFailedCOM
    status: fail
    detail: MSDTC logs on as LocalSystem, not NT AUTHORITY\NetworkService
    fix: set MSDTC logon account to NT AUTHORITY\NetworkService (S-1-5-20); restart MSDTC (...)
    actions:
    - action: set_logon_account
      service: MSDTC
      allowed: true
      disruptive: true
before:
  description:
  - What the fix reads before any change (fix-specific shape, see below).
  - 'For this fix: State, start mode and logon account of COMSysApp and MSDTC before any change'
  - (null when not installed).
  returned: success
  type: dict
  sample:
    COMSysApp:
      state: stopped
      start_mode: manual
      username: LocalSystem
    MSDTC:
      state: running
      start_mode: delayed
      username: LocalSystem
after:
  description:
  - 'The same after the fix: probed again when O(verify=true),'
  - else (and in check mode) predicted, see C(after_predicted).
  - 'For this fix: The same after the fix (probed again), or predicted in check mode (see C(after_predicted)).'
  returned: success
  type: dict
actions:
  description:
  - The state-changing steps that ran (or would run, in check mode), in order.
  - 'For this fix: The steps run, in order, with their C(changed) flag (C(failed) for a start that failed).'
  returned: success
  type: list
  elements: dict
not_allowed:
  description: Planned steps that were not run, with the reason (an opt-in missing).
  returned: success
  type: list
  elements: dict
detail:
  contains:
    reinstalled:
      description: Whether the last resort (MSDTC reinstall) ran.
      returned: success
      type: bool
    reinstall_steps:
      description: The steps of the last resort and their outcome.
      returned: success
      type: list
      elements: dict
"""
