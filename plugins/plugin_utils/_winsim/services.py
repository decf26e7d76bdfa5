# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Services and the VSS writers they host: ``win_service``, ``win_service_info``.

Assumptions about Windows (none of this ran on Windows):

- Stopping or restarting a service with *running* dependents fails unless
  ``force_dependent_services`` is set, as PowerShell's ``Stop-Service``/``Restart-Service``
  (which win_service calls) refuse without ``-Force``. win_service does not catch that error, so
  the module fails through the exec wrapper with "Unhandled exception while executing module: ...".
- With ``force_dependent_services``: ``stopped`` leaves the dependents stopped; ``restarted``
  starts the dependents that were running again afterwards (we assume ``Restart-Service -Force``
  restarts what it stopped).
- The dependents check does not apply in check mode: Stop-/Restart-Service ask ShouldProcess before
  DoStopService checks the dependents (PowerShell Service.cs), and ShouldProcess is false under -WhatIf.
- Starting a disabled service fails (ServiceController.Start: ERROR_SERVICE_DISABLED).
- Starting a service does not start its dependencies in the model (the SCM would; the states
  in our test hosts keep dependencies running).
- Starting or restarting a service resets the VSS writers it hosts to ``[1] Stable`` /
  ``No error``, unless the writer has ``recovers_on_restart: false``.
- A writer is listed by vssadmin only while its hosting service runs (a writer of a stopped
  SQLWriter service is missing from the list, as on Windows); writers hosted by ``VSS`` are
  always listed because VSS is demand-started.
