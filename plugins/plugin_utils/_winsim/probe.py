# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What our read-only probe script would output on the simulated host.

The probe (plugins/plugin_utils/_windows_probe.py) is made of named sections, each starting with
a line ``# section: <name>``. The simulator renders exactly the sections it finds in the script it
received, from the host's state, and refuses a section it has no renderer for — so it never
answers for PowerShell it did not get. Add a renderer here when you add a section to the probe.
"""

from __future__ import annotations

import re

from ansible_collections.vmbackup.azure.plugins.plugin_utils._winsim import (
    faults,
    guest,
    probe_security,
    replay,
    services,
    vssadmin,
)
from ansible_collections.vmbackup.azure.plugins.plugin_utils._winsim.probe_registry import probe_registry

PROBE_MARKER = "# vmbackup.azure:windows_probe"
PROBE_NAME = "vmbackup.azure.windows_probe"
PROBE_VERSION = 1

# A CIM query that throws on a broken WMI (-ErrorAction Stop; a backtick continues the line)
_CIM_STOP_RE = re.compile(r"Get-CimInstance(?:[^\n]|`\n)*?-ErrorAction\s+Stop")
_SECTION_RE = re.compile(r"^# section: ([A-Za-z0-9_]+)\s*$", re.MULTILINE)


# The OEM code page of each display language (what a console program such as vssadmin writes).
OEM_CODE_PAGES = {"en-US": "cp437", "de-DE": "cp850", "fr-FR": "cp850", "zh-TW": "cp950", "ja-JP": "cp932"}


def vss_writers_output(state) -> tuple[int, str]:
    """``vssadmin list writers`` on the host: (rc, text in the host's language).

    Fault ``vssadmin_oem_as_utf8``: ansible-core's exec_wrapper.ps1 (2.20, lines 68-76) sets
    ``[Console]::OutputEncoding`` to UTF-8, so PowerShell decodes a native program's output as UTF-8; a
    vssadmin that writes the OEM code page anyway arrives with every non-ASCII byte as U+FFFD.
    """
    down = bool(state.data.get("vss_service_down"))
    rc, text = vssadmin.render(services.visible_writers(state), state.locale, service_down=down)
    if faults.fault(state, "vssadmin_oem_as_utf8"):
        text = text.encode(OEM_CODE_PAGES.get(state.locale, "cp437"), errors="replace").decode("utf-8", "replace")
    return rc, text


def _vssadmin(state) -> dict:
    rc, out = vss_writers_output(state)
    return {"rc": rc, "stdout": out}


# section name -> renderer(state) -> the value the section stores in $probe['<name>']
RENDERERS = {
    "vssadmin": _vssadmin,
    "services": services.probe_services,
    "registry": probe_registry,
    **guest.RENDERERS,  # agent, installer, nics, dns, resources, events, extension_status
    **probe_security.RENDERERS,  # machinekeys_acl, certificates_my, bitlocker
}


class ProbeNotModelled(Exception):
    """The script has a section the simulator cannot answer for."""


def sections_in(script: str) -> list[str]:
    return _SECTION_RE.findall(script)


def section_texts(script: str) -> dict[str, str]:
    """section name -> its PowerShell text (up to the next section header)."""
    marks = list(_SECTION_RE.finditer(script))
    return {
        m.group(1): script[m.start() : marks[i + 1].start() if i + 1 < len(marks) else len(script)]
        for i, m in enumerate(marks)
    }


def probe_output(state, script: str, parameters: dict | None = None) -> dict:
    """The one object the probe outputs (docs/architecture.md, "The Windows probe").

    ``parameters``: win_powershell's ``parameters`` (the script's param block); renderers marked
    ``takes_parameters`` receive them.
    """
    out = {
        "probe": PROBE_NAME,
        "version": PROBE_VERSION,
        "computer_name": state.hostname,
        "locale": state.locale,
        "section_errors": {},
    }
    if isinstance(state.data.get("replay"), dict):  # a capture: its own header
        out["computer_name"] = state.data["replay"].get("computer_name", out["computer_name"])
    throws = faults.fault(state, "section_throws", {}) or {}
    texts = section_texts(script)
    for name in sections_in(script):
        renderer = RENDERERS.get(name)
        if renderer is None:
            raise ProbeNotModelled(f"simulator: probe section not modelled: {name}")
        if name in throws:  # the section's catch block: section_errors['<name>'] = [string]$_
            out["section_errors"][name] = str(throws[name])
            continue
        answered, value, error = replay.replayed(state, name)
        if answered:  # a capture from a real host: exactly what it answered
            if error is not None:
                out["section_errors"][name] = error
            else:
                out[name] = value
            continue
        code = "\n".join(line for line in texts.get(name, "").splitlines() if not line.lstrip().startswith("#"))
        try:
            if faults.fault(state, "wmi_broken") and _CIM_STOP_RE.search(code):
                raise faults.SectionError(faults.WMI_ERROR)  # a CIM query with -ErrorAction Stop throws
            if getattr(renderer, "takes_parameters", False):
                out[name] = renderer(state, parameters or {})
            elif getattr(renderer, "takes_text", False):  # emulates what the section's PowerShell does
                out[name] = renderer(state, code)
            else:
                out[name] = renderer(state)
        except faults.SectionError as exc:
            out["section_errors"][name] = str(exc)
    return out
