# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Windows probe: the only PowerShell vmbackup.azure writes (docs/architecture.md).

One read-only script run through ``ansible.windows.win_powershell``. It declares
``[CmdletBinding(SupportsShouldProcess)]`` so win_powershell also runs it in check mode, and
sets ``$Ansible.Changed = $false``. Its ``output`` is a list with exactly one object (the
probe contract). Every decision happens in Python on the controller; the script only reads.
"""

from __future__ import annotations

PROBE_MARKER = "# vmbackup.azure:windows_probe"
PROBE_NAME = "vmbackup.azure.windows_probe"
PROBE_VERSION = 1

# Serialization depth for win_powershell output: probe -> services -> service -> dependencies.
PROBE_DEPTH = 5

PROBE_SCRIPT = r"""# vmbackup.azure:windows_probe
# Read-only: gathers what the vmbackup.azure checks need in one remote run.
[CmdletBinding(SupportsShouldProcess)]
param()

$Ansible.Changed = $false

# vssadmin prints localized text; the controller parses it by structure, not by words.
$vssLines = @()
$vssRc = -1
try {
    $vssLines = @(& vssadmin.exe list writers 2>&1 | ForEach-Object { [string]$_ })
    $vssRc = $LASTEXITCODE
}
catch {
    $vssLines = @([string]$_)
    $vssRc = -1
}

$stateNames = @{
    'Running' = 'running'
    'Stopped' = 'stopped'
    'Start Pending' = 'start_pending'
    'Stop Pending' = 'stop_pending'
    'Paused' = 'paused'
}

$controllers = @{}
foreach ($controller in @(Get-Service -ErrorAction SilentlyContinue)) {
    $controllers[$controller.Name] = $controller
}

$services = @(
    foreach ($svc in @(Get-CimInstance -ClassName Win32_Service -ErrorAction SilentlyContinue)) {
        $dependencies = @()
        $dependents = @()
        $controller = $controllers[$svc.Name]
        if ($null -ne $controller) {
            try {
                $dependencies = @($controller.ServicesDependedOn | ForEach-Object { [string]$_.Name })
                $dependents = @($controller.DependentServices | ForEach-Object { [string]$_.Name })
            }
            catch {
                $dependencies = @()
                $dependents = @()
            }
        }
        $rawState = [string]$svc.State
        $state = $stateNames[$rawState]
        if ($null -eq $state) {
            $state = $rawState.ToLowerInvariant().Replace(' ', '_')
        }
        [PSCustomObject]@{
            name = [string]$svc.Name
            display_name = [string]$svc.DisplayName
            state = $state
            start_mode = ([string]$svc.StartMode).ToLowerInvariant()
            username = [string]$svc.StartName
            dependencies = $dependencies
            dependents = $dependents
        }
    }
)

[PSCustomObject]@{
    probe = 'vmbackup.azure.windows_probe'
    version = 1
    computer_name = $env:COMPUTERNAME
    locale = (Get-Culture).Name
    vssadmin = [PSCustomObject]@{
        rc = $vssRc
        stdout = $vssLines -join "`n"
    }
    services = $services
}
"""


class ProbeError(Exception):
    """The probe did not run or did not return the one object of the contract."""


def probe_args() -> dict:
    """Module args for ``ansible.windows.win_powershell`` running the probe."""
    return {"script": PROBE_SCRIPT, "depth": PROBE_DEPTH}


def probe_from_result(result: dict) -> dict:
    """The probe object from a win_powershell result; raise ProbeError with the reason otherwise."""
    if not isinstance(result, dict):
        raise ProbeError(f"win_powershell returned {type(result).__name__}, not a result dict")
    if result.get("failed"):
        msg = result.get("msg") or "win_powershell failed"
        errors = [
            str(err.get("error_details", {}).get("message") or err.get("exception", {}).get("message") or err)
            for err in result.get("error") or []
            if isinstance(err, dict)
        ]
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
