# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for vmbackup.azure.backup_scan: one gather per host, every check in Python."""

from __future__ import annotations

import json

from ansible.errors import AnsibleConnectionFailure, AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible_collections.vmbackup.azure.plugins.module_utils._catalog import lookup, normalize_codes
from ansible_collections.vmbackup.azure.plugins.plugin_utils._checks import (
    checks_for,
    evaluate,
    evaluation_error,
    families,
    not_applicable,
    options_from_vars,
)
from ansible_collections.vmbackup.azure.plugins.plugin_utils._controls import (
    ControlError,
    apply_waivers,
    controls,
    select_by_tags,
)
from ansible_collections.vmbackup.azure.plugins.plugin_utils._guest_os import GuestOsError, guest_os
from ansible_collections.vmbackup.azure.plugins.plugin_utils._redact import redact
from ansible_collections.vmbackup.azure.plugins.plugin_utils._role_vars import RoleVarsError
from ansible_collections.vmbackup.azure.plugins.plugin_utils._windows_conditions import (
    probe_parameters,
    validate_endpoint_names,
)
from ansible_collections.vmbackup.azure.plugins.plugin_utils._windows_probe import (
    ProbeError,
    probe_args,
    probe_from_result,
)

ARGUMENT_SPEC = {
    "codes": {"type": "list", "elements": "str", "default": []},
    "options": {"type": "dict", "default": {}},
    "return_probe": {"type": "bool", "default": False},
}


