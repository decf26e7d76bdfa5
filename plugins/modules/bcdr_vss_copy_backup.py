#!/usr/bin/python
# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This is a documentation stub: the work is done by the action plugin plugins/action/bcdr_vss_copy_backup.py.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: bcdr_vss_copy_backup
short_description: Make the backup extension take VSS copy backups where SQL Server runs (SqlServerSnapshotDelay)
version_added: 0.1.0
description:
  - Detects SQL Server and reads C(HKLM:\SOFTWARE\Microsoft\BCDRAGENT) with one read-only
    M(ansible.windows.win_powershell) probe that also runs in check mode.
  - SQL Server counts as installed when C(InstalledInstances) (REG_MULTI_SZ) under
    C(HKLM:\SOFTWARE\Microsoft\Microsoft SQL Server) or its C(WOW6432Node) view lists an instance, or when a
    service C(MSSQLSERVER) or C(MSSQL$<instance>) exists. The key alone is not enough (client tools create it),
    nor is the C(SQLWriter) service.
  - Where SQL Server is installed, sets REG_SZ C(USEVSSCOPYBACKUP=TRUE) with M(ansible.windows.win_regedit)
    (a dword is wrong; strings compare case-sensitively), creating the key when it does not exist, so the
    snapshot's VSS backup is a copy backup that does not disturb SQL Server's own backup chain.
  - Elsewhere the finding is C(not_applicable) and nothing changes (see O(only_with_sql_server)).
  - This is the fix for the condition C(SqlServerSnapshotDelay) ("SQL Server backups delay the snapshot").
options:
  only_with_sql_server:
    description:
      - Set the value only where SQL Server is detected.
      - When V(false) the value is set on every Windows host (for example where SQL Server is installed in a way
        the detection misses).
    type: bool
    default: true
extends_documentation_fragment:
  - action_common_attributes
  - action_common_attributes.flow
  - vmbackup.azure.registry_fix
  - vmbackup.azure.windows_fix
notes:
  - The backup extension reads the value when it takes the next snapshot; nothing is restarted.
author:
  - vmbackup.azure contributors (@vmbackup)
"""

EXAMPLES = r"""
- name: SqlServerSnapshotDelay | take VSS copy backups where SQL Server is installed
  vmbackup.azure.bcdr_vss_copy_backup:
  register: vss_copy
"""

RETURN = r"""
extends_documentation_fragment:
- vmbackup.azure.registry_fix
- vmbackup.azure.windows_fix
finding:
  description: The SqlServerSnapshotDelay finding before any change, as the scan reports it.
  returned: always
  type: dict
actions:
  sample:
  - path: HKLM:\SOFTWARE\Microsoft\BCDRAGENT
    name: USEVSSCOPYBACKUP
    type: string
    data: 'TRUE'
    current:
      type: dword
      data: 1
    reason: wrong type
"""
