# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ExtensionSnapshotFailedCOM (aliases ExtensionInstallationFailedCOM, ExtensionInstallationFailedMDTC):
COM+ System Application and MSDTC (pure Python, reads the probe's ``services`` section).

Check: ``COMSysApp`` can start (installed, not disabled, not stuck in a pending state) and
``MSDTC`` is not disabled and logs on as ``NT AUTHORITY\\NetworkService`` (S-1-5-20, compared by the SID
the probe resolved on the host). MSDTC is demand-start on several Windows Server versions, so a stopped
manual MSDTC passes; a stopped *automatic* MSDTC failed to start and is a problem.
``COMSysApp`` is a demand-start service: stopped while idle is normal and passes; the probe is
read-only, so "can it start?" is only answered by starting it, which the fix does.

Fix steps, in the doc's order (each action carries ``allowed``/``disruptive``):

1. re-enable a disabled ``COMSysApp`` (manual) / ``MSDTC`` (delayed auto) - non-disruptive;
2. set MSDTC's logon account to Network Service - disruptive (``restart``): it takes effect on restart;
3. start a stopped MSDTC, restart a running one after the account change - restart is disruptive;
4. start COMSysApp (restart it after an account change when it runs: "restart COM+");
5. last resort, only if a start above still fails **and** ``reinstall_msdtc``: stop MSDTC,
   ``msdtc -uninstall``, ``msdtc -install``, start MSDTC, start COMSysApp, then verify both run.

The scan cannot know whether a start will fail; it always lists step 5 as the conditional last
resort with its ``allowed`` flag, so the report says what would run.
"""

from __future__ import annotations

from ansible_collections.vmbackup.azure.plugins.module_utils._findings import make_finding
from ansible_collections.vmbackup.azure.plugins.plugin_utils._probe_sections import require, runs_as, service_errors

ERROR_CODE = "ExtensionSnapshotFailedCOM"
COMSYSAPP = "COMSysApp"
MSDTC = "MSDTC"
NETWORK_SERVICE_SID = "S-1-5-20"
NETWORK_SERVICE = "NT AUTHORITY\\NetworkService"
MSDTC_DEFAULT_START_MODE = "delayed"  # Automatic (Delayed Start), the Windows Server default
# the last resort of the COM+ fix, in this order (com_services runs each with ansible.windows.win_command)
REINSTALL_COMMANDS = (("msdtc", "-uninstall"), ("msdtc", "-install"))
UNINSTALL_MSDTC, INSTALL_MSDTC = (" ".join(argv) for argv in REINSTALL_COMMANDS)
_STUCK = ("start_pending", "stop_pending")


def _find(services, name):
    low = name.lower()
    for svc in services or []:
        if isinstance(svc, dict) and str(svc.get("name", "")).lower() == low:
            return svc
    return None


def plan_com(services: list, options: dict | None = None) -> dict:
    """Decide the steps for the probe's service list."""
    options = dict(options or {})
    restart = bool(options.get("restart", False))
    reinstall = bool(options.get("reinstall_msdtc", False))
    com = _find(services, COMSYSAPP)
    dtc = _find(services, MSDTC)
    problems, steps = [], []

    def step(action, service, disruptive, allowed, reason="", **extra):
        entry = {"action": action, "service": service, "allowed": allowed, "disruptive": disruptive, **extra}
        if not allowed:
            entry["reason"] = reason
        steps.append(entry)

    if com is None:
        problems.append("service COMSysApp (COM+ System Application) is not installed")
    if dtc is None:
        problems.append("service MSDTC (Distributed Transaction Coordinator) is not installed")
        step(
            "install_msdtc",
            MSDTC,
            True,
            reinstall,
            "reinstall_msdtc not opted in",
            commands=[INSTALL_MSDTC],
        )
    account_change = False
    if dtc is not None:
        if dtc.get("start_mode") == "disabled":
            problems.append("MSDTC is disabled")
            step("set_start_mode", MSDTC, False, True, start_mode=MSDTC_DEFAULT_START_MODE)
        if not runs_as(dtc, NETWORK_SERVICE_SID):
            problems.append(f"MSDTC logs on as {dtc.get('username') or 'an unknown account'}, not {NETWORK_SERVICE}")
            account_change = True
            step(
                "set_logon_account",
                MSDTC,
                True,
                restart,
                "restart not opted in (changing the account needs a restart of MSDTC and COM+)",
                username=NETWORK_SERVICE_SID,
                username_text=NETWORK_SERVICE,
            )
        state = dtc.get("state")
        if state in _STUCK:
            problems.append(f"MSDTC is stuck in state {state}")
        elif state != "running" and dtc.get("start_mode") in ("auto", "delayed", "boot", "system"):
            # MSDTC is demand-start (manual) on several Windows Server versions: stopped is then normal, as
            # for COMSysApp. Only an automatic MSDTC that is not running failed to start.
            problems.append(f"MSDTC is {state or 'in an unknown state'} although it starts automatically")
    if com is not None:
        state = com.get("state")
        if com.get("start_mode") == "disabled":
            problems.append("COMSysApp is disabled, so it cannot start")
            step("set_start_mode", COMSYSAPP, False, True, start_mode="manual")
        if state in _STUCK:
            problems.append(f"COMSysApp is stuck in state {state}")

    if not problems:
        return {"problems": [], "steps": [], "last_resort": None, "com": com, "dtc": dtc}

    # Bring the services up: MSDTC first (COM+ talks to it), then COM+.
    dtc_running = dtc is not None and dtc.get("state") == "running"
    if dtc is not None:
        if account_change and dtc_running:
            step(
                "restart_service",
                MSDTC,
                True,
                restart,
                "restart not opted in",
                why="apply the Network Service logon account",
            )
        elif not dtc_running:
            step("start_service", MSDTC, False, True, why="MSDTC must run for COM+")
    if com is not None:
        com_running = com.get("state") == "running"
        if account_change and com_running:
            step(
                "restart_service",
                COMSYSAPP,
                True,
                restart,
                "restart not opted in",
                why="restart COM+ after the account change",
            )
        elif not com_running:
            step("start_service", COMSYSAPP, False, True, why="prove COM+ can start")

    last_resort = {
        "action": "reinstall_msdtc",
        "service": MSDTC,
        "when": "MSDTC or COMSysApp still fails to start after the steps above",
        "commands": ["stop MSDTC", UNINSTALL_MSDTC, INSTALL_MSDTC, "start MSDTC", "start COMSysApp"],
        "allowed": reinstall,
        "disruptive": True,
        "conditional": True,
    }
    if not reinstall:
        last_resort["reason"] = "reinstall_msdtc not opted in"
    if dtc is None or com is None:  # installing MSDTC is already a step; a missing COM+ is report only
        last_resort = None
    return {"problems": problems, "steps": steps, "last_resort": last_resort, "com": com, "dtc": dtc}


def _step_text(step: dict) -> str:
    action, service = step["action"], step["service"]
    if action == "set_start_mode":
        text = f"set {service} start mode to {step['start_mode']}"
    elif action == "set_logon_account":
        text = f"set {service} logon account to {step['username_text']} ({step['username']})"
    elif action == "restart_service":
        text = f"restart {service} ({step['why']})"
    elif action == "start_service":
        text = f"start {service}"
    elif action == "install_msdtc":
        text = f"install MSDTC ({INSTALL_MSDTC})"
    else:  # pragma: no cover - every action is listed above
        text = f"{action} {service}"
    if not step["allowed"]:
        text = f"would {text} (not allowed: {step['reason']})"
    return text


def _fix_text(plan: dict) -> str:
    parts = [_step_text(s) for s in plan["steps"]]
    last = plan["last_resort"]
    if last:
        text = f"if {last['when'].replace(' after the steps above', '')}: " + ", ".join(last["commands"])
        if not last["allowed"]:
            text = f"{text} (last resort, not allowed: {last['reason']})"
        else:
            text = f"{text} (last resort)"
        parts.append(text)
    if plan["com"] is None:
        parts.append("COMSysApp is missing: no documented fix, repair COM+ (report only)")
    return "; ".join(parts)


def assess_com(probe: dict, options: dict | None = None):
    """``(finding, plan)``; plan is None on status error."""
    problem = require(probe, "services") or service_errors(probe["services"], (COMSYSAPP, MSDTC))
    if problem:
        return make_finding(ERROR_CODE, "error", problem), None
    services = probe["services"]
    plan = plan_com(services, options)
    if not plan["problems"]:
        com, dtc = plan["com"], plan["dtc"]
        return (
            make_finding(
                ERROR_CODE,
                "pass",
                f"MSDTC runs as {dtc.get('username')}; COMSysApp is {com.get('state')} ({com.get('start_mode')}"
                + (", demand-start" if com.get("state") != "running" else "")
                + ")",
            ),
            plan,
        )
    actions = [dict(s) for s in plan["steps"]]
    if plan["last_resort"]:
        actions.append(dict(plan["last_resort"]))
    return make_finding(ERROR_CODE, "fail", "; ".join(plan["problems"]), _fix_text(plan), actions), plan


def evaluate_com(probe: dict, options: dict | None = None) -> dict:
    """The ExtensionSnapshotFailedCOM finding. ``options``: ``restart``, ``reinstall_msdtc``."""
    return assess_com(probe, options)[0]