"""

from __future__ import annotations

import fnmatch
import re

from ansible_collections.vmbackup.azure.plugins.plugin_utils._sddl import (
    account_name,
    account_sid,
    same_account,
)
from ansible_collections.vmbackup.azure.plugins.plugin_utils._winsim import faults
from ansible_collections.vmbackup.azure.plugins.plugin_utils._winsim.args import fail

DEPENDENT_SERVICES_MSG = (
    "Unhandled exception while executing module: Cannot stop service '{display} ({name})' because it has "
    "dependent services. It can only be stopped if the Force flag is set."
)
# win_service_info reports Running as 'started'; win_service's result uses 'running'
_INFO_STATE = {"running": "started"}
_DEFAULT_USER = "LocalSystem"


def _display(name: str, svc: dict) -> str:
    return str(svc.get("display_name") or name)


def _running(svc: dict | None) -> bool:
    return bool(svc) and svc.get("state") == "running"


def reset_writers(state, service: str) -> None:
    low = service.lower()
    for w in state.writers:
        if str(w.get("service") or "").lower() != low or w.get("recovers_on_restart", True) is False:
            continue
        # Fault: a writer re-registers late (``reregister: <n>``: unlisted for the next n vssadmin runs)
        # or never (``reregister: never``) after its service restarted.
        later = w.get("reregister")
        if later == "never":
            w["unlisted"] = True
            state.touch()
        elif isinstance(later, int) and later > 0:
            w["unlisted_for"] = later
            state.touch()
        if w.get("state") != 1 or w.get("last_error") != "No error":
            w["state"] = 1
            w["last_error"] = "No error"
            state.touch()


def visible_writers(state) -> list[dict]:
    out = []
    for w in state.writers:
        if w.get("unlisted"):
            continue
        if int(w.get("unlisted_for") or 0) > 0:  # one vssadmin run less until it re-registers
            w["unlisted_for"] = int(w["unlisted_for"]) - 1
            state.touch()
            continue
        svc_name = str(w.get("service") or "")
        if not svc_name or svc_name.lower() == "vss":
            out.append(w)
            continue
        found = state.find_service(svc_name)
        if found is None or _running(found[1]):
            out.append(w)
    return out


def _set_state(state, name: str, svc: dict, new: str) -> None:
    if svc.get("state") != new:
        svc["state"] = new
        state.touch()


START_FAILED_MSG = (
    "Unhandled exception while executing module: Service '{display} ({name})' cannot be started due to the "
    "following error: Cannot start service {name} on computer '.'."
)


TIMEOUT_MSG = (
    "simulator: {verb}-Service is still waiting for '{display} ({name})' to {what}: PowerShell waits without a"
    " timeout (Service.cs DoWaitForStatus), so the task only ends at the connection or task timeout"
)


def _hangs(state, name: str, what: str) -> bool:
    """Fault ``service_timeout: {<name>: stop|start}``: the service never reaches the state."""
    for key, value in (faults.fault(state, "service_timeout", {}) or {}).items():
        if str(key).lower() == name.lower() and str(value).lower() == what:
            return True
    return False


def start(state, name: str, svc: dict) -> None:
    # PowerShell Service.cs (PowerShell/PowerShell, Microsoft.PowerShell.Commands.Management): DoStartService
    # calls ServiceController.Start(); a disabled service (ERROR_SERVICE_DISABLED) or one that fails
    # (start_fails: true in the state; cleared by what repairs it, e.g. `msdtc -install`) writes
    # CouldNotStartService, terminating under the module's ErrorActionPreference Stop.
    if svc.get("start_fails") or svc.get("start_mode") == "disabled":
        raise fail(START_FAILED_MSG.format(display=_display(name, svc), name=name))
    if _hangs(state, name, "start"):
        raise fail(TIMEOUT_MSG.format(verb="Start", display=_display(name, svc), name=name, what="start"))
    _set_state(state, name, svc, "running")
    reset_writers(state, name)


def _running_dependents(state, name: str, seen: set | None = None) -> list[str]:
    """Running services depending on ``name``, transitively, deepest first."""
    seen = set() if seen is None else seen
    out = []
    for dep in state.dependents(name):
        if dep.lower() in seen:
            continue
        seen.add(dep.lower())
        out.extend(_running_dependents(state, dep, seen))
        if _running(state.services.get(dep)):
            out.append(dep)
    return out


def stop(state, name: str, svc: dict, force: bool, check_mode: bool) -> list[str]:
    """Stop ``name`` (and with ``force`` its running dependents). Returns the dependents stopped.

    Service.cs: Stop-/Restart-Service ask ShouldProcess *first* ("always false if WhatIf is set") and
    only then DoStopService refuses a service with running dependents (ServiceHasDependentServices). So
    under -WhatIf (check mode) there is no refusal: win_service reports the change.
    """
    if check_mode:
        return _running_dependents(state, name) if force else []
    dependents = _running_dependents(state, name)
    if dependents and not force:
        raise fail(DEPENDENT_SERVICES_MSG.format(display=_display(name, svc), name=name))
    if _hangs(state, name, "stop"):
        raise fail(TIMEOUT_MSG.format(verb="Stop", display=_display(name, svc), name=name, what="stop"))
    if not check_mode:
        for dep in dependents:
            _set_state(state, dep, state.services[dep], "stopped")
        _set_state(state, name, svc, "stopped")
    return dependents


def _result(state, name: str, svc: dict) -> dict:
    return {
        "exists": True,
        "name": name,
        "display_name": _display(name, svc),
        "state": svc.get("state", "stopped").replace("_", ""),
        "start_mode": svc.get("start_mode", "manual"),
        "path": svc.get("path"),
        "can_pause_and_continue": bool(svc.get("can_pause_and_continue", False)),
        "description": svc.get("description"),
        "username": svc.get("username", _DEFAULT_USER),
        "desktop_interact": False,
        "dependencies": list(svc.get("dependencies") or []),
        "depended_by": state.dependents(name),
    }


def win_service(ctx) -> dict:
    p, state = ctx.params, ctx.state
    found = state.find_service(p["name"])
    if found is None:
        if p.get("state") == "absent":
            return {"changed": False, "exists": False}
        if p.get("path") is None:
            raise fail(f"Service '{p['name']}' is not installed, need to set 'path' to create a new service")
        raise fail("simulator: creating services is not modelled")
    name, svc = found
    before = _result(state, name, svc)
    changed = False
    if p.get("state") == "absent":
        raise fail("simulator: removing services is not modelled")
    # configuration first, state last (as win_service does)
    if p.get("start_mode") and p["start_mode"] != svc.get("start_mode"):
        changed = True
        if not ctx.check_mode:
            svc["start_mode"] = p["start_mode"]
            state.touch()
    if p.get("display_name") is not None and p["display_name"] != svc.get("display_name"):
        changed = True
        if not ctx.check_mode:
            svc["display_name"] = p["display_name"]
            state.touch()
    # win_service compares accounts by SID (win_service.ps1 lines 300-328: ConvertTo-SecurityIdentifier of
    # both sides) and stores what Ansible.Windows.SCManager's Account setter writes (SCManager.cs lines
    # 716-758): "LocalSystem" for S-1-5-18, else the SID translated to the host's NTAccount name, which
    # is localized (NT-AUTORITÄT\NETZWERKDIENST on de-DE).
    if p.get("username") is not None:
        want_sid = resolve_sid(state, p["username"])
        have = svc.get("username", _DEFAULT_USER)
        if want_sid is None:  # an account the model has no SID for: compared and stored by name
            differs, stored = not same_account(p["username"], have), p["username"]
        else:
            differs = want_sid != resolve_sid(state, have)
            stored = "LocalSystem" if want_sid == "S-1-5-18" else localized_account(state, want_sid)
        if differs:
            changed = True
            if not ctx.check_mode:
                svc["username"] = stored
                state.touch()
    # Assumption: a password cannot be compared, so update_password=always reports a change;
    # the password itself is never stored nor logged.
    if p.get("password") is not None and p.get("update_password") == "always":
        changed = True
    want = p.get("state")
    force = bool(p.get("force_dependent_services"))
    current = svc.get("state")
    if want == "started" and current != "running":
        changed = True
        if not ctx.check_mode:
            start(state, name, svc)
    elif want == "stopped" and current != "stopped":
        stop(state, name, svc, force, ctx.check_mode)
        changed = True
    elif want == "restarted":
        stopped = stop(state, name, svc, force, ctx.check_mode)
        changed = True
        if not ctx.check_mode:
            start(state, name, svc)
            for dep in reversed(stopped):
                start(state, dep, state.services[dep])
    elif want == "paused" and current != "paused":
        if not svc.get("can_pause_and_continue"):
            raise fail(f"failed to pause service {name}: The service does not support pausing")
        changed = True
        if not ctx.check_mode:
            _set_state(state, name, svc, "paused")
    result = _result(state, name, svc)
    if ctx.check_mode and want in ("started", "restarted", "stopped", "paused"):
        result["state"] = {"started": "running", "restarted": "running"}.get(want, want)
    result["changed"] = changed
    if ctx.diff_mode:
        after = dict(result)
        after.pop("changed", None)
        for d in (before, after):
            d.pop("exists", None)
            d["password"] = "REDACTED"
        result["diff"] = {"before": before, "after": after}
    return result


def _info(state, name: str, svc: dict) -> dict:
    st = svc.get("state", "stopped")
    return {
        "checkpoint": 0,
        "controls_accepted": ["stop"] if st == "running" else [],
        "dependencies": list(svc.get("dependencies") or []),
        "dependency_of": state.dependents(name),
        "description": svc.get("description", ""),
        "desktop_interact": False,
        "display_name": _display(name, svc),
        "error_control": "normal",
        "failure_actions": [],
        "failure_command": None,
        "failure_reboot_msg": None,
        "failure_reset_period_sec": 0,
        "launch_protection": "none",
        "load_order_group": "",
        "name": name,
        "path": svc.get("path", ""),
        "pre_shutdown_timeout_ms": 0,
        "preferred_node": None,
        "process_id": 0,
        "required_privileges": [],
        "service_exit_code": 0,
        "service_flags": [],
        "service_type": "win32_share_process",
        "sid_info": "none",
        "start_mode": svc.get("start_mode", "manual"),
        "state": _INFO_STATE.get(st, st),
        "triggers": [],
        "username": svc.get("username", _DEFAULT_USER),
        "wait_hint_ms": 0,
        "win32_exitcode": 0,
    }


def win_service_info(ctx) -> dict:
    pattern = ctx.params.get("name")
    services = []
    for name, svc in ctx.state.services.items():
        svc = svc or {}
        if pattern:
            pat = str(pattern).lower()
            if not (fnmatch.fnmatchcase(name.lower(), pat) or fnmatch.fnmatchcase(_display(name, svc).lower(), pat)):
                continue
        services.append(_info(ctx.state, name, svc))
    return {"changed": False, "exists": bool(services), "services": services}


# Localized NTAccount names of the service accounts (what Translate([NTAccount]) returns on a host in
# that display language; win_service stores the name it translates the SID to). Sources: the names
# Windows shows on localized builds, as quoted in Microsoft's localized docs ("NT-AUTORITÄT\NETZWERKDIENST",
# "AUTORITE NT\SERVICE RÉSEAU"); none of this was read off a real localized host.
LOCALIZED_ACCOUNTS = {
    "de-DE": {
        "S-1-5-18": "NT-AUTORITÄT\\SYSTEM",
        "S-1-5-19": "NT-AUTORITÄT\\LOKALER DIENST",
        "S-1-5-20": "NT-AUTORITÄT\\NETZWERKDIENST",
    },
    "fr-FR": {
        "S-1-5-18": "AUTORITE NT\\Système",
        "S-1-5-19": "AUTORITE NT\\SERVICE LOCAL",
        "S-1-5-20": "AUTORITE NT\\SERVICE RÉSEAU",
    },
}


def localized_account(state, sid: str) -> str:
    """The NTAccount name of a well-known SID on this host (its display language)."""
    return LOCALIZED_ACCOUNTS.get(state.locale, {}).get(sid) or account_name(sid)


def resolve_sid(state, username) -> str | None:
    """NTAccount.Translate([SecurityIdentifier]) on this host: English or this host's localized names."""
    if str(username or "") == "LocalSystem":
        return "S-1-5-18"
    sid = account_sid(username)
    if sid:
        return sid
    low = str(username or "").lower()
    for sid, name in LOCALIZED_ACCOUNTS.get(state.locale, {}).items():
        if name.lower() == low:
            return sid
    return None


