# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The only state-changing PowerShell vmbackup.azure writes: BitLocker unlock / off (docs/architecture.md,
"No secret on a command line").

``manage-bde -unlock X: -RecoveryPassword <pw>`` through win_command puts the recovery password on a
process command line, which process-creation auditing (event 4688 with command-line logging), Sysmon
and Defender record whatever Ansible's ``no_log`` says. These scripts run through
``ansible.windows.win_powershell`` instead: the password travels as a script *parameter* inside the
module arguments (sent over WinRM to the exec wrapper, never on a command line), and the BitLocker
cmdlets (``Unlock-BitLocker``, ``Disable-BitLocker``: the BitLocker module drives the
``Win32_EncryptableVolume`` CIM class) start no child process. Each script declares
``SupportsShouldProcess`` so win_powershell runs it with ``-WhatIf`` in check mode
(win_powershell.ps1, ansible.windows 3.x lines 935-941) and reports what it would change.
"""

from __future__ import annotations

UNLOCK_MARKER = "# vmbackup.azure:bitlocker_unlock"
OFF_MARKER = "# vmbackup.azure:bitlocker_off"

BITLOCKER_UNLOCK = r"""# vmbackup.azure:bitlocker_unlock
# Unlocks one BitLocker volume with a recovery password given as a parameter (never on a command line).
[CmdletBinding(SupportsShouldProcess)]
param(
    [Parameter(Mandatory)][string]$MountPoint,
    [Parameter(Mandatory)][string]$RecoveryPassword
)
$ErrorActionPreference = 'Stop'
$volume = Get-BitLockerVolume -MountPoint $MountPoint
if ([string]$volume.LockStatus -ne 'Locked') {
    $Ansible.Changed = $false
    return
}
if ($PSCmdlet.ShouldProcess($MountPoint, 'Unlock-BitLocker')) {
    $null = Unlock-BitLocker -MountPoint $MountPoint -RecoveryPassword $RecoveryPassword
}
$Ansible.Changed = $true
"""

BITLOCKER_OFF = r"""# vmbackup.azure:bitlocker_off
# Turns BitLocker off on one (unlocked) volume: decryption starts and runs in the background.
[CmdletBinding(SupportsShouldProcess)]
param(
    [Parameter(Mandatory)][string]$MountPoint
)
$ErrorActionPreference = 'Stop'
$volume = Get-BitLockerVolume -MountPoint $MountPoint
if ([string]$volume.VolumeStatus -in @('FullyDecrypted', 'DecryptionInProgress')) {
    $Ansible.Changed = $false
    return
}
if ($PSCmdlet.ShouldProcess($MountPoint, 'Disable-BitLocker')) {
    $null = Disable-BitLocker -MountPoint $MountPoint
}
$Ansible.Changed = $true
"""
