# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for vmbackup.azure.com_services (fix for ExtensionSnapshotFailedCOM and aliases).

Probe the services (read-only), plan with the scan's evaluator (``_com.py``), then drive
``ansible.windows.win_service`` (start mode, logon account, start/restart) and, as the last
resort only, ``ansible.windows.win_command`` ``msdtc -uninstall`` / ``msdtc -install``.
"""

from __future__ import annotations

from ansible.utils.display import Display
from ansible_collections.vmbackup.azure.plugins.plugin_utils._com import (
    COMSYSAPP,
    MSDTC,
    REINSTALL_COMMANDS,
    assess_com,
)
from ansible_collections.vmbackup.azure.plugins.plugin_utils._security_fix import ResultError, SecurityFixAction

display = Display()

ARGUMENT_SPEC = {
    "restart": {"type": "bool", "default": False},
    "reinstall_msdtc": {"type": "bool", "default": False},
}
_START_ACTIONS = ("start_service", "restart_service")


def _service_view(services, names=(COMSYSAPP, MSDTC)) -> dict:
    out = {}
    for name in names:
        svc = next((s for s in services or [] if str(s.get("name", "")).lower() == name.lower()), None)
        out[name] = None if svc is None else {k: svc.get(k) for k in ("state", "start_mode", "username")}
    return out


def _view_text(view: dict) -> str:
    lines = []
    for name, svc in view.items():
        if svc is None:
            lines.append(f"{name}: not installed\n")
        else:
            lines.append(f"{name}: {svc['state']}, start mode {svc['start_mode']}, logon {svc['username']}\n")
    return "".join(lines)


class ActionModule(SecurityFixAction):
    ARGUMENT_SPEC = ARGUMENT_SPEC
    _VALID_ARGS = frozenset(ARGUMENT_SPEC) | {"probe", "verify"}
    PROBE_SECTIONS = ("services",)
    RESULT_KEYS = {
        "services_before": "before",
        "services_after": "after",
        "services_after_predicted": "after_predicted",
        "steps_run": "actions",
    }

    def _win_service(self, task_vars, **args) -> dict:
        return self.module("ansible.windows.win_service", args, task_vars)

    def _run_step(self, task_vars, step) -> dict:
        action, name = step["action"], step["service"]
        if action == "set_start_mode":
            return self._win_service(task_vars, name=name, start_mode=step["start_mode"])
        if action == "set_logon_account":
            return self._win_service(task_vars, name=name, username=step["username"])
        if action == "restart_service":
            return self._win_service(task_vars, name=name, state="restarted", force_dependent_services=True)
        if action == "start_service":
            return self._win_service(task_vars, name=name, state="started")
        if action == "install_msdtc":
            return self.module("ansible.windows.win_command", {"argv": list(REINSTALL_COMMANDS[1])}, task_vars)
        raise ResultError(f"unknown step {action}")  # pragma: no cover - the plan only has the above

    def _reinstall(self, task_vars, out) -> None:
        """Last resort: stop MSDTC, msdtc -uninstall, msdtc -install, start MSDTC, start COMSysApp."""
        sequence = [
            (
                "stop MSDTC",
                "ansible.windows.win_service",
                {"name": MSDTC, "state": "stopped", "force_dependent_services": True},
            ),
            *((" ".join(argv), "ansible.windows.win_command", {"argv": list(argv)}) for argv in REINSTALL_COMMANDS),
            ("start MSDTC", "ansible.windows.win_service", {"name": MSDTC, "state": "started"}),
            ("start COMSysApp", "ansible.windows.win_service", {"name": COMSYSAPP, "state": "started"}),
        ]
        for label, module, args in sequence:
            res = self.module(module, args, task_vars)
            if res.get("failed") or (
                module.endswith("win_command") and res.get("rc", 0) != 0 and not res.get("skipped")
            ):
                out["reinstall_steps"].append({"step": label, "failed": True})
                raise ResultError(
                    f"last resort failed at '{label}': {res.get('msg') or res.get('stderr') or res.get('stdout')}",
                    **out,
                )
            out["reinstall_steps"].append(
                {"step": label, "changed": bool(res.get("changed")), "skipped": bool(res.get("skipped"))}
            )
            out["changed"] = True

    def fix(self, task_vars, args):
        probe = self.probe(task_vars)
        finding, plan = assess_com(probe, args)
        out = {"changed": False, "finding": finding, "steps_run": [], "reinstalled": False, "reinstall_steps": []}
        if finding["status"] == "error":
            raise ResultError(finding["detail"], **out)
        before = _service_view(probe.get("services"))
        out.update(services_before=before, services_after=before, services_after_predicted=False, not_allowed=[])
        if finding["status"] == "pass":
            return out

        out["not_allowed"] = [
            {k: s[k] for k in ("action", "service", "reason") if k in s} for s in plan["steps"] if not s["allowed"]
        ]
        steps = [s for s in plan["steps"] if s["allowed"]]
        if any(s["action"] == "install_msdtc" for s in steps):
            steps += [
                {"action": "start_service", "service": MSDTC, "allowed": True},
                {"action": "start_service", "service": COMSYSAPP, "allowed": True},
            ]
        failure = None
        for step in steps:
            res = self._run_step(task_vars, step)
            failed = res.get("failed") or (
                step["action"] == "install_msdtc" and res.get("rc", 0) != 0 and not res.get("skipped")
            )
            if failed:
                msg = res.get("msg") or res.get("stderr") or "failed"
                if step["action"] in _START_ACTIONS:
                    failure = f"{step['service']} failed to start: {msg}"
                    out["steps_run"].append({"action": step["action"], "service": step["service"], "failed": True})
                    break
                raise ResultError(f"{step['action']} {step['service']} failed: {msg}", **out)
            out["steps_run"].append(
                {"action": step["action"], "service": step["service"], "changed": bool(res.get("changed"))}
            )
            if res.get("changed") or res.get("skipped"):
                out["changed"] = True

        if failure:
            last = plan["last_resort"]
            if not last or not last["allowed"]:
                why = last["reason"] if last else "not applicable"
                raise ResultError(
                    f"{failure}. Last resort (stop MSDTC, msdtc -uninstall, msdtc -install, start MSDTC, start"
                    f" COMSysApp) not run: {why}",
                    **out,
                )
            display.warning(f"{task_vars.get('inventory_hostname')}: {failure}; reinstalling MSDTC (opted in)")
            self._reinstall(task_vars, out)
            out["reinstalled"] = True

        if self._task.check_mode:
            predicted = {k: dict(v) if v else v for k, v in before.items()}
            for step in steps:
                svc = predicted.get(step["service"])
                if svc is None:
                    continue
                if step["action"] == "set_start_mode":
                    svc["start_mode"] = step["start_mode"]
                elif step["action"] == "set_logon_account":
                    svc["username"] = "NT AUTHORITY\\NETWORK SERVICE"
                elif step["action"] in _START_ACTIONS:
                    svc["state"] = "running"
            out["services_after"] = predicted
            out["services_after_predicted"] = True
        elif out["changed"] and self.verifying():
            after_probe = self.probe(task_vars)
            after_finding, _after_plan = assess_com(after_probe, args)
            out["services_after"] = _service_view(after_probe.get("services"))
            out["finding_after"] = after_finding
            if after_finding["status"] != "pass" and not out["not_allowed"]:
                raise ResultError(f"still failing after the fix: {after_finding['detail']}", **out)
        self.warn_not_run(
            task_vars,
            "ExtensionSnapshotFailedCOM",
            [f"{s['action']} {s['service']} ({s.get('reason')})" for s in out["not_allowed"]],
        )
        if self._task.diff:
            out["diff"] = self.fix_diff(
                "COM+ / MSDTC services",
                _view_text(before),
                _view_text(out["services_after"]),
                out["services_after_predicted"],
            )
        return out
