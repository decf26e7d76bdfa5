#!/usr/bin/python
# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# This is a documentation stub: the work is done by the action plugin plugins/action/bitlocker_volumes.py.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: bitlocker_volumes
short_description: Report BitLocker-locked volumes, unlock or decrypt on opt-in (ExtensionSnapshotBitlockerError)
version_added: 0.1.0
description:
  - Reads C(Get-BitLockerVolume) (MountPoint, LockStatus, VolumeStatus, ProtectionStatus, key protector types) with
    one read-only M(ansible.windows.win_powershell) probe that also runs in check mode. Hosts without the BitLocker
    cmdlets (feature not installed) are not applicable.
  - A volume whose lock status is C(Locked) makes the snapshot fail ("This drive is locked by BitLocker Drive
    Encryption"). Unlocked encrypted volumes pass.
  - By default the module only reports. With O(unlock=true) it unlocks each locked volume with
    C(Unlock-BitLocker -MountPoint <volume> -RecoveryPassword <password>); with O(decrypt=true) it unlocks and then
    turns BitLocker off (C(Disable-BitLocker -MountPoint <volume>)), as the Microsoft doc suggests.
  - The steps run as small scripts through M(ansible.windows.win_powershell) with the recovery password as a script
    parameter, never on a process command line (which process-creation auditing records whatever C(no_log) says).
  - O(decrypt) never turns BitLocker off where Azure Disk Encryption manages the volumes (its extension is
    installed) or where the probe cannot tell; such volumes are decrypted through Azure.
  - The recovery password is a secret - the module call that carries it runs with C(no_log), its C(cmd) is dropped
    from every result, and it never appears in the result, the invocation or an error message.
  - This is the fix for the Azure Backup error C(ExtensionSnapshotBitlockerError).
options:
  unlock:
    description:
      - Unlock the locked volumes that have a recovery password in O(recovery_passwords).
      - Unlocking keeps the data encrypted; the volume locks again at the next restart unless auto-unlock is on.
    type: bool
    default: false
  decrypt:
    description:
      - Unlock (needs the recovery password) and then turn BitLocker off on the locked volumes. This removes the
        protection of the data at rest - a security decision to take explicitly.
    type: bool
    default: false
  recovery_passwords:
    description:
      - Recovery password (48 digits, 8 blocks of 6) per volume, e.g. C({"D:" = "123456-..."}).
        Keep it in Ansible Vault.
      - Validated before anything runs on the host; the error names the volume, never the value.
    type: dict
    default: {}
extends_documentation_fragment:
  - action_common_attributes
  - action_common_attributes.flow
  - vmbackup.azure.windows_fix
attributes:
  check_mode:
    support: full
    details:
      - The probe runs in check mode; the BitLocker scripts run with C(-WhatIf), so RV(detail.unlocked) and
        RV(detail.decrypted) list what would run and RV(after) is predicted.
  diff_mode:
    support: full
    details: Shows lock and protection status per volume before and after (predicted in check mode).
notes:
  - Turning BitLocker off or unlocking on many hosts is a security change; run it per host or group with C(serial).
seealso:
  - module: ansible.windows.win_command
author:
  - vmbackup.azure contributors (@vmbackup)
"""

EXAMPLES = r"""
- name: ExtensionSnapshotBitlockerError | report locked volumes
  vmbackup.azure.bitlocker_volumes:

- name: "ExtensionSnapshotBitlockerError | unlock D: with its recovery password (from the vault)"
  vmbackup.azure.bitlocker_volumes:
    unlock: true
    recovery_passwords:
      "D:": "{{ vault_bitlocker_recovery_d }}"
"""

RETURN = r"""
extends_documentation_fragment:
- vmbackup.azure.windows_fix
finding:
  description: The ExtensionSnapshotBitlockerError finding before any change, as the scan reports it.
  returned: always
  type: dict
before:
  description:
  - What the fix reads before any change (fix-specific shape, see below).
  - 'For this fix: The volumes as C(Get-BitLockerVolume) listed them before any change.'
  returned: success
  type: list
  sample:
  - mount_point: 'D:'
    volume_type: Data
    lock_status: Locked
    volume_status: FullyEncrypted
    protection_status: Unknown
    encryption_percentage: 100
    key_protectors:
    - RecoveryPassword
  elements: dict
after:
  description:
  - 'The same after the fix: probed again when O(verify=true),'
  - else (and in check mode) predicted, see C(after_predicted).
  - 'For this fix: The volumes after the fix (listed again), predicted in check mode (see C(after_predicted)).'
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
    unlocked:
      description: Volumes unlocked (in check mode, that would be unlocked).
      returned: success
      type: list
      elements: str
    decrypted:
      description: Volumes on which BitLocker was turned off (decryption started).
      returned: success
      type: list
      elements: str
"""
