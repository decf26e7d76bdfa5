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
extends_documentation_fragment:
  - action_common_attributes
  - action_common_attributes.flow
  - vmbackup.azure.registry_fix
  - vmbackup.azure.windows_fix
notes:
  - .NET reads C(SchUseStrongCrypto) when a process starts - the backup extension picks it up on its next run;
    running services that use .NET keep the old behaviour until they restart. Nothing is restarted.
  - When no version key exists in the checked views, the finding is C(not_applicable) and nothing changes.
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
- vmbackup.azure.registry_fix
- vmbackup.azure.windows_fix
finding:
  description: The ExtensionSnapshotFailedNoSecureNetwork finding before any change, as the scan reports it.
  returned: always
  type: dict
actions:
  sample:
  - path: HKLM:\SOFTWARE\WOW6432Node\Microsoft\.NETFramework\v4.0.30319
    name: SchUseStrongCrypto
    type: dword
    data: 1
    current:
      type: string
      data: '1'
    reason: wrong type
"""
