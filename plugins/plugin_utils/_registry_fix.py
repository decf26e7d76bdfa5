# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal base of the registry fix action plugins (dotnet_strong_crypto, bcdr_agent_keys, bcdr_vss_copy_backup).

Read -> decide -> act, as ansible.windows' action plugins do: one read-only win_powershell probe
(runs in check mode too), the plan in Python on the controller with the same ``assess_*`` function
the scan's evaluator uses (plugins/module_utils/_registry.py), then one ``ansible.windows.win_regedit``
per value that differs. The remote module owns check mode (it reports the change and writes
nothing); this plugin has no side effect of its own. A subclass sets ``ARGUMENT_SPEC`` and ``ASSESS``.
"""

from __future__ import annotations

import copy
import traceback

from ansible.errors import AnsibleActionFail, AnsibleConnectionFailure
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display
from ansible_collections.vmbackup.azure.plugins.module_utils._registry import value_text
from ansible_collections.vmbackup.azure.plugins.plugin_utils._windows_probe import (
    ProbeError,
    probe_args,
    probe_from_result,
)

display = Display()

# Every registry fix can be run as a report: apply=false plans and reports, changes nothing.
APPLY_OPTION = {"apply": {"type": "bool", "default": True}}


class _ResultError(Exception):
    """Fail the task with ``msg`` and keep what was learned so far in ``result``."""

    def __init__(self, msg, **result):
        super().__init__(msg)
        self.result = result


def _diff_lines(changes, side):
    lines = []
    for change in changes:
        value = change["current"] if side == "before" else {"type": change["type"], "data": change["data"]}
        text = "(key missing)" if side == "before" and not change["key_exists"] else value_text(value)
        lines.append(f"{change['path']}\\{change['name']} = {text}\n")
    return "".join(lines)


class RegistryFixAction(ActionBase):
    """Probe once, plan with ``ASSESS(probe, options) -> (finding, changes)``, apply with win_regedit."""

    TRANSFERS_FILES = False
    ARGUMENT_SPEC: dict = {}
    ASSESS = None  # staticmethod in subclasses
    DIFF_HEADER = "registry"

    def run(self, tmp=None, task_vars=None):
        self._supports_check_mode = True
        self._supports_async = False
        result = {}
        task_vars = task_vars or {}
        try:
            result = super().run(tmp, task_vars)
            del tmp  # tmp no longer has any effect
            # Bad input fails here, before anything runs on the host, naming the option.
            _validation, args = self.validate_argument_spec(argument_spec=self.ARGUMENT_SPEC)
            result.update(self._run(task_vars, args))
            result["invocation"] = {"module_args": copy.deepcopy(args)}
        except Exception as exc:  # a helper raises; run() turns it into the task result
            if isinstance(exc, _ResultError):
                result.update(exc.result)
            if isinstance(exc, AnsibleConnectionFailure):
                result["unreachable"] = True
            else:
                result["failed"] = True
            result["msg"] = to_text(exc)
            if not isinstance(exc, (AnsibleActionFail, _ResultError, ProbeError)):
                result["exception"] = traceback.format_exc()
        if "invocation" in result:  # never the probe script of a module this plugin ran
            args = result["invocation"].get("module_args", {}) or {}
            result["invocation"] = {"module_args": {k: v for k, v in args.items() if not str(k).startswith("_")}}
        return result

    def _probe(self, task_vars):
        module_result = self._execute_module(
            module_name="ansible.windows.win_powershell",
            module_args=probe_args(),
            task_vars=task_vars,
        )
        return probe_from_result(module_result)

    def _set_value(self, task_vars, change):
        module_result = self._execute_module(
            module_name="ansible.windows.win_regedit",
            module_args={
                "path": change["path"],
                "name": change["name"],
                "data": change["data"],
                "type": change["type"],
                "state": "present",
            },
            task_vars=task_vars,
        )
        for warning in module_result.get("warnings", []) or []:
            if isinstance(warning, str):
                display.warning(warning)
        return module_result

    def _run(self, task_vars, args):
        finding, changes = type(self).ASSESS(self._probe(task_vars), dict(args))
        out = {"changed": False, "finding": finding, "changes": [], "changed_keys": [], "not_allowed": []}
        if finding["status"] == "error":
            raise _ResultError(finding["detail"], **out)
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
                raise _ResultError(f"failed to set {change['path']} {change['name']}: {msg}", **out)
            if module_result.get("changed"):
                applied.append(change)
        out.update(_summary(applied))
        if self._task.diff and applied:
            out["diff"] = {
                "before_header": f"{self.DIFF_HEADER} (before)",
                "after_header": f"{self.DIFF_HEADER} (after)",
                "before": _diff_lines(applied, "before"),
                "after": _diff_lines(applied, "after"),
            }
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
