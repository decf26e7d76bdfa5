# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ExtensionVCRedistInstallationFailure: Windows Installer service and VC++ 2013 x64 (internal, pure).

fixes.md: ``HKLM\\SYSTEM\\CurrentControlSet\\Services\\Msiserver`` ``Start`` must be ``3`` (manual),
not ``4`` (disabled); the VC++ 2013 x64 redistributable must be installed, from
``vcredist2013_x64.exe`` in the VMSnapshot plugin folder; if the installer service still fails,
``MSIEXEC /UNREGISTER`` then ``MSIEXEC /REGISTER``.

- ``Start`` is the service's start type as the Service Control Manager stores it
  (2 automatic, 3 manual / demand start, 4 disabled). ``ansible.windows.win_service`` with
  ``start_mode: manual`` sets SERVICE_DEMAND_START through the SCM, which writes ``Start = 3``:
  the same value as editing the registry, but the SCM's own view is updated too (a registry edit
  is only read at the next boot). So the fix uses win_service, and the probe reads the start mode
  from the services list (``Win32_Service.StartMode``: ``Manual`` = 3, ``Disabled`` = 4).
- msiexec's documented switches are ``/unregister`` and ``/regserver`` (Microsoft's "msiexec"
  command-line reference); the doc's ``/REGISTER`` is not one of them, so the fix runs
  ``msiexec.exe /regserver``. Both only when opted in (``reregister_msi``): re-registering the
  installer service is disruptive (catalog ``disruptive_steps``).
- VC++ 2013 x64 is found by product code *or* display name in the Uninstall keys of both
  registry views (the Burn bundles register in the 32-bit view). Product codes of the x64 bundle,
  from public sources: ``{050d4fc8-5d48-4b8f-8972-47c82c46020f}`` 12.0.30501 and
  ``{042d26ef-3dbe-4c25-95d3-4c1b11b235a7}`` 12.0.40664 (Update 5) — aaronparker/vcredist
  ``VcRedist/Manifests/VisualCRedistributables.json``, and several installers that check them;
  ``{ef6b00ec-13e1-4c25-9064-b2f383cb8412}`` 12.0.40660 (the version Azure Backup's own doc says it
  installs) appears in community cleanup lists only, so it is trusted for detection but the display
  name ``Microsoft Visual C++ 2013 Redistributable (x64)`` is checked as well. The version the
  plugin folder ships is not published; whatever it is, the installed display name matches.
