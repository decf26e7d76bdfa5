# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared skeleton of the probe-driven Windows fix action plugins (internal to vmbackup.azure).

Read -> decide -> act, as ``vss_writers`` does: validate the options before anything runs on the
host, run the one read-only probe with the same script parameters as the scan
(``_conditions.probe_parameters``), decide in Python with the scan's evaluator, then drive
ansible.windows modules. A helper raises; ``run()`` turns the exception into the task result.
"""

from __future__ import annotations

import copy
import traceback

from ansible.errors import AnsibleActionFail, AnsibleConnectionFailure
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display
from ansible_collections.vmbackup.azure.plugins.module_utils._conditions import probe_parameters
from ansible_collections.vmbackup.azure.plugins.plugin_utils._windows_probe import (
    ProbeError,
    probe_args,
    probe_from_result,
)

display = Display()


class ResultError(Exception):
    """Fail the task with ``msg`` and keep what was learned so far in ``result``."""

    def __init__(self, msg, **result):
        super().__init__(msg)
        self.result = result


class GuestFixAction(ActionBase):
    """Subclasses set ``ARGUMENT_SPEC`` and implement ``check_args(args)`` and ``fix(task_vars, args)``."""

    TRANSFERS_FILES = False
    ARGUMENT_SPEC: dict = {}

    def check_args(self, args: dict) -> dict:  # pragma: no cover - overridden
        return args

    def fix(self, task_vars: dict, args: dict) -> dict:  # pragma: no cover - overridden
        raise NotImplementedError

    def run(self, tmp=None, task_vars=None):
        self._supports_check_mode = True
        self._supports_async = False
        result = {}
        task_vars = task_vars or {}
        try:
            result = super().run(tmp, task_vars)
            del tmp
            _validation, args = self.validate_argument_spec(argument_spec=self.ARGUMENT_SPEC)
            try:
                args = self.check_args(args)
                self._probe_parameters = probe_parameters(self._lookup_var(task_vars))
            except ValueError as exc:  # bad input fails here, before anything runs on the host
                raise AnsibleActionFail(f"Invalid input: {exc}") from None
            result.update(self.fix(task_vars, args))
            result["invocation"] = {"module_args": args}
        except Exception as exc:
            if isinstance(exc, ResultError):
                result.update(exc.result)
            if isinstance(exc, AnsibleConnectionFailure):
                result["unreachable"] = True
            else:
                result["failed"] = True
            result["msg"] = to_text(exc)
            if not isinstance(exc, (AnsibleActionFail, ResultError, ProbeError)):
                result["exception"] = traceback.format_exc()
        if "invocation" in result:
            args = result["invocation"].get("module_args", {}) or {}
            result["invocation"] = {
                "module_args": {k: copy.deepcopy(v) for k, v in args.items() if not k.startswith("_")}
            }
        return result

    # ------------------------------------------------------------------ helpers

    def _lookup_var(self, task_vars):
        def lookup_var(name):
            if name not in task_vars:
                raise KeyError(name)
            return self._templar.template(task_vars[name])

        return lookup_var

    def probe(self, task_vars) -> dict:
        module_result = self._execute_module(
            module_name="ansible.windows.win_powershell",
            module_args=probe_args(self._probe_parameters),
            task_vars=task_vars,
        )
        return probe_from_result(module_result)

    def module(self, task_vars, name: str, args: dict, what: str, out: dict) -> dict:
        """Run a Windows module; a failure fails the task naming ``what``, keeping ``out``."""
        module_result = self._execute_module(module_name=name, module_args=args, task_vars=task_vars)
        for warning in module_result.get("warnings", []) or []:
            if isinstance(warning, str):
                display.warning(warning)
        if module_result.get("failed"):
            msg = module_result.get("msg") or f"{name} failed"
            raise ResultError(f"failed to {what}: {msg}", **out)
        return module_result
