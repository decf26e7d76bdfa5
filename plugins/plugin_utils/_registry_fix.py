# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal base of the registry fix action plugins (dotnet_strong_crypto, bcdr_agent_keys, bcdr_vss_copy_backup).

Read -> decide -> act, as ansible.windows' action plugins do: one read-only win_powershell probe
(runs in check mode too), the plan in Python on the controller with the same ``assess_*`` function
the scan's evaluator uses (plugins/plugin_utils/_registry.py), then one ``ansible.windows.win_regedit``
per value that differs. The remote module owns check mode (it reports the change and writes
nothing); this plugin has no side effect of its own. A subclass sets ``ARGUMENT_SPEC`` and ``ASSESS``.
"""

from __future__ import annotations

import copy

from ansible.utils.display import Display
from ansible_collections.vmbackup.azure.plugins.plugin_utils._registry import value_text
from ansible_collections.vmbackup.azure.plugins.plugin_utils._windows_fix import ResultError, WindowsFixAction

display = Display()

# Every registry fix can be run as a report: apply=false plans and reports, changes nothing.
APPLY_OPTION = {"apply": {"type": "bool", "default": True}}


def _diff_lines(changes, side):
    lines = []
    for change in changes:
        value = change["current"] if side == "before" else {"type": change["type"], "data": change["data"]}
        text = "(key missing)" if side == "before" and not change["key_exists"] else value_text(value)
        lines.append(f"{change['path']}\\{change['name']} = {text}\n")
    return "".join(lines)


class RegistryFixAction(WindowsFixAction):
    """Probe once, plan with ``ASSESS(probe, options) -> (finding, changes)``, apply with win_regedit.

    win_regedit writes exactly the value it is given, so there is no re-probe: ``after`` is the values
    set (``after_predicted`` in check mode, where win_regedit writes nothing)."""

    ASSESS = None  # staticmethod in subclasses
    PROBE_SECTIONS = ("registry",)
    RESULT_KEYS = {"changes": "actions", "before": "before", "after": "after", "after_predicted": "after_predicted"}
    DIFF_HEADER = "registry"

    def fix(self, task_vars, args):
        return self._run(task_vars, args)

    def _set_value(self, task_vars, change):
        return self.run_module(
            "ansible.windows.win_regedit",
            {
                "path": change["path"],
                "name": change["name"],
                "data": change["data"],
                "type": change["type"],
                "state": "present",
            },
            task_vars,
        )

    def _run(self, task_vars, args):
        finding, changes = type(self).ASSESS(self.probe(task_vars), dict(args))
        out = {"changed": False, "finding": finding, "changes": [], "changed_keys": [], "not_allowed": []}
        if finding["status"] == "error":
            raise ResultError(finding["detail"], **out)
        out["not_allowed"] = [_public(c) for c in changes if not c["allowed"]]
        applied = []
        for change in changes:
            if not change["allowed"]:
                continue
            display.vv(f"{self._task.action}: {change['path']} {change['name']} ({change['reason']})")
            module_result = self._set_value(task_vars, change)
            if module_result.get("failed"):
                out.update(_summary(applied))
                msg = module_result.get("msg") or "win_regedit failed"
                raise ResultError(f"failed to set {change['path']} {change['name']}: {msg}", **out)
            if module_result.get("changed"):
                applied.append(change)
        out.update(_summary(applied))
        out["before"] = [{"path": c["path"], "name": c["name"], "value": copy.deepcopy(c["current"])} for c in changes]
        out["after"] = [
            {"path": c["path"], "name": c["name"], "value": {"type": c["type"], "data": c["data"]}}
            if c in applied
            else {"path": c["path"], "name": c["name"], "value": copy.deepcopy(c["current"])}
            for c in changes
        ]
        out["after_predicted"] = bool(applied and self._task.check_mode)
        if self._task.diff and applied:
            out["diff"] = self.fix_diff(self.DIFF_HEADER, _diff_lines(applied, "before"), _diff_lines(applied, "after"))
        return out


def _public(change):
    keep = ("path", "name", "type", "data", "current", "reason", "reason_not_allowed")
    return {k: copy.deepcopy(change[k]) for k in keep if k in change}


def _summary(applied):
    keys = []
    for change in applied:
        if change["path"] not in keys:
            keys.append(change["path"])
    return {"changed": bool(applied), "changes": [_public(c) for c in applied], "changed_keys": keys}
