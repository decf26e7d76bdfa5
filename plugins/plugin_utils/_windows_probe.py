# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Windows probe: the only PowerShell vmbackup.azure writes (docs/architecture.md).

One read-only script run through ``ansible.windows.win_powershell``. It declares
``[CmdletBinding(SupportsShouldProcess)]`` so win_powershell also runs it in check mode, and
sets ``$Ansible.Changed = $false``. Its ``output`` is a list with exactly one object (the
probe contract). Every decision happens in Python on the controller; the script only reads.
"""

from __future__ import annotations

from ansible_collections.vmbackup.azure.plugins.plugin_utils._registry import PROBE_DISCOVER, PROBE_KEYS, hklm_subpath

PROBE_MARKER = "# vmbackup.azure:windows_probe"
PROBE_NAME = "vmbackup.azure.windows_probe"
PROBE_VERSION = 1

# Serialization depth for win_powershell output: probe -> services -> service -> dependencies;
# probe -> registry -> keys -> <path> -> values -> <name> -> data (a REG_MULTI_SZ list) needs 7.
PROBE_DEPTH = 8

# The script is assembled from named sections. Each section starts with the line
# "# section: <name>", reads one area and stores it in $probe['<name>']; a section that throws
# records its error in $probe.section_errors['<name>'] instead of stopping the whole probe.
# Every section is read-only. The Windows simulator renders exactly the sections it finds.
_HEADER = r"""# vmbackup.azure:windows_probe
# Read-only: gathers what the vmbackup.azure checks need in one remote run.
[CmdletBinding(SupportsShouldProcess)]
param(
    # Azure names the dns section resolves; days of event log the events section reads.
    [string[]]$AzureEndpointNames = @(),
    [int]$BackupEventDays = 7
)

