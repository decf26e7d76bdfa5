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

# The script is assembled from named sections. Each section starts with the line
# "# section: <name>", reads one area and stores it in $probe['<name>']; a section that throws
# records its error in $probe.section_errors['<name>'] instead of stopping the whole probe.
# Every section is read-only. The Windows simulator renders exactly the sections it finds.
_HEADER = r"""# vmbackup.azure:windows_probe
# Read-only: gathers what the vmbackup.azure checks need in one remote run.
[CmdletBinding(SupportsShouldProcess)]
param()

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
try {
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
    $probe['services'] = @(
        foreach ($svc in @(Get-CimInstance -ClassName Win32_Service -ErrorAction SilentlyContinue)) {
            $dependencies = @()
            $dependents = @()
            $controller = $controllers[$svc.Name]
            if ($null -ne $controller) {
                $dependencies = @($controller.ServicesDependedOn | ForEach-Object { [string]$_.Name })
                $dependents = @($controller.DependentServices | ForEach-Object { [string]$_.Name })
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
}
catch {
    $probe.section_errors['services'] = [string]$_
}
"""


def build_script(sections: dict[str, str] | None = None) -> str:
    """The probe script with ``sections`` (default: all of them)."""
    chosen = SECTIONS if sections is None else sections
    return _HEADER + "\n".join(chosen.values()) + _FOOTER


PROBE_SCRIPT = build_script()


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
