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
extends_documentation_fragment:
  - action_common_attributes
  - action_common_attributes.flow
  - vmbackup.azure.registry_fix
  - vmbackup.azure.windows_fix
notes:
  - The backup extension reads these values when it takes the next snapshot; nothing is restarted.
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
- vmbackup.azure.registry_fix
- vmbackup.azure.windows_fix
finding:
  description: The ExtensionFailedTimeoutVMNetworkUnresponsive finding before any change, as the scan reports it.
  returned: always
  type: dict
actions:
  sample:
  - path: HKLM:\SOFTWARE\Microsoft\BcdrAgentPersistentKeys
    name: SnapshotMethod
    type: string
    data: firstHostThenGuest
    current: null
    reason: key missing
"""