REGISTRY_DENIED = "Requested registry access is not allowed."
SERVICES_KEY = "HKLM:\\SYSTEM\\CurrentControlSet\\Services\\"


def _missing_dependency(state) -> tuple[str, str] | None:
    for name, svc in state.services.items():
        for dep in (svc or {}).get("dependencies") or []:
            if state.find_service(str(dep)) is None:
                return name, str(dep)
    return None


def _probe_services_wmi(state, text: str) -> list[dict]:
    """The pre-issue-9 section (Win32_Service through WMI + ServiceController dependencies)."""
    if faults.fault(state, "wmi_broken"):
        if re.search(r"Win32_Service\b[^\n]*-ErrorAction\s+SilentlyContinue", text):
            return []  # the non-terminating CIM error is dropped: an empty list, no section error
        raise faults.SectionError(faults.WMI_ERROR)
    broken = _missing_dependency(state)
    if broken and "ServicesDependedOn" in text:
        # ServiceController.ServicesDependedOn opens every dependency: InvalidOperationException
        raise faults.SectionError(
            f'Exception getting "ServicesDependedOn": "Cannot open {broken[1]} service on computer \'.\'."'
        )
    out = []
    for name, svc in state.services.items():
        svc = svc or {}
        mode = svc.get("start_mode", "manual")
        out.append(
            {
                "name": name,
                "display_name": _display(name, svc),
                "state": svc.get("state", "stopped"),
                "start_mode": "auto" if mode == "delayed" else mode,
                "username": svc.get("username", _DEFAULT_USER),
                "dependencies": list(svc.get("dependencies") or []),
                "dependents": state.dependents(name),
            }
        )
    return out


