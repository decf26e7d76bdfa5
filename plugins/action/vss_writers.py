# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for vmbackup.azure.vss_writers (fix for ExtensionFailedVssWriterInBadState).

Read -> decide -> act, as ansible.windows' win_updates/win_reboot do: one read-only
win_powershell probe (runs in check mode too), the plan in Python on the controller (the same
evaluator the scan uses), then ansible.windows.win_service ``state: restarted`` per allowed
service. The remote module owns check mode; this plugin only gates its own second probe.
"""

from __future__ import annotations

import time

from ansible.utils.display import Display
from ansible_collections.vmbackup.azure.plugins.plugin_utils._vss import (
    STABLE,
    assess_vss,
    normalize_extra_map,
    state_text,
)
from ansible_collections.vmbackup.azure.plugins.plugin_utils._windows_fix import ResultError, WindowsFixAction

display = Display()

ARGUMENT_SPEC = {
    "restart": {"type": "bool", "default": False},
    "allowed_services": {"type": "list", "elements": "str"},
    "extra_writer_services": {
        "type": "list",
        "elements": "dict",
        "default": [],
        "options": {
            "name": {"type": "str"},
            "writer_id": {"type": "str"},
            "service": {"type": "str", "required": True},
            "disruptive": {"type": "bool"},
        },
        "required_one_of": [["name", "writer_id"]],
    },
    "force_dependent_services": {"type": "bool", "default": False},
    "settle_timeout": {"type": "int", "default": 30},
    "waiting_recheck": {"type": "int", "default": 0},
}

# Seconds between probes while waiting for restarted writers to report stable again.
SETTLE_INTERVAL = 5


def _writers_text(writers):
    if not writers:
        return ""
    return "".join(f"{w['name']} {{{w['writer_id']}}}: {state_text(w)}\n" for w in writers)


class ActionModule(WindowsFixAction):
    ARGUMENT_SPEC = ARGUMENT_SPEC
    _VALID_ARGS = frozenset(ARGUMENT_SPEC) | {"probe", "verify"}
    # extension_status: no restart while the VMSnapshot extension reports a running operation
    PROBE_SECTIONS = ("vssadmin", "services", "extension_status")
    RESULT_KEYS = {
        "writers_before": "before",
        "writers_after": "after",
        "writers_after_predicted": "after_predicted",
        "restarted_services": "actions",
    }

    def check_args(self, args):
        try:
            normalize_extra_map(_rows_without_none(args["extra_writer_services"]))
        except ValueError as exc:
            raise ValueError(f"extra_writer_services: {exc}") from None
        return args

    def fix(self, task_vars, args):
        return self._run(task_vars, args)

    def _restart(self, task_vars, service, force_dependent_services):
        return self.run_module(
            "ansible.windows.win_service",
            {"name": service, "state": "restarted", "force_dependent_services": force_dependent_services},
            task_vars,
        )

    def _run(self, task_vars, args):
        host = task_vars.get("inventory_hostname")
        options = {
            "restart": args["restart"],
            "allowed_services": args["allowed_services"],
            "extra_writer_services": _rows_without_none(args["extra_writer_services"]),
            "force_dependent_services": args["force_dependent_services"],
        }
        probe = self.probe(task_vars)
        finding, writers, plan = assess_vss(probe, options)
        out = {"changed": False, "finding": finding}
        if finding["status"] == "error":
            raise ResultError(finding["detail"], **out)
        if args["waiting_recheck"] > 0 and any(a.get("in_progress") for a in plan["actions"]):
            # Writers in states 2-5 are a snapshot in progress unless they persist minutes apart.
            time.sleep(args["waiting_recheck"])
            probe = self.probe(task_vars)
            again_finding, again, _again_plan = assess_vss(probe, options)
            if again is None:
                raise ResultError(f"re-probe of waiting writers: {again_finding['detail']}", **out)
            first = {w["name"]: w["state"] for w in writers}
            options["persisting_writers"] = [
                w["name"] for w in again if w["name"] in plan["waiting_writers"] and first.get(w["name"]) == w["state"]
            ]
            finding, writers, plan = assess_vss(probe, options)  # decided from the second probe
            out["finding"] = finding
            if finding["status"] == "error":
                raise ResultError(finding["detail"], **out)

        not_allowed = [
            {k: a[k] for k in ("service", "writers", "disruptive", "reason")}
            for a in plan["actions"]
            if not a["allowed"]
        ]
        # A writer with no trusted service mapping is a restart not done too: reported, never guessed
        # (field-notes section 4), so callers see the fix held it back rather than failed on it.
        not_allowed += [
            {
                "service": None,
                "writers": [w["name"]],
                "disruptive": False,
                "reason": "no trusted writer-to-service mapping: reported, never guessed",
            }
            for w in plan["unmapped"]
        ]
        out.update(
            {
                "writers_before": writers,
                "writers_after": writers,
                "writers_after_predicted": False,
                "restarted_services": [],
                "unmapped_writers": plan["unmapped"],
                "not_allowed": not_allowed,
                "missing_services": plan["missing_services"],
            }
        )

        restarted = []
        for action in plan["actions"]:
            if not action["allowed"]:
                continue
            display.vv(f"vss_writers: restarting {action['service']} for {action['writers']}", host=host)
            module_result = self._restart(task_vars, action["service"], args["force_dependent_services"])
            if module_result.get("failed"):
                out["restarted_services"] = restarted
                out["changed"] = bool(restarted)
                msg = module_result.get("msg") or "win_service failed"
                raise ResultError(f"failed to restart {action['service']}: {msg}", **out)
            if module_result.get("changed"):
                restarted.append(action["service"])
                out["changed"] = True
        out["restarted_services"] = restarted

        fixed = {name for action in plan["actions"] if action["service"] in restarted for name in action["writers"]}
        if restarted and (self._task.check_mode or not self.verifying()):
            # Nothing ran on the host (or the caller verifies): predict that the restarted services' writers
            # become stable.
            out["writers_after"] = [
                dict(w, state=STABLE, last_error="") if w["name"] in fixed and w["state"] != STABLE else w
                for w in writers
            ]
            out["writers_after_predicted"] = True
        elif restarted:
            # A restarted service's writers re-register within seconds on real Windows, not at once:
            # probe again until they are stable or settle_timeout runs out.
            deadline = time.monotonic() + args["settle_timeout"]
            while True:
                after_finding, after_writers, _after_plan = assess_vss(self.probe(task_vars), options)
                if after_writers is None:
                    raise ResultError(f"after restarting {', '.join(restarted)}: {after_finding['detail']}", **out)
                # A writer not listed after its service restarted has not re-registered (yet): not recovered.
                listed = {w["name"] for w in after_writers}
                still = [w for w in after_writers if w["name"] in fixed and w["state"] != STABLE]
                still += [dict(w, state=None, last_error="not listed") for w in writers if w["name"] in fixed - listed]
                remaining = deadline - time.monotonic()
                if not still or remaining <= 0:
                    break
                time.sleep(min(SETTLE_INTERVAL, remaining))
            out["writers_after"] = after_writers
            out["finding_after"] = after_finding
            if still:
                raise ResultError(
                    f"writers still not stable {args['settle_timeout']} s after restarting {', '.join(restarted)}: "
                    + ", ".join(
                        f"'{w['name']}' " + (state_text(w) if w["state"] is not None else "not listed by vssadmin")
                        for w in still
                    ),
                    **out,
                )

        left = [w for w in out["writers_after"] if w["state"] != STABLE]
        if left:
            why = _why_left(plan)
            display.warning(
                f"{host}: VSS writers left not stable: "
                + "; ".join(f"'{w['name']}' ({why.get(w['name'], 'not planned')})" for w in left)
            )
        if self._task.diff:
            out["diff"] = self.fix_diff(
                "vss writers",
                _writers_text(writers),
                _writers_text(out["writers_after"]),
                out["writers_after_predicted"],
            )
        return out


def _why_left(plan):
    """writer name -> why the plan does not restart its service."""
    why = {}
    for action in plan["actions"]:
        if not action["allowed"]:
            for name in action["writers"]:
                why[name] = f"{action['service']} not restarted: {action['reason']}"
    for entry in plan["missing_services"]:
        for name in entry["writers"]:
            why[name] = f"service {entry['service']} is not installed"
    for writer in plan["unmapped"]:
        why[writer["name"]] = "no trusted service mapping: reported, never guessed"
    return why


def _rows_without_none(rows):
    """Sub-options not given come back as None from validation; the map wants them absent."""
    return [{k: v for k, v in row.items() if v is not None} for row in rows or []]
