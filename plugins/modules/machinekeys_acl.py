#!/usr/bin/python
# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This is a documentation stub: the work is done by the action plugin plugins/action/machinekeys_acl.py.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: machinekeys_acl
short_description: Reset the MachineKeys ACL, drop extension certificates (ExtensionConfigParsingFailure)
version_added: 0.1.0
description:
  - Reads the security descriptor (SDDL, C(Get-Acl)) of C(%SystemDrive%\ProgramData\Microsoft\Crypto\RSA\MachineKeys)
    and the certificates of C(LocalMachine\My) with one read-only M(ansible.windows.win_powershell) probe.
  - Compares the SDDL with the default Microsoft's own diagnostic uses
    (Azure/azure-support-scripts C(vmassist.ps1)) - C(O:SYG:SYD:PAI(A;;0x12019f;;;WD)(A;;FA;;;BA)) - owner SYSTEM,
    inheritance disabled, Everyone the eight special rights of the doc (0x12019f), Administrators full control,
    nothing else.
  - "With O(reset_acl=true) it resets the ACL exactly: M(ansible.windows.win_owner) (owner SYSTEM),
    M(ansible.windows.win_acl_inheritance) (C(state=absent), C(reorganize=false): inherited entries dropped),
    M(ansible.windows.win_acl) C(state=absent) for every other entry (same rights, type and flags, so it matches),
    then C(state=present) for the two default entries (C(inherit=None)). Accounts are passed as SIDs, so localized
    Windows works. Then the SDDL is read again and must be the default."
  - Entries M(ansible.windows.win_acl) cannot match (generic rights, an allow entry without Synchronize, object
    entries) make the task fail before anything changes, with the C(icacls) command to remove them by hand.
  - With O(delete_certificates=true) (and O(reset_acl=true)), after the ACL repair it deletes from C(LocalMachine\My),
    with M(ansible.windows.win_certificate_store) C(state=absent), every certificate issued to (subject CN)
    C(Windows Azure Service Management for Extensions) (what the doc calls "the classic deployment model") or
    C(Windows Azure CRP Certificate Generator). With a default ACL the certificates are left alone.
  - The primary group is only reported (no ansible.windows module sets it; Windows ignores it for access checks).
  - This is the fix for the Azure Backup error C(ExtensionConfigParsingFailure).
options:
  reset_acl:
    description:
      - Reset the MachineKeys ACL to the default. With V(false) the steps are only reported.
    type: bool
    default: false
  delete_certificates:
    description:
      - After the ACL reset, delete the extension certificates from C(LocalMachine\My).
      - Needs O(reset_acl=true); the thumbprints are listed in RV(finding) either way.
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
      - The probe runs in check mode; the ACL and certificate modules run in check mode; RV(after) is predicted.
  diff_mode:
    support: full
    details: Shows the SDDL and the certificates of C(LocalMachine\My) before and after (predicted in check mode).
notes:
  - "Why the certificate names: an older version of the Microsoft page (2017) said I(Issued To = Windows Azure
    Service Management for Extensions or Windows Azure CRP Certificate Generator); Microsoft later renamed
    I(Azure Service Management) to I(the classic deployment model) throughout its docs."
  - The Azure guest agent re-creates the CRP certificate; deleting it is safe only as part of the ACL repair.
seealso:
  - module: ansible.windows.win_acl
  - module: ansible.windows.win_acl_inheritance
  - module: ansible.windows.win_owner
  - module: ansible.windows.win_certificate_store
author:
  - vmbackup.azure contributors (@vmbackup)
"""

EXAMPLES = r"""
- name: ExtensionConfigParsingFailure | report the ACL and the certificates that would be deleted
  vmbackup.azure.machinekeys_acl:

- name: ExtensionConfigParsingFailure | reset the ACL and delete the extension certificates
  vmbackup.azure.machinekeys_acl:
    reset_acl: true
    delete_certificates: true
"""

RETURN = r"""
extends_documentation_fragment:
- vmbackup.azure.windows_fix
finding:
  description: The ExtensionConfigParsingFailure finding before any change, as the scan reports it.
  returned: always
  type: dict
before:
  description:
  - What the fix reads before any change (fix-specific shape, see below).
  - 'For this fix: Its SDDL before any change.'
  returned: success
  type: str
  sample: O:BAG:SYD:AI(A;OICI;FA;;;BU)(A;;FA;;;BA)(A;OICIID;FA;;;SY)
after:
  description:
  - 'The same after the fix: probed again when O(verify=true),'
  - else (and in check mode) predicted, see C(after_predicted).
  - 'For this fix: Its SDDL after the fix, read again (predicted in check mode, see C(after_predicted)).'
  returned: success
  type: str
  sample: O:SYG:SYD:PAI(A;;0x12019f;;;WD)(A;;FA;;;BA)
actions:
  description:
  - The state-changing steps that ran (or would run, in check mode), in order.
  - 'For this fix: The ACL steps run, with their C(changed) flag.'
  returned: success
  type: list
  elements: dict
not_allowed:
  description: Planned actions not run, with the reason.
  returned: success
  type: list
  elements: dict
detail:
  contains:
    path:
      description: The MachineKeys directory.
      returned: success
      type: str
      sample: C:\ProgramData\Microsoft\Crypto\RSA\MachineKeys
    extension_certificates:
      description: Thumbprints of the extension certificates found in C(LocalMachine\My).
      returned: success
      type: list
      elements: str
    certificates_deleted:
      description: Thumbprints deleted (in check mode, that would be deleted).
      returned: success
      type: list
      elements: str
"""