def probe_services(state, text: str = "") -> list[dict]:
    """The ``services`` list of the probe output contract (docs/architecture.md), as the section's
    PowerShell would read it: Get-Service (SCM) + the service's registry key, one try per service."""
    if "Win32_Service" in text:
        return _probe_services_wmi(state, text)
    out = []
    for name, svc in state.services.items():
        svc = svc or {}
        mode = svc.get("start_mode", "manual")
        entry = {
            "name": name,
            "display_name": _display(name, svc),
            "state": svc.get("state", "stopped"),
            "start_mode": None,
            "delayed_autostart": False,
            "username": None,
            "sid": None,
            "dependencies": [],
            "dependents": [],
            "error": None,
        }
        if faults.access_denied(state, SERVICES_KEY + name):
            entry["error"] = REGISTRY_DENIED  # OpenSubKey throws SecurityException: this service only
        else:
            entry.update(
                start_mode="auto" if mode == "delayed" else mode,
                delayed_autostart=mode == "delayed",
                username=svc.get("username", _DEFAULT_USER),
                sid=resolve_sid(state, svc.get("username", _DEFAULT_USER)),
                dependencies=list(svc.get("dependencies") or []),
                dependents=state.dependents(name),
            )
        out.append(entry)
    return out


probe_services.takes_text = True
