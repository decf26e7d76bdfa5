# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for vmbackup.azure.windows_installer (fix for ExtensionVCRedistInstallationFailure).

One read-only probe (also in check mode), the plan from ``_windows_installer.assess_installer`` (the
scan's evaluator), then: ansible.windows.win_service ``start_mode: manual`` for msiserver (the
SCM writes ``Start = 3``), opt-in ansible.windows.win_command ``msiexec.exe /unregister`` and
``msiexec.exe /regserver``, and ansible.windows.win_package for ``vcredist2013_x64.exe``
(idempotent by product code). win_command is skipped in check mode by the module itself, so this
plugin does not send it then and reports that it would run.
"""

from __future__ import annotations

from ansible_collections.vmbackup.azure.plugins.plugin_utils._guest_fix import GuestFixAction, ResultError
from ansible_collections.vmbackup.azure.plugins.plugin_utils._windows_installer import (
    DEFAULT_PRODUCT_ID,
    assess_installer,
    validate_options,
)

ARGUMENT_SPEC = {
    "msiserver_manual": {"type": "bool", "default": True},
    "install_vcredist": {"type": "bool", "default": True},
    "vcredist_path": {"type": "str"},
    "vcredist_product_id": {"type": "str", "default": DEFAULT_PRODUCT_ID},
    "reregister_msi": {"type": "bool", "default": False},
}


def _state_text(facts: dict) -> str:
    if not facts:
        return ""
    vc = facts.get("vcredist")
    return (
        f"msiserver start mode: {facts.get('msiserver_start_mode') or 'not registered'}\n"
        f"vc++ 2013 x64: {(vc.get('name') + ' ' + vc.get('product_id', '')) if vc else 'not installed'}\n"
    )


class ActionModule(GuestFixAction):
    ARGUMENT_SPEC = ARGUMENT_SPEC
    _VALID_ARGS = frozenset(ARGUMENT_SPEC) | {"probe", "verify"}
    PROBE_SECTIONS = ("services", "installer")
    RESULT_KEYS = {
        "installer_before": "before",
        "installer_after": "after",
        "installer_after_predicted": "after_predicted",
        "performed": "actions",
    }

    def check_args(self, args):
        return validate_options(args)

    def fix(self, task_vars, args):
        finding, facts = assess_installer(self.probe(task_vars), args)
        out = {
            "changed": False,
            "finding": finding,
            "installer_before": facts,
            "installer_after": facts,
            "performed": [],
            "would_run": [],
        }
        if finding["status"] == "error":
            raise ResultError(finding["detail"], **out)

        check = self._task.check_mode
        predicted = dict(facts)
        for action in finding["actions"]:
            if not action["allowed"]:
                continue
            kind = action["action"]
            if kind == "set_start_mode":
                res = self.module(
                    task_vars,
                    "ansible.windows.win_service",
                    {"name": action["service"], "start_mode": "manual"},
                    "set msiserver's start mode to manual",
                    out,
                )
                if res.get("changed"):
                    out["changed"] = True
                    out["performed"].append(kind)
                    predicted["msiserver_start_mode"] = "manual"
            elif kind == "reregister_msi":
                if check:  # win_command is skipped in check mode: say what would run
                    out["would_run"].extend(action["commands"])
                    out["changed"] = True
                    predicted.update(msiserver_exists=True, msiserver_start_mode="manual")
                    continue
                for command in action["commands"]:
                    self.module(
                        task_vars, "ansible.windows.win_command", {"argv": command.split()}, f"run {command}", out
                    )
                out["changed"] = True
                out["performed"].append(kind)
            elif kind == "install_vcredist":
                res = self.module(
                    task_vars,
                    "ansible.windows.win_package",
                    {
                        "path": action["path"],
                        "product_id": action["product_id"],
                        "arguments": action["arguments"],
                        "state": "present",
                    },
                    f"install {action['path']}",
                    out,
                )
                if res.get("changed"):
                    out["changed"] = True
                    out["performed"].append(kind)
                    predicted["vcredist"] = {
                        "name": "Microsoft Visual C++ 2013 Redistributable (x64)",
                        "product_id": action["product_id"],
                    }
                if res.get("reboot_required"):
                    out["reboot_required"] = True

        if out["changed"] and not check and self.verifying():
            after_finding, after = assess_installer(self.probe(task_vars), args)
            out["installer_after"] = after
            out["finding_after"] = after_finding
            # what was allowed must be done now; what was not allowed may remain
            left = [a for a in after_finding["actions"] if a["allowed"] and a["action"] != "reregister_msi"]
            if left:
                raise ResultError(
                    f"still failing after {', '.join(out['performed'])}: {after_finding['detail']}", **out
                )
        else:
            out["installer_after"] = predicted
        out["installer_after_predicted"] = bool(out["changed"] and (check or not self.verifying()))
        if self._task.diff:
            out["diff"] = self.fix_diff(
                "windows installer",
                _state_text(facts),
                _state_text(out["installer_after"]),
                out["installer_after_predicted"],
            )
        return out
