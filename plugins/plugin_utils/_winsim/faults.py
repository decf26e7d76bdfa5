# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fault modes of a simulated host: the shapes real Windows produces when it is broken.

A state file switches them on under ``faults:`` (docs/simulator.md, "Fault modes")::

    faults:
      probe_throws: "Access is denied"      # the whole probe script throws (win_powershell failure shape)
      section_throws: {services: "..."}     # one probe section throws: section_errors[<name>]
      wmi_broken: true                      # Get-CimInstance fails 0x80041010 (Win32_Service, _Processor, ...)
      access_denied: ['HKLM:\\SYSTEM\\CurrentControlSet\\Services\\MSDTC', 'C:\\ProgramData\\...\\MachineKeys']
      vssadmin_oem_as_utf8: true            # vssadmin writes the OEM code page, PowerShell reads UTF-8
      service_timeout: {CryptSvc: stop}     # the service does not stop (or start) within its timeout

A service whose ``dependencies`` names a service that is not installed is a fault of its own
(``ServiceController.ServicesDependedOn`` throws for it); a writer with ``reregister_after``
(probes) or ``reregister: never`` stays unlisted after its service restarted.
"""

from __future__ import annotations

import ntpath

FAULTS = (
    "probe_throws",
    "section_throws",
    "wmi_broken",
    "access_denied",
    "vssadmin_oem_as_utf8",
    "service_timeout",
)

# HRESULTs of the documented WMI failures (WBEM_E_INVALID_CLASS / "Invalid class" when the
# repository is broken; ERROR_SERVICE_DISABLED when Winmgmt is disabled).
WMI_ERROR = "Get-CimInstance : Invalid class \r\nAt line:1 char:1\r\nHRESULT 0x80041010 (WBEM_E_INVALID_CLASS)"


class SectionError(Exception):
    """What a probe section's PowerShell throws on this host: its catch records section_errors[name]."""


def faults(state) -> dict:
    value = state.data.get("faults") or {}
    return value if isinstance(value, dict) else {}


def fault(state, name: str, default=None):
    return faults(state).get(name, default)


def _norm(path: str) -> str:
    return ntpath.normcase(str(path).replace("/", "\\")).rstrip("\\")


def access_denied(state, path: str) -> bool:
    """True when ``path`` (a registry key or a file system path) refuses to be read."""
    want = _norm(path)
    return any(_norm(p) == want for p in fault(state, "access_denied", []) or [])


def format_exception(message: str, type_name: str = "System.Management.Automation.RuntimeException") -> dict:
    """``Format-Exception`` of win_powershell.ps1 (ansible.windows 3.x, lines 580-612)."""
    return {
        "message": message,
        "type": type_name,
        "help_link": None,
        "source": None,
        "hresult": -2146233087,
        "inner_exception": None,
    }


def error_record(message: str, fqid: str = "RuntimeException", type_name=None) -> dict:
    """One entry of win_powershell's ``error`` list (win_powershell.ps1 lines 1019-1044).

    ``error_details`` is ``$null`` unless the ErrorRecord has ErrorDetails (a plain ``throw`` or a
    cmdlet's non-terminating error usually has none), so consumers must read ``exception.message``.
    """
    return {
        "output": f"{message}\r\nAt line:1 char:1\r\n",
        "error_details": None,
        "exception": format_exception(message, type_name or "System.Management.Automation.RuntimeException"),
        "target_object": None,
        "category_info": {
            "category": "OperationStopped",
            "category_id": 14,
            "activity": "",
            "reason": "RuntimeException",
            "target_name": "",
            "target_type": "",
        },
        "fully_qualified_error_id": fqid,
        "script_stack_trace": "at <ScriptBlock>, <No file>: line 1",
        "pipeline_iteration_info": [],
    }