$Ansible.Changed = $false
$probe = [ordered]@{
    probe = 'vmbackup.azure.windows_probe'
    version = 1
    computer_name = $env:COMPUTERNAME
    locale = (Get-Culture).Name
    section_errors = @{}
}
"""

_FOOTER = r"""
[PSCustomObject]$probe
"""

SECTIONS: dict[str, str] = {}

SECTIONS["vssadmin"] = r"""# section: vssadmin
# vssadmin prints localized text; the controller parses it by structure, not by words.
try {
    $vssLines = @(& vssadmin.exe list writers 2>&1 | ForEach-Object { [string]$_ })
    $probe['vssadmin'] = [PSCustomObject]@{
        rc = $LASTEXITCODE
        stdout = $vssLines -join "`n"
    }
}
catch {
    $probe['vssadmin'] = [PSCustomObject]@{ rc = -1; stdout = [string]$_ }
}
"""

SECTIONS["services"] = r"""# section: services
# Services without WMI: a broken WMI repository (0x80041010) or a disabled Winmgmt made
# Get-CimInstance Win32_Service return nothing under SilentlyContinue. The list comes from the
# Service Control Manager (Get-Service, -ErrorAction Stop: no list is an error, never "no services"),
# the configuration from HKLM\SYSTEM\CurrentControlSet\Services\<name> (Start, DelayedAutostart,
# ObjectName, DependOnService: what the SCM itself stores). Each service is read inside its own try:
# DependentServices throws for one service (access denied, a dependency that no longer exists)
# without hiding the others; that service carries 'error'. The logon account's SID is resolved on
# the host (NTAccount.Translate), so a localized name (NT-AUTORITÄT\NETZWERKDIENST) compares by SID.
try {
    $svcStates = @{
        'Running' = 'running'; 'Stopped' = 'stopped'; 'StartPending' = 'start_pending'
        'StopPending' = 'stop_pending'; 'Paused' = 'paused'; 'PausePending' = 'pause_pending'
        'ContinuePending' = 'continue_pending'
    }
    $svcStarts = @{ 0 = 'boot'; 1 = 'system'; 2 = 'auto'; 3 = 'manual'; 4 = 'disabled' }
    $svcBase = [Microsoft.Win32.RegistryKey]::OpenBaseKey(
        [Microsoft.Win32.RegistryHive]::LocalMachine, [Microsoft.Win32.RegistryView]::Registry64)
    $probe['services'] = @(
        foreach ($svc in @(Get-Service -ErrorAction Stop)) {
            $svcEntry = [ordered]@{
                name = [string]$svc.Name
                display_name = [string]$svc.DisplayName
                state = $svcStates[[string]$svc.Status]
                start_mode = $null
                delayed_autostart = $false
                username = $null
                sid = $null
                dependencies = @()
                dependents = @()
                error = $null
            }
            try {
                $svcKey = $svcBase.OpenSubKey('SYSTEM\CurrentControlSet\Services\' + $svc.Name)
                if ($null -eq $svcKey) { throw "registry key of service $($svc.Name) not found" }
                $svcStart = $svcKey.GetValue('Start')
                $svcEntry.start_mode = $svcStarts[[int]$svcStart]
                $svcEntry.delayed_autostart = ([int]$svcKey.GetValue('DelayedAutostart', 0) -eq 1)
                $svcEntry.username = [string]$svcKey.GetValue('ObjectName')
                $svcEntry.dependencies = @($svcKey.GetValue('DependOnService', @()) |
                    Where-Object { $_ -and -not $_.StartsWith('+') } | ForEach-Object { [string]$_ })
                $svcKey.Close()
                if ($svcEntry.username -eq 'LocalSystem') { $svcEntry.sid = 'S-1-5-18' }
                elseif ($svcEntry.username) {
                    try {
                        $svcAccount = [System.Security.Principal.NTAccount]::new($svcEntry.username)
                        $svcEntry.sid = $svcAccount.Translate([System.Security.Principal.SecurityIdentifier]).Value
                    }
                    catch { $svcEntry.sid = $null }
                }
                $svcEntry.dependents = @($svc.DependentServices | ForEach-Object { [string]$_.Name })
            }
            catch {
                $svcEntry.error = [string]$_
            }
            [PSCustomObject]$svcEntry
        }
    )
}
catch {
    $probe.section_errors['services'] = [string]$_
}
"""


def _ps_list(items) -> str:
    """A PowerShell array literal of single-quoted strings."""
    return "@(" + ", ".join("'" + str(item).replace("'", "''") + "'" for item in items) + ")"


# Registry keys the checks need (plugins/plugin_utils/_registry.py PROBE_KEYS / PROBE_DISCOVER: add
# keys there). Read through the .NET registry API in the 64-bit view whatever the bitness of the
# PowerShell host, so "SOFTWARE\WOW6432Node\..." is the 32-bit view as win_regedit sees it from
# 64-bit PowerShell. OpenSubKey(name) opens read-only. DWORDs come back as signed Int32; the
# controller makes them unsigned. REG_EXPAND_SZ is read unexpanded.
SECTIONS["registry"] = (
    r"""# section: registry
try {
    $regBase = [Microsoft.Win32.RegistryKey]::OpenBaseKey(
        [Microsoft.Win32.RegistryHive]::LocalMachine, [Microsoft.Win32.RegistryView]::Registry64)
    $regRaw = [Microsoft.Win32.RegistryValueOptions]::DoNotExpandEnvironmentNames
    $regKinds = @{
        'String' = 'string'; 'ExpandString' = 'expandstring'; 'DWord' = 'dword'; 'QWord' = 'qword'
        'MultiString' = 'multistring'; 'Binary' = 'binary'; 'None' = 'none'; 'Unknown' = 'none'
    }
    $regPaths = """
    + _ps_list(hklm_subpath(path) for path in PROBE_KEYS)
    + r"""
    $regDiscover = """
    + _ps_list(f"{hklm_subpath(root)}|{pattern}" for root, pattern in PROBE_DISCOVER)
    + r"""
    foreach ($regRule in $regDiscover) {
        $regRoot, $regPattern = $regRule -split '\|', 2
        $regRootKey = $regBase.OpenSubKey($regRoot)
        if ($null -ne $regRootKey) {
            foreach ($regSub in @($regRootKey.GetSubKeyNames())) {
                if ($regSub -match $regPattern) { $regPaths += "$regRoot\$regSub" }
            }
            $regRootKey.Close()
        }
    }
    $regKeys = [ordered]@{}
    foreach ($regPath in $regPaths) {
        $regEntry = [ordered]@{ exists = $false; values = [ordered]@{}; subkeys = @() }
        try {
            $regKey = $regBase.OpenSubKey($regPath)
            if ($null -ne $regKey) {
                $regEntry.exists = $true
                $regEntry.subkeys = @($regKey.GetSubKeyNames())
                foreach ($regName in @($regKey.GetValueNames())) {
                    $regKind = [string]$regKey.GetValueKind($regName)
                    $regData = $regKey.GetValue($regName, $null, $regRaw)
                    if ($regKind -eq 'MultiString') { $regData = @($regData | ForEach-Object { [string]$_ }) }
                    elseif ($regKind -in @('Binary', 'None', 'Unknown')) {
                        $regData = @($regData | ForEach-Object { [int]$_ })
                    }
                    $regEntry.values[$regName] = [ordered]@{ type = $regKinds[$regKind]; data = $regData }
                }
                $regKey.Close()
            }
        }
        catch {
            $regEntry.error = [string]$_
        }
        $regKeys["HKLM:\$regPath"] = $regEntry
    }
    $probe['registry'] = [ordered]@{ keys = $regKeys }
}
catch {
    $probe.section_errors['registry'] = [string]$_
}
"""
)


# Sections of the agent, installer and report-only checks (plugins/plugin_utils/_windows_agent.py,
# _windows_installer.py, _windows_conditions.py, module_utils/_extension_status.py). Read-only: registry
# reads, file metadata and content, CIM queries, DNS lookups of the names given in $AzureEndpointNames,
# the Application event log.
SECTIONS["agent"] = r"""# section: agent
# The agent service itself is in the services section; here: its version, from the file and the registry.
try {
    $agentExe = 'C:\WindowsAzure\Packages\WaAppAgent.exe'
    $agentInfo = [ordered]@{
        waappagent_exists = $false
        waappagent_product_version = $null
        waappagent_file_version = $null
        guest_agent_version = $null
    }
    if (Test-Path -LiteralPath $agentExe -PathType Leaf) {
        $agentFile = (Get-Item -LiteralPath $agentExe).VersionInfo
        $agentInfo.waappagent_exists = $true
        $agentInfo.waappagent_product_version = [string]$agentFile.ProductVersion
        $agentInfo.waappagent_file_version = '{0}.{1}.{2}.{3}' -f $agentFile.FileMajorPart,
            $agentFile.FileMinorPart, $agentFile.FileBuildPart, $agentFile.FilePrivatePart
    }
    $agentKey = 'HKLM:\SOFTWARE\Microsoft\Virtual Machine\Guest'
    if (Test-Path -LiteralPath $agentKey) {
        $agentInfo.guest_agent_version = [string](Get-ItemProperty -LiteralPath $agentKey).GuestAgentVersion
    }
    $probe['agent'] = [PSCustomObject]$agentInfo
}
catch {
    $probe.section_errors['agent'] = [string]$_
}
"""

SECTIONS["installer"] = r"""# section: installer
# VC++ 2013 entries of the Uninstall keys (both registry views) and the VMSnapshot plugin folders.
try {
    $uninstallRoots = @(
        'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall',
        'HKLM:\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall'
    )
    $vcProducts = @(
        foreach ($uninstallRoot in $uninstallRoots) {
            foreach ($productKey in @(Get-ChildItem -LiteralPath $uninstallRoot -ErrorAction SilentlyContinue)) {
                $productProps = Get-ItemProperty -LiteralPath $productKey.PSPath -ErrorAction SilentlyContinue
                $productName = [string]$productProps.DisplayName
                if ($productName -match 'C\+\+ 2013') {
                    [PSCustomObject]@{
                        product_id = [string]$productKey.PSChildName
                        name = $productName
                        version = [string]$productProps.DisplayVersion
                        wow6432 = ($uninstallRoot -match 'WOW6432Node')
                    }
                }
            }
        }
    )
    $pluginRoot = 'C:\Packages\Plugins\Microsoft.Azure.RecoveryServices.VMSnapshot'
    $pluginDirs = @(
        foreach ($pluginDir in @(Get-ChildItem -LiteralPath $pluginRoot -Directory -ErrorAction SilentlyContinue)) {
            [PSCustomObject]@{
                version = [string]$pluginDir.Name
                vcredist = Test-Path -LiteralPath (Join-Path $pluginDir.FullName 'vcredist2013_x64.exe') -PathType Leaf
            }
        }
    )
    $probe['installer'] = [PSCustomObject]@{
        vcredist_products = $vcProducts
        snapshot_plugins = $pluginDirs
    }
}
catch {
    $probe.section_errors['installer'] = [string]$_
}
"""

SECTIONS["nics"] = r"""# section: nics
try {
    $probe['nics'] = @(
        foreach ($nic in @(Get-CimInstance -ClassName Win32_NetworkAdapterConfiguration -Filter 'IPEnabled = TRUE' `
                -ErrorAction Stop)) {
            [PSCustomObject]@{
                name = [string]$nic.Description
                index = [int]$nic.Index
                dhcp_enabled = [bool]$nic.DHCPEnabled
                ip_addresses = @($nic.IPAddress | ForEach-Object { [string]$_ })
            }
        }
    )
}
catch {
    $probe.section_errors['nics'] = [string]$_
}
"""

SECTIONS["dns"] = r"""# section: dns
# The names come from the script parameter AzureEndpointNames: the script text never changes.
try {
    $probe['dns'] = @(
        foreach ($dnsName in @($AzureEndpointNames)) {
            if (-not $dnsName) { continue }
            $dnsAddresses = @()
            $dnsError = $null
            try {
                $dnsAddresses = @([System.Net.Dns]::GetHostAddresses([string]$dnsName) | ForEach-Object { [string]$_ })
            }
            catch {
                $dnsError = [string]$_.Exception.Message
            }
            [PSCustomObject]@{
                name = [string]$dnsName
                resolved = ($dnsAddresses.Count -gt 0)
                addresses = $dnsAddresses
                error = $dnsError
            }
        }
    )
}
catch {
    $probe.section_errors['dns'] = [string]$_
}
"""

SECTIONS["resources"] = r"""# section: resources
# One sample: Win32_Processor.LoadPercentage (averaged over CPUs) and used physical memory.
try {
    # LoadPercentage is null when WMI has no sample yet: skipped, never read as 0 %
    $cpuLoads = @(Get-CimInstance -ClassName Win32_Processor -ErrorAction Stop |
        Where-Object { $null -ne $_.LoadPercentage } | ForEach-Object { [double]$_.LoadPercentage })
    $osInfo = Get-CimInstance -ClassName Win32_OperatingSystem -ErrorAction Stop
    $memTotal = [double]$osInfo.TotalVisibleMemorySize
    $memFree = [double]$osInfo.FreePhysicalMemory
    $cpuPercent = $null
    if ($cpuLoads.Count -gt 0) {
        $cpuPercent = [math]::Round(($cpuLoads | Measure-Object -Average).Average, 1)
    }
    $memPercent = $null
    if ($memTotal -gt 0) {
        $memPercent = [math]::Round(100 * ($memTotal - $memFree) / $memTotal, 1)
    }
    $probe['resources'] = [PSCustomObject]@{
        cpu_percent = $cpuPercent
        memory_percent = $memPercent
        memory_total_kb = $memTotal
        memory_free_kb = $memFree
    }
}
catch {
    $probe.section_errors['resources'] = [string]$_
}
"""

SECTIONS["events"] = r"""# section: events
# Event 517 in the Application log (Windows Server Backup: a backup failed), last BackupEventDays days.
try {
    $eventDays = [int]$BackupEventDays
    if ($eventDays -lt 1) { $eventDays = 7 }
    $eventFilter = @{ LogName = 'Application'; Id = 517; StartTime = (Get-Date).AddDays(-$eventDays) }
    $eventError = $null
    $backupEvents = @()
    try {
        $backupEvents = @(Get-WinEvent -FilterHashtable $eventFilter -MaxEvents 50 -ErrorAction Stop)
    }
    catch {
        if ($_.FullyQualifiedErrorId -notlike 'NoMatchingEventsFound*') { $eventError = [string]$_ }
    }
    $probe['events'] = [PSCustomObject]@{
        days = $eventDays
        error = $eventError
        backup_failures = @(
            foreach ($backupEvent in $backupEvents) {
                [PSCustomObject]@{
                    id = [int]$backupEvent.Id
                    provider = [string]$backupEvent.ProviderName
                    time_created = $backupEvent.TimeCreated.ToUniversalTime().ToString('o')
                    message = [string]$backupEvent.Message
                }
            }
        )
    }
}
catch {
    $probe.section_errors['events'] = [string]$_
}
"""

SECTIONS["extension_status"] = r"""# section: extension_status
# The newest VMSnapshot handler .status file, returned as raw text: the controller parses the JSON.
try {
    $statusPattern = 'C:\Packages\Plugins\Microsoft.Azure.RecoveryServices.VMSnapshot\*\Status\*.status'
    $statusFiles = @(Get-ChildItem -Path $statusPattern -File -ErrorAction SilentlyContinue |
        Sort-Object -Property LastWriteTimeUtc -Descending | Select-Object -First 1)
    $statusInfo = [ordered]@{
        found = $false
        path = $null
        last_write_utc = $null
        now_utc = [DateTime]::UtcNow.ToString('o')
        content = $null
    }
    if ($statusFiles.Count -gt 0) {
        $statusInfo.found = $true
        $statusInfo.path = [string]$statusFiles[0].FullName
        $statusInfo.last_write_utc = $statusFiles[0].LastWriteTimeUtc.ToString('o')
        $statusInfo.content = [string](Get-Content -LiteralPath $statusFiles[0].FullName -Raw -Encoding UTF8 `
            -ErrorAction Stop)
    }
    $probe['extension_status'] = [PSCustomObject]$statusInfo
}
catch {
    $probe.section_errors['extension_status'] = [string]$_
}
"""


# Sections of ExtensionConfigParsingFailure and ExtensionSnapshotBitlockerError
# (plugins/plugin_utils/_machinekeys.py, _bitlocker.py). Read-only: Get-Acl, the certificate
# provider, Get-BitLockerVolume (absent when the BitLocker feature is not installed).
SECTIONS["machinekeys_acl"] = r"""# section: machinekeys_acl
try {
    $mkPath = Join-Path $env:SystemDrive 'ProgramData\Microsoft\Crypto\RSA\MachineKeys'
    $mkExists = Test-Path -LiteralPath $mkPath -PathType Container
    $mkSddl = $null
    # -ErrorAction Stop: access denied is a section error, never an empty SDDL
    if ($mkExists) { $mkSddl = [string](Get-Acl -LiteralPath $mkPath -ErrorAction Stop).Sddl }
    $probe['machinekeys_acl'] = [PSCustomObject]@{ path = [string]$mkPath; exists = [bool]$mkExists; sddl = $mkSddl }
}
catch {
    $probe.section_errors['machinekeys_acl'] = [string]$_
}
"""

SECTIONS["certificates_my"] = r"""# section: certificates_my
try {
    $probe['certificates_my'] = @(
        foreach ($myCert in @(Get-ChildItem -LiteralPath 'Cert:\LocalMachine\My' -ErrorAction Stop)) {
            [PSCustomObject]@{
                thumbprint = [string]$myCert.Thumbprint
                subject = [string]$myCert.Subject
                issuer = [string]$myCert.Issuer
                not_after = $myCert.NotAfter.ToUniversalTime().ToString('o')
            }
        }
    )
}
catch {
    $probe.section_errors['certificates_my'] = [string]$_
}
"""

SECTIONS["bitlocker"] = r"""# section: bitlocker
# Get-BitLockerVolume objects (not manage-bde text): enum values as their names.
try {
    if ($null -eq (Get-Command -Name Get-BitLockerVolume -ErrorAction SilentlyContinue)) {
        $probe['bitlocker'] = [PSCustomObject]@{ available = $false; volumes = @() }
    }
    else {
        $blVolumes = @(
            foreach ($blVolume in @(Get-BitLockerVolume -ErrorAction Stop)) {
                [PSCustomObject]@{
                    mount_point = [string]$blVolume.MountPoint
                    volume_type = [string]$blVolume.VolumeType
                    lock_status = [string]$blVolume.LockStatus
                    volume_status = [string]$blVolume.VolumeStatus
                    protection_status = [string]$blVolume.ProtectionStatus
                    encryption_percentage = $blVolume.EncryptionPercentage
                    key_protectors = @($blVolume.KeyProtector | ForEach-Object { [string]$_.KeyProtectorType })
                }
            }
        )
        # The Azure Disk Encryption extension's plugin folder: ADE-managed volumes are decrypted through Azure.
        $blAde = Test-Path -PathType Container `
            -LiteralPath 'C:\Packages\Plugins\Microsoft.Azure.Security.AzureDiskEncryption'
        $probe['bitlocker'] = [PSCustomObject]@{
            available = $true; volumes = $blVolumes; azure_disk_encryption = $blAde
        }
    }
}
catch {
    $probe.section_errors['bitlocker'] = [string]$_
}
"""


def build_script(sections: dict[str, str] | None = None) -> str:
    """The probe script with ``sections`` (default: all of them)."""
    chosen = SECTIONS if sections is None else sections
    return _HEADER + "\n".join(chosen.values()) + _FOOTER


PROBE_SCRIPT = build_script()


class ProbeError(Exception):
    """The probe did not run or did not return the one object of the contract."""


def probe_args(parameters: dict | None = None) -> dict:
    """Module args for ``ansible.windows.win_powershell`` running the probe.

    ``parameters``: the script's parameters (``AzureEndpointNames``, ``BackupEventDays``; see
    ``_windows_conditions.probe_parameters``). The script text stays the same whatever they are.
    """
    args = {"script": PROBE_SCRIPT, "depth": PROBE_DEPTH}
    if parameters:
        args["parameters"] = dict(parameters)
    return args


def _error_text(err) -> str:
    """The message of one win_powershell ``error`` entry (any of its keys may be null)."""
    if not isinstance(err, dict):
        return str(err)[:500]
    details = err.get("error_details") if isinstance(err.get("error_details"), dict) else {}
    exception = err.get("exception") if isinstance(err.get("exception"), dict) else {}
    text = details.get("message") or exception.get("message") or err.get("output") or "unknown error"
    return str(text).strip()[:500]


def probe_from_result(result: dict) -> dict:
    """The probe object from a win_powershell result; raise ProbeError with the reason otherwise."""
    if not isinstance(result, dict):
        raise ProbeError(f"win_powershell returned {type(result).__name__}, not a result dict")
    if result.get("failed"):
        # A script that throws: win_powershell sets failed without a 'msg' and returns the ErrorRecords
        # in 'error', each with error_details $null unless the record has ErrorDetails
        # (ansible.windows win_powershell.ps1, 3.x lines 950-959 and 1019-1044).
        msg = result.get("msg") or "win_powershell failed"
        errors = [_error_text(err) for err in result.get("error") or []]
        if errors:
            msg += ": " + "; ".join(errors)
        raise ProbeError(f"the Windows probe failed: {msg}")
    output = result.get("output")
    if not isinstance(output, list) or len(output) != 1 or not isinstance(output[0], dict):
        count = len(output) if isinstance(output, list) else type(output).__name__
        raise ProbeError(f"the Windows probe must output exactly one object, got {count}")
    probe = output[0]
    if probe.get("probe") != PROBE_NAME:
        raise ProbeError(f"the Windows probe output is not a {PROBE_NAME} object: {sorted(probe)[:8]}")
    return probe
