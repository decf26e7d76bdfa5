#!/usr/bin/python
# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This is a documentation stub: the work is done by the action plugin plugins/action/bcdr_agent_keys.py.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: bcdr_agent_keys
short_description: Keep the BcdrAgentPersistentKeys snapshot values (ExtensionFailedTimeoutVMNetworkUnresponsive)
version_added: 0.1.0
description:
  - Reads C(HKLM:\SOFTWARE\Microsoft\BcdrAgentPersistentKeys) with one read-only
    M(ansible.windows.win_powershell) probe that also runs in check mode.
  - Sets, with M(ansible.windows.win_regedit), REG_SZ C(SnapshotMethod=firstHostThenGuest) and REG_SZ
    C(CalculateSnapshotTimeFromHost=True) where a value is missing, has other data or another type (a
    dword is wrong); creates the key when it does not exist. Strings compare case-sensitively.
  - This is step 1 of the fix for the Azure Backup error C(ExtensionFailedTimeoutVMNetworkUnresponsive).
    Steps 2 and 3 of the Microsoft page (schedule the backup when the VM is least loaded, a bigger VM size)
    are reported in the finding, never automated.
options:
  apply:
    description:
      - Set the values that differ.
      - When V(false) the module only reports what it would set (RV(not_allowed)) and changes nothing.
    type: bool
    default: true
extends_documentation_fragment:
  - action_common_attributes
  - action_common_attributes.flow
  - vmbackup.azure.windows_fix
attributes:
  check_mode:
    support: full
    details: >-
      The probe runs in check mode; each value is passed to M(ansible.windows.win_regedit), which reports
      the change and writes nothing in check mode.
  diff_mode:
    support: full
    details: Shows each value that changes, before and after.
notes:
  - The backup extension reads these values when it takes the next snapshot; nothing is restarted.
seealso:
  - module: ansible.windows.win_regedit
  - module: ansible.windows.win_powershell
author:
  - vmbackup.azure contributors (@vmbackup)
"""

EXAMPLES = r"""
- name: ExtensionFailedTimeoutVMNetworkUnresponsive | take snapshots from the host first
  vmbackup.azure.bcdr_agent_keys:
  register: bcdr_keys
"""

RETURN = r"""
extends_documentation_fragment:
- vmbackup.azure.windows_fix
finding:
  description: The ExtensionFailedTimeoutVMNetworkUnresponsive finding before any change, as the scan reports it.
  returned: always
  type: dict
before:
  description: What the fix reads before any change (fix-specific shape, see below).
  returned: success
  type: raw
after:
  description: 'The same after the fix: probed again when O(verify=true), else (and in check mode) predicted, see
    C(after_predicted).'
  returned: success
  type: raw
actions:
  description:
  - The state-changing steps that ran (or would run, in check mode), in order.
  - 'For this fix: The values set (in check mode, that would be set), each with its value before. C(current) is
    V(null) when the value (or its key) did not exist.'
  returned: success
  type: list
  elements: dict
  sample:
  - path: HKLM:\SOFTWARE\Microsoft\BcdrAgentPersistentKeys
    name: SnapshotMethod
    type: string
    data: firstHostThenGuest
    current: null
    reason: key missing
not_allowed:
  description: Values that differ but were not set because O(apply=false).
  returned: success
  type: list
  elements: dict
detail:
  description: What is specific to this fix.
  returned: success
  type: dict
  contains:
    changed_keys:
      description: The registry keys in which a value was set (in check mode, would be set).
      returned: success
      type: list
      elements: str
      sample:
      - HKLM:\SOFTWARE\Microsoft\BcdrAgentPersistentKeys
"""
