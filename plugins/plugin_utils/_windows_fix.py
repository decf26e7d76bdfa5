# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one base of the nine Windows fix action plugins (internal to vmbackup.azure).

validate -> probe -> assess -> allowed steps -> re-probe to verify, diff, scrubbed invocation:

- validate: the subclass's ``ARGUMENT_SPEC`` plus the common options ``probe`` and ``verify``
  (``COMMON_OPTIONS``), then ``check_args`` (ValueError -> "Invalid input: ...", before anything runs);
- probe: the gathered ``probe`` given by the caller (remediate.yml: the scan's, no remote read) or one
  run of the read-only probe with only the sections the fix plans from (``PROBE_SECTIONS``), with the
  scan's script parameters. The evaluators refuse a missing, errored or implausibly empty section
  (``plugin_utils/_probe_sections.py``): an ``error`` finding, never a plan;
- assess / steps: the subclass's ``fix(task_vars, args)``, which calls :meth:`probe` (the first call
  answers with the given probe) and :meth:`verifying` before its re-probe;
- one error path (``ResultError`` keeps what was learned), secrets scrubbed from every text
  (``SECRET_OPTIONS``), the invocation without internal keys or secret values;
- the same result keys for every fix (``RESULT_KEYS`` maps a subclass's own names onto them):
  ``changed``, ``finding``, ``before``, ``after``, ``after_predicted``, ``actions`` (what ran),
  ``not_allowed``, ``finding_after`` (when verified), ``verified`` and ``detail`` (everything specific
  to the fix), plus ``diff`` in diff mode.
"""

from __future__ import annotations

import contextlib
import copy
import traceback

from ansible.errors import AnsibleActionFail, AnsibleConnectionFailure
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display
from ansible_collections.vmbackup.azure.plugins.plugin_utils._windows_conditions import probe_parameters
from ansible_collections.vmbackup.azure.plugins.plugin_utils._windows_probe import (
    PROBE_DEPTH,
    PROBE_NAME,
    SECTIONS,
    ProbeError,
    build_script,
    probe_from_result,
)

display = Display()
NO_LOG_MARK = "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"
COMMON_OPTIONS = {
    "probe": {"type": "dict"},
    "verify": {"type": "bool", "default": True},
}
STANDARD_KEYS = ("before", "after", "after_predicted", "actions")


class ResultError(Exception):
    """Fail the task with ``msg`` and keep what was learned so far in ``result``."""

    def __init__(self, msg, **result):
        super().__init__(msg)
        self.result = result


class WindowsFixAction(ActionBase):
    """Subclasses set ``ARGUMENT_SPEC``, ``PROBE_SECTIONS``, ``RESULT_KEYS`` and implement ``fix``."""

    TRANSFERS_FILES = False
    ARGUMENT_SPEC: dict = {}
    PROBE_SECTIONS: tuple = ()
    SECRET_OPTIONS: tuple = ()
    RESULT_KEYS: dict = {}  # the subclass's key -> one of STANDARD_KEYS

    def check_args(self, args: dict) -> dict:
        """Raise ValueError naming the bad input (never a secret value)."""
        return args

    def fix(self, task_vars: dict, args: dict) -> dict:  # pragma: no cover - overridden
        raise NotImplementedError

    # ------------------------------------------------------------------ run

    def run(self, tmp=None, task_vars=None):
        self._supports_check_mode = True
        self._supports_async = False
        self._given_probe = None
        self._verify = True
        result = {}
        task_vars = task_vars or {}
        args = {}
        try:
            result = super().run(tmp, task_vars)
            del tmp
            spec = {**self.ARGUMENT_SPEC, **COMMON_OPTIONS}
            _validation, args = self.validate_argument_spec(argument_spec=spec)
            self._given_probe = args.pop("probe", None)
            self._verify = bool(args.pop("verify", True))
            try:
                args = self.check_args(args)
                self._probe_parameters = probe_parameters(self._lookup_var(task_vars))
            except ValueError as exc:  # bad input fails here, before anything runs on the host
                raise AnsibleActionFail(f"Invalid input: {exc}") from None
            if self._given_probe is not None and self._given_probe.get("probe") != PROBE_NAME:
                raise AnsibleActionFail(f"Invalid input: probe is not a {PROBE_NAME} object")
            result.update(self.standard(self.fix(task_vars, args)))
        except Exception as exc:
            if isinstance(exc, ResultError):
                result.update(self.standard(exc.result))
            if isinstance(exc, AnsibleConnectionFailure):
                result["unreachable"] = True
            else:
                result["failed"] = True
            result["msg"] = self.scrub(to_text(exc))
            if not isinstance(exc, (AnsibleActionFail, ResultError, ProbeError)):
                result["exception"] = self.scrub(traceback.format_exc())
        result["invocation"] = {"module_args": self.public_args(args or dict(self._task.args))}
        return result

    def standard(self, out: dict) -> dict:
        """The fix's result in the keys every Windows fix returns."""
        out = dict(out)
        std = {"changed": bool(out.pop("changed", False)), "finding": out.pop("finding", None)}
        for own, key in self.RESULT_KEYS.items():
            if own in out:
                std[key] = out.pop(own)
        std.setdefault("before", None)
        std.setdefault("after", std["before"])
        std.setdefault("after_predicted", False)
        std.setdefault("actions", [])
        std["not_allowed"] = out.pop("not_allowed", [])
        if "finding_after" in out:
            std["finding_after"] = out.pop("finding_after")
        std["verified"] = "finding_after" in std
        if "diff" in out:
            std["diff"] = out.pop("diff")
        std["detail"] = out
        return std

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def warn_not_run(task_vars: dict, code: str, steps: list[str]) -> None:
        """One warning naming the steps the options held back (each ``<action> <target> (<reason>)``)."""
        if steps:
            display.warning(f"{task_vars.get('inventory_hostname')}: {code} steps not run: " + "; ".join(steps))

    @staticmethod
    def fix_diff(what: str, before: str, after: str, predicted: bool = False) -> dict:
        """The ``diff`` of a fix: ``what`` before and after, the after marked predicted when it was not probed."""
        return {
            "before_header": f"{what} (before)",
            "after_header": f"{what} (after)" + (" (predicted)" if predicted else ""),
            "before": before,
            "after": after,
        }

    def verifying(self) -> bool:
        """Whether to re-probe after the changes (``verify``; with false the caller's final scan verifies)."""
        return self._verify

    def _lookup_var(self, task_vars):
        def lookup_var(name):
            if name not in task_vars:
                raise KeyError(name)
            return self._templar.template(task_vars[name])

        return lookup_var

    def probe(self, task_vars, sections=None) -> dict:
        """The probe: the given one on the first call (no remote read), else one run with ``sections``
        (default ``PROBE_SECTIONS``; all sections when the fix names none)."""
        if self._given_probe is not None:
            given, self._given_probe = self._given_probe, None
            return copy.deepcopy(given)
        names = sections or self.PROBE_SECTIONS
        script = build_script({name: SECTIONS[name] for name in names}) if names else build_script()
        module_args = {"script": script, "depth": PROBE_DEPTH}
        if getattr(self, "_probe_parameters", None):
            module_args["parameters"] = dict(self._probe_parameters)
        result = self._execute_module(
            module_name="ansible.windows.win_powershell", module_args=module_args, task_vars=task_vars
        )
        return probe_from_result(result)

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
            if str(key).startswith("_") or key == "probe":
                continue
            if key in self.SECRET_OPTIONS:
                if isinstance(value, dict):
                    value = dict.fromkeys(value, NO_LOG_MARK)
                elif value:
                    value = NO_LOG_MARK
            out[key] = copy.deepcopy(value)
        return out

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

    def run_module(self, name: str, args: dict, task_vars: dict, secret: bool = False) -> dict:
        """Run one module; warnings are shown; with ``secret`` the result is scrubbed and its cmd dropped."""
        with self._no_log(secret):
            result = self._execute_module(module_name=name, module_args=args, task_vars=task_vars)
        if secret:
            result = {k: self.scrub(v) for k, v in result.items() if k not in ("cmd", "invocation")}
        for warning in result.get("warnings", []) or []:
            if isinstance(warning, str):
                display.warning(self.scrub(warning))
        return result