class ScanError(Exception):
    """The gather step failed; every selected check reports status error."""


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = True

    def _os_family(self, task_vars: dict) -> str:
        # The collection's one OS detector (plugin_utils/_guest_os.py): vmbackup_os first, then the shell the
        # connection really uses (powershell or cmd: Windows, as ansible.windows tells them), as guest_os does.
        host_vars = {name: task_vars[name] for name in ("vmbackup_os",) if name in task_vars}
        if host_vars:
            host_vars["vmbackup_os"] = self._templar.template(host_vars["vmbackup_os"])
        return guest_os(host_vars, getattr(self._connection._shell, "SHELL_FAMILY", "") or "sh")

    def _gather_windows(self, task_vars: dict, parameters: dict | None = None) -> dict:
        res = self._execute_module(
            module_name="ansible.windows.win_powershell",
            module_args=probe_args(parameters),
            task_vars=task_vars,
        )
        try:
            return probe_from_result(res)
        except ProbeError as exc:
            raise ScanError(str(exc)) from None

    def _gather_linux(self, task_vars: dict, options: dict) -> dict:
        fs_opts = options.get("UserErrorFsFreezeFailed") or {}
        args = {}
        if fs_opts.get("mounts"):
            args["ext_mounts"] = fs_opts["mounts"]
        # the paths the fix roles use; the names and the Azure-only switch of the report-only conditions
        if (options.get("ExtensionFailedSnapshotLimitReachedError") or {}).get("path"):
            args["vmbackup_conf_path"] = options["ExtensionFailedSnapshotLimitReachedError"]["path"]
        if (options.get("VmAgentNotRunning") or {}).get("conf_path"):
            args["waagent_conf_path"] = options["VmAgentNotRunning"]["conf_path"]
        names = (options.get("AzureEndpointUnreachable") or {}).get("azure_endpoint_names")
        if names:
            try:
                args["azure_endpoint_names"] = validate_endpoint_names(names)
            except ValueError as exc:
                raise ScanError(str(exc)) from None
        if "vmbackup_azure_only" in task_vars:
            args["azure_only"] = boolean(self._templar.template(task_vars["vmbackup_azure_only"]), strict=False)
        res = self._execute_module(
            module_name="vmbackup.azure.linux_backup_facts",
            module_args=args,
            task_vars=task_vars,
        )
        if res.get("failed"):
            raise ScanError(f"linux_backup_facts failed: {res.get('msg')}")
        return (res.get("ansible_facts") or {}).get("vmbackup_linux") or {}

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}

        dummy, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        try:
            # the codes as given (before the list conversion of the argument spec), read as remediate.yml
            # reads them: blank means every code, a string of separators is refused (normalize_codes)
            args["codes"] = normalize_codes(self._task.args.get("codes"))
            for code in args["options"]:
                lookup(code)
        except ValueError as exc:
            result.update(failed=True, msg=f"codes: {to_text(exc)}")
            return result
        except KeyError as exc:
            result.update(failed=True, msg=to_text(exc.args[0] if exc.args else exc))
            return result
        explicit = {lookup(code)["code"]: value for code, value in args["options"].items()}
        checks = checks_for(args["codes"])

        def lookup_var(name):
            if name not in task_vars:
                raise KeyError(name)
            return self._templar.template(task_vars[name])

        # Switched-off codes and codes left out by --tags/--skip-tags are not evaluated at all;
        # waived codes are evaluated and carry their waiver (plugins/plugin_utils/_controls.py).
        try:
            found = controls(lookup_var, list(task_vars))
        except ControlError as exc:
            result.update(failed=True, msg=to_text(exc))
            return result
        selected = select_by_tags(list(checks), task_vars.get("ansible_run_tags"), task_vars.get("ansible_skip_tags"))
        checks = {code: check for code, check in checks.items() if code in selected and code not in found["disabled"]}

        # What each fix role would do with this host's variables; explicit options win.
        # Typed by the role's argument spec, as the role reads them; a value that does not fit makes
        # that code's finding an error naming the variable (the role would refuse it too).
        options, bad_options = {}, {}
        for code in checks:
            try:
                options[code] = options_from_vars(code, lookup_var)
            except RoleVarsError as exc:
                options[code], bad_options[code] = {}, exc
            options[code].update(explicit.get(code) or {})

        try:
            os_family = self._os_family(task_vars)
        except GuestOsError as exc:
            result.update(failed=True, msg=to_text(exc))
            return result
        wanted = {family for spec in checks.values() for family in families(spec)}
        executions = 0
        gathered = None
        try:
            if os_family not in wanted:
                gathered = {}
            elif os_family == "windows":
                executions += 1
                # the same script parameters as every fix plugin's probe (vmbackup_azure_endpoint_names, ...)
                try:
                    parameters = probe_parameters(lookup_var)
                except ValueError as exc:
                    raise ScanError(str(exc)) from None
                gathered = self._gather_windows(task_vars, parameters)
            else:
                executions += 1
                gathered = self._gather_linux(task_vars, options)
            findings = evaluate(checks, os_family, gathered, options)
        except AnsibleConnectionFailure:
            raise  # the host is unreachable: Ansible reports it so, and so does the report
        except (ScanError, AnsibleError) as exc:
            gathered = None
            findings = [
                evaluation_error(code, exc) if os_family in families(spec) else not_applicable(code, os_family)
                for code, spec in checks.items()
            ]

        findings = [
            evaluation_error(f["error_code"], bad_options[f["error_code"]])
            if f["error_code"] in bad_options and f["status"] != "not_applicable"
            else f
            for f in findings
        ]
        findings = redact(apply_waivers(findings, found["waivers"]))  # no signed URL in the fix text
        for finding in findings:
            entry = lookup(finding["error_code"])
            finding.setdefault("doc_url", entry.get("doc_url", ""))
        failing = [f for f in findings if f["status"] == "fail" and not f.get("waiver", {}).get("active")]
        result.update(
            changed=False,
            os_family=os_family,
            findings=findings,
            remote_executions=executions,
            failing=sorted(f["error_code"] for f in failing),
            fixable=sorted(fixable_codes(failing)),
            disabled=found["disabled"],
        )
        if gathered is not None and args["return_probe"]:
            # What the findings were decided from, for remediate.yml to hand to the fix roles (gather once).
            result["probe"] = gathered
        return result


def fixable(finding: dict) -> bool:
    """A failing finding whose plan has a step the host's variables allow: its fix role would change something."""
    return any(action.get("allowed", True) for action in finding.get("actions") or [] if isinstance(action, dict))


def fixable_codes(failing: list[dict]) -> list[str]:
    """The fixable codes, once per plan: codes checked by one evaluator (the four agent codes) plan the same
    steps, and a second role would only repeat them; the verify scan reports every code."""
    codes, plans = [], set()
    for finding in failing:
        plan = json.dumps(finding.get("actions"), sort_keys=True, default=str)
        if fixable(finding) and plan not in plans:
            plans.add(plan)
            codes.append(finding["error_code"])
    return codes
