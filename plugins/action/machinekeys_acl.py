# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for vmbackup.azure.machinekeys_acl (fix for ExtensionConfigParsingFailure).

Probe the MachineKeys SDDL and LocalMachine\\My (read-only), plan from the SDDL with the scan's
evaluator (``_machinekeys.py``), then drive ``ansible.windows.win_owner``,
``win_acl_inheritance``, ``win_acl`` and ``win_certificate_store`` - each owns check mode.
"""

from __future__ import annotations

from ansible_collections.vmbackup.azure.plugins.plugin_utils._machinekeys import (
    DEFAULT_SDDL,
    assess_machinekeys,
)
from ansible_collections.vmbackup.azure.plugins.plugin_utils._security_fix import (
    ResultError,
    SecurityFixAction,
)

ACL_ROUNDS = 3  # remove/re-plan rounds: RemoveAccessRule may strip a default entry that must be re-added
ARGUMENT_SPEC = {
    "reset_acl": {"type": "bool", "default": False},
    "delete_certificates": {"type": "bool", "default": False},
}


def _certs_text(certs) -> str:
    return "".join(f"{c.get('thumbprint')} {c.get('subject')}\n" for c in certs or [])


class ActionModule(SecurityFixAction):
    ARGUMENT_SPEC = ARGUMENT_SPEC
    _VALID_ARGS = frozenset(ARGUMENT_SPEC) | {"probe", "verify"}
    PROBE_SECTIONS = ("machinekeys_acl", "certificates_my")
    RESULT_KEYS = {
        "sddl_before": "before",
        "sddl_after": "after",
        "sddl_after_predicted": "after_predicted",
        "acl_steps": "actions",
    }

    def fix(self, task_vars, args):
        probe = self.probe(task_vars)
        finding, plan = assess_machinekeys(probe, args)
        out = {"changed": False, "finding": finding}
        if finding["status"] == "error":
            raise ResultError(finding["detail"], **out)
        certs = probe.get("certificates_my") or []
        out.update(
            path=plan["path"],
            sddl_before=plan["sddl"],
            sddl_after=plan["sddl"],
            sddl_after_predicted=False,
            extension_certificates=[c.get("thumbprint") for c in plan["extension_certificates"]],
            certificates_deleted=[],
            acl_steps=[],
            not_allowed=[a for a in finding["actions"] if not a["allowed"]],
        )
        if finding["status"] == "pass":
            return out
        if plan["manual"] and plan["reset_acl"]:
            # nothing half-changed: refuse before the first module runs
            raise ResultError(
                "the MachineKeys ACL has entries ansible.windows.win_acl cannot match; remove them by hand, then run"
                " again: " + "; ".join(f"{m['ace']} ({m['hint']})" for m in plan["manual"]),
                **out,
            )
        if plan["reset_allowed"]:
            current = plan
            for _round in range(ACL_ROUNDS):
                for step in current["steps"]:
                    res = self.module(step["module"], step["args"], task_vars)
                    if res.get("failed"):
                        raise ResultError(f"{step['action']} failed ({step['module']}): {res.get('msg')}", **out)
                    out["acl_steps"].append(
                        {"action": step["action"], "ace": step.get("ace"), "changed": bool(res.get("changed"))}
                    )
                    out["changed"] = out["changed"] or bool(res.get("changed"))
                # The plan re-adds every default entry a removal may strip (assess_machinekeys). The re-read
                # below only double-checks that, for a fix run on its own (verify: true); under remediate
                # (verify: false) the final scan verifies instead.
                if (
                    self._task.check_mode
                    or not self.verifying()
                    or not any(s.get("may_strip_default") for s in current["steps"])
                ):
                    break
                # win_acl state=absent is .NET RemoveAccessRule (win_acl.ps1 lines 272-276): it subtracts the
                # rights from every explicit ACE of that SID whose scope overlaps, default entries included.
                # Re-read the ACL and re-plan (re-adds what was stripped) until nothing is left to do.
                again_finding, current = assess_machinekeys(self.probe(task_vars), args)
                if current is None:
                    raise ResultError(f"re-reading the ACL after the removals: {again_finding['detail']}", **out)
                if not current["steps"]:
                    break
        if plan["delete_allowed"]:
            for step in plan["certificate_steps"]:
                res = self.module(step["module"], step["args"], task_vars)
                if res.get("failed"):
                    raise ResultError(
                        f"deleting certificate {step['args']['thumbprint']} failed: {res.get('msg')}", **out
                    )
                if res.get("changed"):
                    out["certificates_deleted"].append(step["args"]["thumbprint"])
                    out["changed"] = True
        after_certs = certs
        if self._task.check_mode:
            if plan["reset_allowed"]:
                out["sddl_after"] = plan["predicted_sddl"]
                out["sddl_after_predicted"] = True
            deleted = set(out["certificates_deleted"])
            after_certs = [c for c in certs if str(c.get("thumbprint", "")).upper() not in deleted]
        elif out["changed"] and self.verifying():
            after = self.probe(task_vars)
            after_finding, after_plan = assess_machinekeys(after, args)
            out["finding_after"] = after_finding
            out["sddl_after"] = after_plan["sddl"] if after_plan else None
            after_certs = after.get("certificates_my") or []
            if plan["reset_allowed"] and (after_plan is None or after_plan["acl_bad"]):
                raise ResultError(
                    f"the MachineKeys ACL is still not the default {DEFAULT_SDDL} after the reset:"
                    f" {after_finding['detail']}",
                    **out,
                )
        self.warn_not_run(
            task_vars,
            "ExtensionConfigParsingFailure",
            [f"{a['action']} ({a.get('reason')})" for a in out["not_allowed"]],
        )
        if self._task.diff:
            out["diff"] = self.fix_diff(
                f"{plan['path']} SDDL and LocalMachine\\My",
                f"{plan['sddl']}\n" + _certs_text(certs),
                f"{out['sddl_after']}\n" + _certs_text(after_certs),
                predicted=self._task.check_mode,
            )
        return out
