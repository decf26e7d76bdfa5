# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Windows VM agent check, shared by every error code whose guest side is "the agent" (internal).

``VmAgentNotRunning``, ``AzureVmOffline`` (380008), ``NoVmAgent`` and the guest side of
``UserErrorVmProvisioningStateFailed`` all come down to one question (fixes.md, "VM agent"):
is service ``WindowsAzureGuestAgent`` installed, running, and is the agent at least
``2.6.1198.718``? One evaluator answers it for all of them; only the finding's ``error_code``
differs. Pure Python: the scan (``backup_scan``) and the fix (``windows_guest_agent``) call it
on the same probe data, so they agree.

Version: ``C:\\WindowsAzure\\Packages\\WaAppAgent.exe`` product version (fixes.md) when the probe
read the file, else ``GuestAgentVersion`` under ``HKLM\\SOFTWARE\\Microsoft\\Virtual Machine\\Guest``
(what Microsoft's own diagnostic, Azure/azure-support-scripts ``vmassist/windows/vmassist.ps1``,
reads; field-notes section 2).

"Never update during a running backup" (fixes.md): a backup snapshot is taken to be in progress when
the VMSnapshot extension's newest ``.status`` file says ``transitioning`` and is younger than
``backup_stale_minutes`` (a ``transitioning`` status left behind by a crashed run must not block the
fix forever), or when a VSS writer is in a waiting state 2-5 (field-notes section 3: waiting for
freeze, thaw, post-snapshot, backup-complete — only a running shadow copy puts writers there).
"""

from __future__ import annotations

import re

from ansible_collections.vmbackup.azure.plugins.module_utils._extension_status import (
    StatusParseError,
    parse_extension_status,
)
from ansible_collections.vmbackup.azure.plugins.module_utils._findings import make_finding
from ansible_collections.vmbackup.azure.plugins.plugin_utils._backup_activity import backup_in_progress
from ansible_collections.vmbackup.azure.plugins.plugin_utils._probe_sections import require, service_errors

AGENT_SERVICE = "WindowsAzureGuestAgent"
AGENT_EXE = "C:\\WindowsAzure\\Packages\\WaAppAgent.exe"
MIN_VERSION = "2.6.1198.718"
AGENT_CODES = ("VmAgentNotRunning", "AzureVmOffline", "NoVmAgent", "UserErrorVmProvisioningStateFailed")
DEFAULT_OPTIONS = {
    "start": True,
    "restart": False,
    "install": False,
    "msi_path": None,
    "msi_product_id": None,
    "min_version": MIN_VERSION,
    "backup_stale_minutes": 180,
}
_VERSION_RE = re.compile(r"(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:\.(\d+))?")


def parse_version(text) -> tuple[int, ...] | None:
    """``'2.7.41491.1102'`` -> ``(2, 7, 41491, 1102)``; None when there is no version in ``text``."""
    if text is None:
        return None
    match = _VERSION_RE.search(str(text))
    if not match:
        return None
    parts = [int(p) for p in match.groups() if p is not None]
    return tuple(parts + [0] * (4 - len(parts)))


def version_text(version) -> str:
    return ".".join(str(p) for p in version) if version else ""


def validate_options(options: dict) -> dict:
    """Defaults filled in; ValueError naming the option for bad input (before anything runs)."""
    out = dict(DEFAULT_OPTIONS)
    out.update({k: v for k, v in (options or {}).items() if v is not None or k in ("msi_path", "msi_product_id")})
    if parse_version(out["min_version"]) is None:
        raise ValueError(f"min_version: {out['min_version']!r} is not a version like {MIN_VERSION}")
    if out["msi_path"] is not None:
        path = str(out["msi_path"]).strip()
        if not path:
            raise ValueError("msi_path: must not be empty")
        if not (re.match(r"^https?://", path, re.IGNORECASE) or path.lower().endswith(".msi")):
            raise ValueError(f"msi_path: {path!r} must be the path of an .msi file on the host or an http(s) URL")
        out["msi_path"] = path
    if out["install"] and not out["msi_path"]:
        raise ValueError("install: true needs msi_path (the agent MSI on the host, or its URL)")
    try:
        out["backup_stale_minutes"] = int(out["backup_stale_minutes"])
    except (TypeError, ValueError):
        raise ValueError(f"backup_stale_minutes: {out['backup_stale_minutes']!r} is not a number") from None
    if out["backup_stale_minutes"] < 0:
        raise ValueError("backup_stale_minutes: must be >= 0")
    return out


def agent_facts(probe: dict) -> dict:
    """What the probe says about the agent: service, version and where the version came from."""
    services = {str(s.get("name", "")).lower(): s for s in probe.get("services") or [] if isinstance(s, dict)}
    service = services.get(AGENT_SERVICE.lower())
    agent = probe.get("agent") or {}
    version, source = None, None
    for key, label in (
        ("waappagent_product_version", f"{AGENT_EXE} product version"),
        ("waappagent_file_version", f"{AGENT_EXE} file version"),
        ("guest_agent_version", "GuestAgentVersion (HKLM\\SOFTWARE\\Microsoft\\Virtual Machine\\Guest)"),
    ):
        version = parse_version(agent.get(key))
        if version:
            source = label
            break
    return {
        "service_exists": service is not None,
        "service_name": (service or {}).get("name") or AGENT_SERVICE,
        "service_state": (service or {}).get("state"),
        "start_mode": (service or {}).get("start_mode"),
        "version": version_text(version),
        "version_source": source,
        "waappagent_exists": bool(agent.get("waappagent_exists")),
    }


def assess_agent(probe: dict, options: dict | None = None, code: str = "VmAgentNotRunning") -> tuple[dict, dict]:
    """``(finding, facts)`` for one probe. Options: see ``DEFAULT_OPTIONS`` (validated here too)."""
    if code not in AGENT_CODES:
        raise ValueError(f"the agent check does not decide {code}; it decides {', '.join(AGENT_CODES)}")
    try:
        opts = validate_options(options or {})
    except ValueError as exc:
        return make_finding(code, "error", f"invalid option: {exc}"), {}
    problem = require(probe, "services", "agent") or service_errors(probe["services"], (AGENT_SERVICE,))
    if problem:
        return make_finding(code, "error", problem), {}

    facts = agent_facts(probe)
    minimum = parse_version(opts["min_version"])
    in_progress, why_busy = backup_in_progress(probe, opts["backup_stale_minutes"])
    facts.update(min_version=version_text(minimum), backup_in_progress=in_progress, backup_in_progress_reason=why_busy)

    problems, actions = [], []
    installed = facts["service_exists"]
    current = bool(facts["version"]) and parse_version(facts["version"]) >= minimum
    if not installed or not current:
        kind = "install_agent" if not installed else "update_agent"
        if not installed:
            problems.append(f"service {AGENT_SERVICE} (Windows Azure Guest Agent) is not installed")
        elif not facts["version"]:
            problems.append("the agent version cannot be read (no WaAppAgent.exe version, no GuestAgentVersion)")
        else:
            problems.append(f"agent version {facts['version']} is older than {facts['min_version']}")
        reason = None
        if not opts["msi_path"]:
            reason = "no agent MSI given (msi_path)"
        elif not opts["install"]:
            reason = "install/update not opted in (install: false)"
        elif in_progress:
            reason = f"a backup is in progress: {why_busy}"
        action = {
            "action": kind,
            "source": opts["msi_path"],
            "product_id": opts["msi_product_id"],
            "allowed": reason is None,
            "disruptive": True,
        }
        if reason:
            action["reason"] = reason
        actions.append(action)

    state = facts["service_state"]
    if installed and state != "running":
        if state in ("start_pending", "stop_pending", "paused"):
            problems.append(f"service {facts['service_name']} is stuck ({state})")
            reason = None if opts["restart"] else "restarting the agent not opted in (restart: false)"
            if reason is None and in_progress:
                reason = f"a backup is in progress: {why_busy}"
            action = {"action": "restart_service", "service": facts["service_name"], "disruptive": True}
        else:
            problems.append(f"service {facts['service_name']} is {state or 'not running'}")
            reason = None if opts["start"] else "starting the agent not opted in (start: false)"
            action = {"action": "start_service", "service": facts["service_name"], "disruptive": False}
        if facts["start_mode"] == "disabled":
            problems[-1] += " and disabled"
            action["start_mode"] = "auto"
        action["allowed"] = reason is None
        if reason:
            action["reason"] = reason
        actions.append(action)
    elif not installed:
        # the MSI installs and starts the service; start it afterwards if it did not
        actions.append(
            {
                "action": "start_service",
                "service": AGENT_SERVICE,
                "disruptive": False,
                "allowed": actions[0]["allowed"] and opts["start"],
                "after_install": True,
                **({} if actions[0]["allowed"] else {"reason": "runs only after the agent is installed"}),
            }
        )

    extra = _extension_note(probe) if code == "UserErrorVmProvisioningStateFailed" else ""
    if not problems:
        detail = (
            f"service {facts['service_name']} is running, agent version {facts['version']}"
            f" ({facts['version_source']}) >= {facts['min_version']}"
        )
        return make_finding(code, "pass", detail + extra), facts
    return make_finding(code, "fail", "; ".join(problems) + extra, _fix_text(actions), actions), facts


def _extension_note(probe: dict) -> str:
    """UserErrorVmProvisioningStateFailed: name a failed VMSnapshot extension (removing it is control plane)."""
    status = probe.get("extension_status")
    if not isinstance(status, dict) or not status.get("found"):
        return ""
    try:
        parsed = parse_extension_status(status.get("content"))
    except StatusParseError:
        return ""
    if str(parsed.get("status") or "").lower() in ("error", "failed"):
        return (
            f"; the VMSnapshot extension's last operation failed (code {parsed.get('code')}):"
            " removing a failed extension is a control-plane step"
        )
    return ""


def _fix_text(actions: list[dict]) -> str:
    parts = []
    for action in actions:
        if action["action"] in ("install_agent", "update_agent"):
            verb = "install" if action["action"] == "install_agent" else "update"
            what = f"{verb} the VM agent from {action['source'] or '<msi_path>'} (ansible.windows.win_package)"
        elif action["action"] == "restart_service":
            what = f"restart service {action['service']}"
        else:
            what = f"start service {action['service']}"
            if action.get("start_mode"):
                what += f" (start mode {action['start_mode']})"
            if action.get("after_install"):
                what += " after the install if the MSI did not"
        if action["allowed"]:
            parts.append(what)
        else:
            parts.append(f"would {what} but not allowed: {action.get('reason', '')}")
    return "; ".join(parts)


def evaluator_for(code: str):
    """The scan evaluator ``(probe, options) -> finding`` of one agent code."""

    def evaluate(probe, options=None):
        return assess_agent(probe, options, code)[0]

    evaluate.__name__ = f"evaluate_agent_{code}"
    return evaluate
