# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Skeleton of the com_services, machinekeys_acl and bitlocker_volumes action plugins (internal).

Read -> decide -> act, as ``vss_writers`` does: validate the options before anything runs on the
host, run the read-only probe (only the sections the fix needs), decide with the scan's
evaluator, then drive ansible.windows modules (they own check mode). A helper raises; ``run()``
turns the exception into the task result. Options listed in ``SECRET_OPTIONS`` never appear in
the result (``invocation`` shows them as ``VALUE_SPECIFIED_IN_NO_LOG_PARAMETER``) and every
module call that carries a secret runs with ``_ansible_no_log`` so the host does not log it.
"""

from __future__ import annotations

import contextlib
import copy
import traceback

from ansible.errors import AnsibleActionFail, AnsibleConnectionFailure
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display
from ansible_collections.vmbackup.azure.plugins.plugin_utils._windows_probe import (
    PROBE_DEPTH,
    SECTIONS,
    ProbeError,
    build_script,
    probe_from_result,
)

display = Display()
NO_LOG_MARK = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"


class ResultError(Exception):
    """Fail the task with ``msg`` and keep what was learned so far in ``result``."""

    def __init__(self, msg, **result):
        super().__init__(msg)
        self.result = result


class SecurityFixAction(ActionBase):
    """Subclasses set ``ARGUMENT_SPEC``, ``PROBE_SECTIONS`` and implement ``fix(task_vars, args)``."""

    TRANSFERS_FILES = False
    ARGUMENT_SPEC: dict = {}
    PROBE_SECTIONS: tuple = ()
    SECRET_OPTIONS: tuple = ()

    def check_args(self, args: dict) -> dict:
        """Raise ValueError naming the bad input (never a secret value)."""
        return args

    def fix(self, task_vars: dict, args: dict) -> dict:  # pragma: no cover - overridden
        raise NotImplementedError

    def run(self, tmp=None, task_vars=None):
        self._supports_check_mode = True
        self._supports_async = False
        result = {}
        task_vars = task_vars or {}
        args = {}
        try:
            result = super().run(tmp, task_vars)
            del tmp
            _validation, args = self.validate_argument_spec(argument_spec=self.ARGUMENT_SPEC)
            try:
                args = self.check_args(args)
            except ValueError as exc:  # bad input fails here, before anything runs on the host
                raise AnsibleActionFail(f"Invalid input: {exc}") from None
            result.update(self.fix(task_vars, args))
        except Exception as exc:
            if isinstance(exc, ResultError):
                result.update(exc.result)
            if isinstance(exc, AnsibleConnectionFailure):
                result["unreachable"] = True
            else:
                result["failed"] = True
            result["msg"] = self.scrub(to_text(exc))
            if not isinstance(exc, (AnsibleActionFail, ResultError, ProbeError)):
                result["exception"] = self.scrub(traceback.format_exc())
        result["invocation"] = {"module_args": self.public_args(args or dict(self._task.args))}
        return result

    # ------------------------------------------------------------------ helpers

    def secrets(self) -> list[str]:
        """Secret values of this task (to scrub from every text we return)."""
        values = []
        for name in self.SECRET_OPTIONS:
            value = self._task.args.get(name)
            if isinstance(value, dict):
                values.extend(str(v) for v in value.values() if v)
            elif value:
                values.append(str(value))
        return [v for v in values if len(v) >= 4]

    def scrub(self, text):
        if isinstance(text, list):
            return [self.scrub(item) for item in text]
        if not isinstance(text, str):
            return text
        for secret in self.secrets():
            text = text.replace(secret, "********")
        return text

    def public_args(self, args: dict) -> dict:
        out = {}
        for key, value in (args or {}).items():
            if str(key).startswith("_"):
                continue
            if key in self.SECRET_OPTIONS:
                if isinstance(value, dict):
                    value = dict.fromkeys(value, NO_LOG_MARK)
                elif value:
                    value = NO_LOG_MARK
            out[key] = copy.deepcopy(value)
        return out

    def probe(self, task_vars: dict) -> dict:
        script = build_script({name: SECTIONS[name] for name in self.PROBE_SECTIONS})
        result = self._execute_module(
            module_name="ansible.windows.win_powershell",
            module_args={"script": script, "depth": PROBE_DEPTH},
            task_vars=task_vars,
        )
        return probe_from_result(result)

    @contextlib.contextmanager
    def _no_log(self, enabled: bool):
        """Run a module call with ``_ansible_no_log`` (ActionBase sets it from the task's no_log)."""
        if not enabled:
            yield
            return
        saved = self._task.no_log
        self._task.no_log = True
        try:
            yield
        finally:
            self._task.no_log = saved

    def module(self, name: str, args: dict, task_vars: dict, secret: bool = False) -> dict:
        """Run one module; warnings are shown; with ``secret`` the result is scrubbed and its cmd dropped."""
        with self._no_log(secret):
            result = self._execute_module(module_name=name, module_args=args, task_vars=task_vars)
        if secret:
            result = {k: self.scrub(v) for k, v in result.items() if k not in ("cmd", "invocation")}
        for warning in result.get("warnings", []) or []:
            if isinstance(warning, str):
                display.warning(self.scrub(warning))
        return result
