# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for vmbackup.azure.windows_guest_agent: the Windows VM agent, shared by
VmAgentNotRunning, AzureVmOffline (380008), NoVmAgent and UserErrorVmProvisioningStateFailed.

One read-only probe (also in check mode), the plan from ``_windows_agent.assess_agent`` (the scan's
evaluator), then ansible.windows.win_package (install/update from the user's MSI) and
ansible.windows.win_service (start, or restart a stuck agent). The remote modules own check mode.
"""

from __future__ import annotations

from ansible_collections.vmbackup.azure.plugins.plugin_utils._guest_fix import GuestFixAction, ResultError, display
from ansible_collections.vmbackup.azure.plugins.plugin_utils._windows_agent import (
    AGENT_CODES,
    MIN_VERSION,
    assess_agent,
    validate_options,
)

ARGUMENT_SPEC = {
    "error_code": {"type": "str", "default": "VmAgentNotRunning", "choices": list(AGENT_CODES)},
    "start": {"type": "bool", "default": True},
    "restart": {"type": "bool", "default": False},
    "install": {"type": "bool", "default": False},
    "msi_path": {"type": "str"},
    "msi_product_id": {"type": "str"},
    "min_version": {"type": "str", "default": MIN_VERSION},
    "backup_stale_minutes": {"type": "int", "default": 180},
}
OPTION_KEYS = ("start", "restart", "install", "msi_path", "msi_product_id", "min_version", "backup_stale_minutes")


def _agent_text(facts: dict) -> str:
    if not facts:
        return ""
    if not facts.get("service_exists"):
        return "service WindowsAzureGuestAgent: not installed\n"
    return (
        f"service {facts['service_name']}: {facts['service_state']} (start mode {facts['start_mode']})\n"
        f"version: {facts['version'] or 'unknown'}\n"
    )


class ActionModule(GuestFixAction):
    ARGUMENT_SPEC = ARGUMENT_SPEC
    _VALID_ARGS = frozenset(ARGUMENT_SPEC) | {"probe", "verify"}
    PROBE_SECTIONS = ("services", "agent", "vssadmin", "extension_status")
    RESULT_KEYS = {
        "agent_before": "before",
        "agent_after": "after",
        "agent_after_predicted": "after_predicted",
        "performed": "actions",
    }

    def check_args(self, args):
        validate_options({k: args[k] for k in OPTION_KEYS})
        return args

    def fix(self, task_vars, args):
        code = args["error_code"]
        options = {k: args[k] for k in OPTION_KEYS}
        host = task_vars.get("inventory_hostname")
        finding, facts = assess_agent(self.probe(task_vars), options, code)
        out = {"changed": False, "finding": finding, "agent_before": facts, "agent_after": facts, "performed": []}
        if finding["status"] == "error":
            raise ResultError(finding["detail"], **out)

        check = self._task.check_mode
        predicted = dict(facts)
        for action in finding["actions"]:
            if not action["allowed"]:
                if action.get("disruptive") and "backup is in progress" in action.get("reason", ""):
                    display.warning(f"{host}: not changing the VM agent: {action['reason']}")
                continue
            kind = action["action"]
            if kind in ("install_agent", "update_agent"):
                module_args = {"path": action["source"], "state": "present"}
                if action.get("product_id"):
                    module_args["product_id"] = action["product_id"]
                res = self.module(
                    task_vars, "ansible.windows.win_package", module_args, f"{kind} from {action['source']}", out
                )
                if res.get("changed"):
                    out["changed"] = True
                    out["performed"].append(kind)
                    predicted.update(service_exists=True, version=f">= {facts['min_version']}", service_state="running")
                    predicted.setdefault("start_mode", "auto")
                    if not check:  # the MSI may have started the service: look before starting it
                        dummy, after = assess_agent(self.probe(task_vars), options, code)
                        predicted = dict(after)
                if res.get("reboot_required"):
                    out["reboot_required"] = True
            elif kind in ("start_service", "restart_service"):
                # after an install: the MSI starts the service (predicted in check mode, where the
                # service does not exist yet and win_service would fail); start it only if it did not
                if action.get("after_install") and (check or predicted.get("service_state") == "running"):
                    continue
                module_args = {
                    "name": action["service"],
                    "state": "started" if kind == "start_service" else "restarted",
                }
                if action.get("start_mode"):
                    module_args["start_mode"] = action["start_mode"]
                res = self.module(
                    task_vars, "ansible.windows.win_service", module_args, f"{kind} {action['service']}", out
                )
                if res.get("changed"):
                    out["changed"] = True
                    out["performed"].append(kind)
                    predicted.update(service_state="running")
                    if action.get("start_mode"):
                        predicted["start_mode"] = action["start_mode"]

        if out["changed"] and not check and self.verifying():
            after_finding, after = assess_agent(self.probe(task_vars), options, code)
            out["agent_after"] = after
            out["finding_after"] = after_finding
            # what was allowed must be done now; what was not allowed may remain
            if any(a["allowed"] for a in after_finding["actions"]):
                raise ResultError(
                    f"the VM agent is still not healthy after {', '.join(out['performed'])}: {after_finding['detail']}",
                    **out,
                )
        else:
            out["agent_after"] = predicted
        out["agent_after_predicted"] = bool(out["changed"] and (check or not self.verifying()))
        if self._task.diff:
            out["diff"] = self.fix_diff(
                "vm agent", _agent_text(facts), _agent_text(out["agent_after"]), out["agent_after_predicted"]
            )
        return out