"""

from __future__ import annotations

import ntpath
import re

from ansible_collections.vmbackup.azure.plugins.module_utils._findings import make_finding
from ansible_collections.vmbackup.azure.plugins.plugin_utils._probe_sections import require, service_errors
from ansible_collections.vmbackup.azure.plugins.plugin_utils._windows_agent import parse_version, version_text

ERROR_CODE = "ExtensionVCRedistInstallationFailure"
MSI_SERVICE = "msiserver"
PLUGIN_ROOT = "C:\\Packages\\Plugins\\Microsoft.Azure.RecoveryServices.VMSnapshot"
VCREDIST_FILE = "vcredist2013_x64.exe"
VCREDIST_ARGUMENTS = "/install /quiet /norestart"
VCREDIST_2013_X64_PRODUCT_IDS = {
    "{050d4fc8-5d48-4b8f-8972-47c82c46020f}": "12.0.30501",
    "{ef6b00ec-13e1-4c25-9064-b2f383cb8412}": "12.0.40660",
    "{042d26ef-3dbe-4c25-95d3-4c1b11b235a7}": "12.0.40664",
}
DEFAULT_PRODUCT_ID = "{042d26ef-3dbe-4c25-95d3-4c1b11b235a7}"
VCREDIST_NAME = re.compile(r"Visual C\+\+ 2013 Redistributable \(x64\)", re.IGNORECASE)
_GUID = re.compile(r"^\{[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}$")
DEFAULT_OPTIONS = {
    "msiserver_manual": True,
    "install_vcredist": True,
    "vcredist_path": None,
    "vcredist_product_id": DEFAULT_PRODUCT_ID,
    "reregister_msi": False,
}


def validate_options(options: dict) -> dict:
    out = dict(DEFAULT_OPTIONS)
    out.update({k: v for k, v in (options or {}).items() if v is not None or k == "vcredist_path"})
    product_id = str(out["vcredist_product_id"] or "").strip()
    if not _GUID.match(product_id):
        raise ValueError(f"vcredist_product_id: {product_id!r} is not a product code like {DEFAULT_PRODUCT_ID}")
    out["vcredist_product_id"] = product_id
    if out["vcredist_path"] is not None:
        path = str(out["vcredist_path"]).strip()
        if not re.match(r"^([A-Za-z]:\\|\\\\)", path) or not path.lower().endswith(".exe"):
            raise ValueError(f"vcredist_path: {path!r} must be an absolute Windows path of an .exe on the host")
        out["vcredist_path"] = path
    return out


def find_vcredist(products) -> dict | None:
    """The installed VC++ 2013 x64 entry (by product code, else by display name) or None."""
    products = [p for p in products or [] if isinstance(p, dict)]
    for product in products:
        if str(product.get("product_id") or "").lower() in VCREDIST_2013_X64_PRODUCT_IDS:
            return product
    for product in products:
        if VCREDIST_NAME.search(str(product.get("name") or "")):
            return product
    return None


def newest_plugin_installer(plugins) -> str | None:
    """``<PLUGIN_ROOT>\\<newest version>\\vcredist2013_x64.exe`` among plugin folders that have it."""
    candidates = [
        p for p in plugins or [] if isinstance(p, dict) and p.get("vcredist") and parse_version(p.get("version"))
    ]
    if not candidates:
        return None
    best = max(candidates, key=lambda p: parse_version(p["version"]))
    return ntpath.join(PLUGIN_ROOT, str(best["version"]), VCREDIST_FILE)


def assess_installer(probe: dict, options: dict | None = None) -> tuple[dict, dict]:
    """``(finding, facts)``; facts: msiserver start mode, vcredist entry, plugin versions, chosen source."""
    try:
        opts = validate_options(options or {})
    except ValueError as exc:
        return make_finding(ERROR_CODE, "error", f"invalid option: {exc}"), {}
    problem = require(probe, "services", "installer") or service_errors(probe["services"], (MSI_SERVICE,))
    if problem:
        return make_finding(ERROR_CODE, "error", problem), {}

    services = {str(s.get("name", "")).lower(): s for s in probe["services"] if isinstance(s, dict)}
    msi = services.get(MSI_SERVICE)
    installer = probe["installer"]
    plugins = [p for p in installer.get("snapshot_plugins") or [] if isinstance(p, dict)]
    vcredist = find_vcredist(installer.get("vcredist_products"))
    facts = {
        "msiserver_exists": msi is not None,
        "msiserver_start_mode": (msi or {}).get("start_mode"),
        "vcredist": vcredist,
        "snapshot_plugin_versions": sorted(
            (str(p.get("version")) for p in plugins), key=lambda v: parse_version(v) or (0,)
        ),
    }
    problems, actions = [], []

    if msi is None:
        problems.append("the Windows Installer service (msiserver) is not registered")
    elif msi.get("start_mode") == "disabled":
        problems.append("the Windows Installer service (msiserver) is disabled (Start = 4)")
        action = {
            "action": "set_start_mode",
            "service": msi.get("name") or MSI_SERVICE,
            "start_mode": "manual",
            "allowed": bool(opts["msiserver_manual"]),
            "disruptive": False,
        }
        if not opts["msiserver_manual"]:
            action["reason"] = "not opted in (msiserver_manual: false)"
        actions.append(action)

    source = None
    if vcredist is None:
        source = opts["vcredist_path"] or newest_plugin_installer(plugins)
        facts["vcredist_source"] = source
        if not plugins and not opts["vcredist_path"]:
            note = (
                "VC++ 2013 x64 is not installed, and no VMSnapshot plugin folder exists yet (the extension installs it)"
            )
        else:
            note = "the Visual C++ 2013 x64 redistributable is not installed"
            problems.append(note)
            reason = None
            if source is None:
                reason = (
                    f"no {VCREDIST_FILE} in any {PLUGIN_ROOT}\\<version> folder"
                    f" (versions: {', '.join(facts['snapshot_plugin_versions']) or 'none'}): set vcredist_path"
                )
            elif not opts["install_vcredist"]:
                reason = "not opted in (install_vcredist: false)"
            action = {
                "action": "install_vcredist",
                "path": source,
                "product_id": opts["vcredist_product_id"],
                "arguments": VCREDIST_ARGUMENTS,
                "allowed": reason is None,
                "disruptive": False,
            }
            if reason:
                action["reason"] = reason
            actions.append(action)
        facts["note"] = note

    if problems:
        action = {
            "action": "reregister_msi",
            "commands": ["msiexec.exe /unregister", "msiexec.exe /regserver"],
            "allowed": bool(opts["reregister_msi"]),
            "disruptive": True,
        }
        if not opts["reregister_msi"]:
            action["reason"] = "re-registering the Windows Installer not opted in (reregister_msi: false)"
        # order: start mode, re-register, then install (the installer service must work for the install)
        actions.insert(1 if actions and actions[0]["action"] == "set_start_mode" else 0, action)
        return make_finding(ERROR_CODE, "fail", "; ".join(problems), _fix_text(actions), actions), facts

    parts = [f"msiserver start mode {facts['msiserver_start_mode']}"]
    if vcredist is not None:
        parts.append(
            f"{vcredist.get('name') or 'VC++ 2013 x64'} {vcredist.get('version') or ''} installed"
            f" ({vcredist.get('product_id')})".replace("  ", " ")
        )
    else:
        parts.append(facts["note"])
    return make_finding(ERROR_CODE, "pass", "; ".join(parts)), facts


def _fix_text(actions):
    parts = []
    for action in actions:
        if action["action"] == "set_start_mode":
            what = "set msiserver's start mode to manual (Start = 3) with ansible.windows.win_service"
        elif action["action"] == "reregister_msi":
            what = "re-register the Windows Installer (msiexec.exe /unregister, then msiexec.exe /regserver)"
        else:
            what = f"install {action['path'] or VCREDIST_FILE} {action['arguments']} (product {action['product_id']})"
        parts.append(what if action["allowed"] else f"would {what} but not allowed: {action['reason']}")
    return "; ".join(parts)


def evaluate_installer(probe: dict, options: dict | None = None) -> dict:
    return assess_installer(probe, options)[0]


__all__ = ["assess_installer", "evaluate_installer", "find_vcredist", "newest_plugin_installer", "version_text"]
