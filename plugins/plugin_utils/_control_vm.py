# Copyright: (c) 2026, vmbackup.azure contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The VM control-plane fixes, decided on the controller from one REST read of the VM (pure Python).

The roles of UserErrorVmProvisioningStateFailed, UserErrorVmNotInDesirableState, AzureVmOffline and NoVmAgent
read the VM with ``azure.azcollection.azure_rm_resource_info`` (GET ``.../virtualMachines/<vm>`` with
``$expand=instanceView``: the model with ``osProfile`` and ``properties.instanceView``, the shape of the
scan's ``VirtualMachines_ListAll``), decide here with the scan's own evaluator (``_control.vm_findings``), and
change with azure.azcollection's modules only what the plan lists. ``azure_rm_virtualmachine_info`` is not
used for this: its ``serialize_vm`` drops the VM agent's statuses, the extensions' statuses and ``osProfile``
and blanks ``power_state`` when ``ProvisioningState/failed`` comes first in the statuses (azure.azcollection
3.21.0 azure/azcollection/plugins/modules/azure_rm_virtualmachine_info.py lines 483-545).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from ansible_collections.vmbackup.azure.plugins.plugin_utils._control import (
    POWER_STABLE,
    POWER_TRANSITIONAL,
    ControlError,
    _provision_agent_finding,
    _status,
    control_finding,
    vm_findings,
)

CODES = ("UserErrorVmProvisioningStateFailed", "UserErrorVmNotInDesirableState", "AzureVmOffline", "NoVmAgent")
RANK = {"not_applicable": 0, "pass": 1, "fail": 2, "error": 3}
RETRYABLE = (429, 500, 502, 503, 504)  # an ARM answer worth sending again (throttled, server side)
_HTTP = re.compile(r"(?:\b|\()(?P<status>[1-5]\d\d)\)?\s*$")


def http_status(result):
    """The HTTP status of a failed azure.azcollection REST call (0 when none is known).

    azure_rm_resource_info answers 404 as ``status_code`` (it accepts [200, 404], azure_rm_resource_info.py line 455);
    any other answer is raised by GenericRestClient.on_error as ``SendRequestException(text, status_code)``
    (azure.azcollection 3.21.0 azure/azcollection/plugins/module_utils/azure_rm_common_rest.py lines 96-122),
    which the module does not catch: the task fails with the traceback, whose last line ends in ``..., <status>)``.
    """
    if not isinstance(result, Mapping):
        return 0
    if isinstance(result.get("status_code"), int) and not result.get("failed"):
        return result["status_code"]
    for key in ("exception", "module_stderr", "msg"):
        text = str(result.get(key) or "").strip()
        lines = [line for line in text.splitlines() if "SendRequestException" in line] or text.splitlines()[-1:]
        match = _HTTP.search(lines[-1]) if lines else None
        if match:
            return int(match["status"])
    return 0


def http_answer(result):
    """A short, secret-free description of what Azure answered to a failed call: the status and the error code."""
    status = http_status(result)
    text = " ".join(str((result or {}).get(k) or "") for k in ("exception", "module_stderr", "msg"))
    code = re.search(r'\\?"code\\?"\s*:\s*\\?"(?P<code>[A-Za-z]+)', text)
    parts = [f"HTTP {status}" if status else "no HTTP answer"]
    if code:
        parts.append(code["code"])
    return " ".join(parts)


def retry_done(result):
    """For a task's ``until``: stop when it succeeded or failed for a reason a retry does not cure.

    When ``until`` is evaluated, ansible-core 2.21 hands over a failed module result without its ``msg`` (seen:
    only ``failed``, ``exception: (traceback unavailable)``, ``attempts``), so the status of the answer is often not
    known yet: such a failure is retried too (the tasks bound it to 3 retries).
    """
    if not (isinstance(result, Mapping) and result.get("failed")):
        return True
    status = http_status(result)
    return bool(status) and status not in RETRYABLE


def read_vm(result, vm):
    """The VM in the REST shape of VirtualMachines_ListAll from a registered azure_rm_resource_info result.

    The role reads ``.../virtualMachines/<vm>/instanceView`` (VirtualMachineInstanceView: ``statuses``), which is
    returned as ``{"properties": {"instanceView": <view>}}``, or for NoVmAgent the VM itself (VirtualMachine:
    ``properties.osProfile``), returned as it is.
    """
    if not isinstance(result, Mapping):
        raise ControlError(f"VM {vm} could not be read: no result")
    body = (result.get("response") or [None])[0] if isinstance(result.get("response"), Sequence) else None
    # a wait whose ``until`` ran out is marked failed by ansible-core, but its last read is the module's answer
    if result.get("failed") and not (result.get("status_code") == 200 and isinstance(body, Mapping)):
        raise ControlError(f"VM {vm} could not be read: Azure answered {http_answer(result)}")
    if result.get("status_code") == 404:
        raise ControlError(f"VM {vm} was not found in Azure (HTTP 404): nothing was decided or changed")
    if isinstance(body, Mapping) and isinstance(body.get("statuses"), Sequence):
        return {"properties": {"instanceView": body}}
    if isinstance(body, Mapping) and isinstance(body.get("properties"), Mapping) and "osProfile" in body["properties"]:
        return body
    if isinstance(body, Mapping) and body.get("type") and isinstance(body.get("properties"), Mapping):
        return body  # a VM created from a specialized disk has no osProfile
    raise ControlError(f"VM {vm}: Azure returned neither an instance view nor the VM; nothing was decided")


def power_state(result, settled=False):
    """The VM's power state (``running``, ``stopping`` ...) from a registered read, '' when it cannot be told.

    ``settled``: '' while the provisioning state is ``updating`` (an operation such as the restart still runs: the
    power state read then may be the one from before it).
    """
    try:
        view = read_vm(result, "?")["properties"].get("instanceView")
    except ControlError:
        return ""
    if not isinstance(view, Mapping) or (settled and _status(view, "ProvisioningState") == "updating"):
        return ""
    return _status(view, "PowerState")


def failed_extensions(body):
    """Names of the extensions whose instance view reports ProvisioningState/failed, in Azure's order."""
    view = body["properties"].get("instanceView") or {}
    return [
        str(ext.get("name"))
        for ext in view.get("extensions") or []
        if isinstance(ext, Mapping) and _status(ext, "ProvisioningState") == "failed"
    ]


def _not_configured(code, vm):
    detail = (
        f"not checked in Azure: the control plane is not configured for {vm} (set vmbackup_azure_resource_group,"
        " and vmbackup_azure_vm_name when the VM's name differs from the inventory name)"
    )
    return {"finding": control_finding(code, "not_applicable", detail), "remove": [], "restart": False, "wait": False,
            "diff": {"before": {}, "after": {}}}  # fmt: skip


def _summary(body):
    view = body["properties"].get("instanceView")
    if not isinstance(view, Mapping):  # the model (NoVmAgent): what it says about the agent
        config = body["properties"].get("osProfile") or {}
        config = config.get("windowsConfiguration") or config.get("linuxConfiguration") or {}
        return {"provision_vm_agent": config.get("provisionVMAgent")}
    return {
        "provisioning_state": _status(view, "ProvisioningState"),
        "power_state": _status(view, "PowerState"),
        "failed_extensions": failed_extensions(body),
    }


def vm_plan(result, vm, code, remove=False, restart=False, opt_in_remove="", opt_in_restart="", waited=None):
    """What to do for one VM and one of ``CODES``: ``{finding, remove, restart, wait, diff}``.

    ``result`` is the registered azure_rm_resource_info read (None: the host names no resource group, so
    not_applicable and nothing read). ``remove`` / ``restart`` are the opt-ins (false in check mode: the plan then
    says what would be done). ``waited``: the read made after waiting for a transitional power state to end.
    A read that failed, a VM not found or a view without the data is an error naming the VM, never a guess.
    """
    if code not in CODES:
        raise ControlError(f"{code} is not a VM control-plane code ({', '.join(CODES)})")
    if result is None:
        return _not_configured(code, vm)
    try:
        body = read_vm(result, vm)
    except ControlError as exc:
        return {"finding": control_finding(code, "error", str(exc)), "remove": [], "restart": False, "wait": False,
                "diff": {"before": {}, "after": {}}}  # fmt: skip
    before = _summary(body)
    plan = {"remove": [], "restart": False, "wait": False, "diff": {"before": before, "after": before}}
    if code == "UserErrorVmProvisioningStateFailed":
        return {**plan, **_provisioning_plan(body, vm, before, remove, restart, opt_in_remove, opt_in_restart)}
    if code == "UserErrorVmNotInDesirableState":
        return {**plan, **_power_plan(body, vm, before, waited)}
    if code == "NoVmAgent":
        return {**plan, "finding": _provision_agent_finding(body, vm)}
    finding = next(f for f in vm_findings(body, vm) if f["error_code"] == code)
    return {**plan, "finding": finding}


def _provisioning_plan(body, vm, before, remove, restart, opt_in_remove, opt_in_restart):
    finding = next(f for f in vm_findings(body, vm) if f["error_code"] == CODES[0])
    if finding["status"] != "fail":
        return {"finding": finding}
    failed = before["failed_extensions"]
    removing = failed if remove else []
    # Microsoft's order: remove the failed extension, then restart. A restart while a failed extension stays
    # would leave the VM failed again, so it is held back until none is left (or they are removed in this run);
    # Azure restarts only a running VM (a stopped one is started by its owner, not by this role).
    running = before["power_state"] == "running"
    restart_allowed = bool(restart) and (not failed or bool(remove)) and running
    actions = [
        {"action": "remove_extension", "extension": name, "disruptive": True, "allowed": bool(remove)}
        for name in failed
    ]
    actions.append({"action": "restart_vm", "vm": vm, "disruptive": True, "allowed": restart_allowed})
    steps = []
    if failed:
        steps.append(("remove the failed extension(s) " + ", ".join(failed), bool(remove), opt_in_remove))
    steps.append((f"restart VM {vm}", restart_allowed, opt_in_restart))
    fix = "; then ".join(
        text if allowed else f"would {text} -- set {opt or 'the opt-in'}: true" for text, allowed, opt in steps
    )
    if restart and not running:
        fix += f" (no restart: VM {vm} is {before['power_state'] or 'in an unknown power state'}, not running)"
    elif restart and not restart_allowed:
        fix += f" (the restart waits until the failed extensions are removed: set {opt_in_remove}: true)"
    after = dict(before, failed_extensions=[n for n in failed if n not in removing])
    if restart_allowed:
        after.update(provisioning_state="(as Azure reports after the restart)", power_state="running")
    return {
        "finding": dict(finding, fix=fix, actions=actions),
        "remove": removing,
        "restart": restart_allowed,
        "diff": {"before": before, "after": after},
    }


def _power_plan(body, vm, before, waited):
    power = before["power_state"]
    if power not in POWER_TRANSITIONAL:
        return {"finding": next(f for f in vm_findings(body, vm) if f["error_code"] == CODES[1])}
    if waited is None:  # the role waits (report only) and plans again with what it read last
        finding = next(f for f in vm_findings(body, vm) if f["error_code"] == CODES[1])
        return {"finding": finding, "wait": True}
    final = power_state(waited)
    if final in POWER_STABLE:
        detail = f"VM {vm} was {power} (transitional); waited until it reported {final}"
        return {
            "finding": control_finding(CODES[1], "pass", detail),
            "diff": {"before": before, "after": dict(before, power_state=final)},
        }
    if not final:
        answer = http_answer(waited) if isinstance(waited, Mapping) else "no result"
        return {
            "finding": control_finding(CODES[1], "error", f"VM {vm} was {power}; then it could not be read: {answer}")
        }
    detail = f"VM {vm} was {power} and still is {final} after waiting {waited.get('attempts', '?')} reads"
    fix = (
        "wait until it is running, stopped or deallocated, then run the backup again (this role never starts or"
        " stops a VM)"
    )
    return {"finding": control_finding(CODES[1], "fail", detail, fix)}


def vm_outcome(plan, vm, removed=None, restarted=None, after=None):
    """The result after the changes: ``{changed, finding, diff}`` (plus ``finding_after`` when re-read).

    ``removed``: the registered loop of azure_rm_virtualmachineextension; ``restarted``: the registered
    azure_rm_resource POST; ``after``: the read made after them (waiting until the VM runs). An error always
    outranks "changed": the finding says which step failed, what was already removed and Azure's answer.
    """
    finding = dict(plan["finding"])
    results = list((removed or {}).get("results") or []) if isinstance(removed, Mapping) else []
    done = [str(r.get("item")) for r in results if isinstance(r, Mapping) and not r.get("failed") and r.get("changed")]
    failed = [r for r in results if isinstance(r, Mapping) and r.get("failed")]
    did_restart = isinstance(restarted, Mapping) and not restarted.get("skipped") and not restarted.get("failed")
    changed = bool(done) or bool(did_restart)
    out = {"changed": changed, "finding": finding, "diff": plan["diff"]}
    removed_text = f" (removed: {', '.join(done) if done else 'nothing'})"
    if failed:
        first = failed[0]
        detail = f"VM {vm}: removing extension {first.get('item')} failed: {first.get('msg') or 'no message'}"
        out["finding"] = dict(finding, status="error", detail=detail + removed_text)
        return out
    if isinstance(restarted, Mapping) and restarted.get("failed"):
        detail = f"VM {vm}: the restart was refused: Azure answered {http_answer(restarted)}"
        out["finding"] = dict(finding, status="error", detail=detail + removed_text)
        return out
    if changed and after is not None:
        again = vm_plan(after, vm, finding["error_code"])
        out["finding_after"] = again["finding"]
        if did_restart and power_state(after, settled=True) != "running":
            state = power_state(after) or "unreadable"
            detail = f"VM {vm}: restarted, but it reports {state}, not running, after the wait{removed_text}"
            out["finding"] = dict(finding, status="error", detail=detail)
        elif again["finding"]["status"] == "error":
            out["finding"] = dict(finding, status="error", detail=again["finding"]["detail"] + removed_text)
    return out


def merge_result(guest, control):
    """One role result from the guest's and the control plane's: the worse status wins; ``control_plane`` keeps
    the control plane's own result. A guest result without a finding counts as an error (never as a pass)."""
    guest = dict(guest) if isinstance(guest, Mapping) else {}
    control = dict(control) if isinstance(control, Mapping) else {}
    gf = guest.get("finding") if isinstance(guest.get("finding"), Mapping) else None
    cf = control.get("finding") if isinstance(control.get("finding"), Mapping) else None
    if cf is None:
        raise ControlError("the control-plane part returned no finding")
    if guest.get("skipped"):  # no guest part for this OS (the role's guest fix is for the other system)
        gf = control_finding(cf["error_code"], "not_applicable", "no guest part for this system")
    elif gf is None:
        gf = control_finding(cf["error_code"], "error", "the guest part returned no finding")
    worse, other = (cf, gf) if RANK.get(cf["status"], 3) > RANK.get(gf["status"], 3) else (gf, cf)
    merged = dict(worse)
    if other["status"] not in ("pass", "not_applicable") and other.get("detail"):
        merged["detail"] = f"{worse.get('detail', '')}; {other['detail']}"
    if other.get("fix") and other["fix"] != worse.get("fix"):
        merged["fix"] = "; ".join(f for f in (worse.get("fix"), other["fix"]) if f)
    merged["actions"] = list(gf.get("actions") or []) + list(cf.get("actions") or [])
    out = dict(guest, finding=merged, control_plane=control)
    out["changed"] = bool(guest.get("changed")) or bool(control.get("changed"))
    return out
