#!/usr/bin/python
# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This is a documentation stub: the work is done by the action plugin plugins/action/dotnet_strong_crypto.py.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: dotnet_strong_crypto
short_description: Keep SchUseStrongCrypto set for every .NET Framework version (ExtensionSnapshotFailedNoSecureNetwork)
version_added: 0.1.0
description:
  - Reads, with one read-only M(ansible.windows.win_powershell) probe that also runs in check mode, the .NET
    Framework version keys of a Windows host in both registry views
    (C(HKLM:\SOFTWARE\Microsoft\.NETFramework\v*) and C(HKLM:\SOFTWARE\WOW6432Node\Microsoft\.NETFramework\v*)).
  - Versions are discovered, never hard-coded - every subkey named C(v<digits>...) (for example C(v2.0.50727),
    C(v4.0.30319)) is a version key.
  - Sets C(SchUseStrongCrypto) to dword C(1) with M(ansible.windows.win_regedit) in every version key where it is
    missing, has other data or another type (REG_SZ C(1) is wrong).
  - The Microsoft page says the version keys are under C(HKLM\SOFTWARE\Microsoft); they are under
    C(...\Microsoft\.NETFramework), and 32-bit .NET reads the C(WOW6432Node) view, so both views are kept.
  - This is the fix for the Azure Backup error C(ExtensionSnapshotFailedNoSecureNetwork).
options:
  include_32bit_view:
    description:
      - Also keep the version keys of the 32-bit view (C(WOW6432Node)).
      - A view without a C(.NETFramework) key (32-bit Windows) is skipped either way.
    type: bool
    default: true
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
  - .NET reads C(SchUseStrongCrypto) when a process starts - the backup extension picks it up on its next run;
    running services that use .NET keep the old behaviour until they restart. Nothing is restarted.
  - When no version key exists in the checked views, the finding is C(not_applicable) and nothing changes.
seealso:
  - module: ansible.windows.win_regedit
  - module: ansible.windows.win_powershell
author:
  - vmbackup.azure contributors (@vmbackup)
"""

EXAMPLES = r"""
- name: ExtensionSnapshotFailedNoSecureNetwork | set SchUseStrongCrypto in every .NET version key
  vmbackup.azure.dotnet_strong_crypto:
  register: strong_crypto

- name: ExtensionSnapshotFailedNoSecureNetwork | report only
  vmbackup.azure.dotnet_strong_crypto:
    apply: false
"""

RETURN = r"""
extends_documentation_fragment:
- vmbackup.azure.windows_fix
finding:
  description: The ExtensionSnapshotFailedNoSecureNetwork finding before any change, as the scan reports it.
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
  - path: HKLM:\SOFTWARE\WOW6432Node\Microsoft\.NETFramework\v4.0.30319
    name: SchUseStrongCrypto
    type: dword
    data: 1
    current:
      type: string
      data: '1'
    reason: wrong type
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
      - HKLM:\SOFTWARE\WOW6432Node\Microsoft\.NETFramework\v4.0.30319
"""
