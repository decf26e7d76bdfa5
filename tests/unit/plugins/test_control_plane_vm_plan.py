"""vm_control_plan / _outcome / _merge: what the VM control-plane roles decide from what azure.azcollection read.

The inputs have the shape azure_rm_resource_info registers (``response``: a list with the body; ``status_code``)
for the instance view (VirtualMachineInstanceView) or the VM (VirtualMachine); the same roles run end to end against
the local ARM endpoint in tests/integration/test_control_plane_vm.py.
"""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.vmbackup.azure.plugins.filter.vm_control import (
    vm_control_merge,
    vm_control_outcome,
    vm_control_plan,
)
from ansible_collections.vmbackup.azure.plugins.plugin_utils._control import vm_findings
from ansible_collections.vmbackup.azure.plugins.plugin_utils._control_vm import http_status, power_state, retry_done

VM = "rg-app/win01"
PSF = "UserErrorVmProvisioningStateFailed"
NIDS = "UserErrorVmNotInDesirableState"


def status(code):
    return {"code": code, "level": "Info", "displayStatus": code}


def view(provisioning="succeeded", power="running", extensions=(), agent="Ready"):
    body = {
        "statuses": [status(f"ProvisioningState/{provisioning}"), status(f"PowerState/{power}")],
        "extensions": [
            {"name": name, "type": f"Pub.{name}", "statuses": [status(f"ProvisioningState/{state}")]}
            for name, state in extensions
        ],
    }
    if agent:
        body["vmAgent"] = {"vmAgentVersion": "2.7", "statuses": [{"code": "x", "displayStatus": agent}]}
    return {"changed": False, "status_code": 200, "response": [body]}


def plan(read, code=PSF, **kw):
    return vm_control_plan(read, VM, code, opt_in_remove="x_remove", opt_in_restart="x_restart", **kw)


FAILED = view("failed", extensions=[("BadExt", "failed"), ("VMSnapshot", "succeeded")])


def test_provisioning_failed_without_opt_ins_plans_exactly_and_changes_nothing():
    p = plan(FAILED)
    assert p["finding"]["status"] == "fail" and p["remove"] == [] and p["restart"] is False
    assert p["finding"]["fix"].startswith("would remove the failed extension(s) BadExt -- set x_remove: true")
    assert "would restart VM rg-app/win01 -- set x_restart: true" in p["finding"]["fix"]
    assert [(a["action"], a["allowed"]) for a in p["finding"]["actions"]] == [
        ("remove_extension", False),
        ("restart_vm", False),
    ]
    assert p["diff"]["before"] == p["diff"]["after"]


def test_opt_ins_remove_only_the_failed_extensions_then_restart():
    p = plan(FAILED, remove=True, restart=True)
    assert p["remove"] == ["BadExt"] and p["restart"] is True
    assert p["finding"]["fix"] == "remove the failed extension(s) BadExt; then restart VM rg-app/win01"
    assert p["diff"]["after"]["failed_extensions"] == [] and p["diff"]["before"]["failed_extensions"] == ["BadExt"]


def test_a_restart_is_held_back_while_a_failed_extension_stays_and_for_a_vm_not_running():
    p = plan(FAILED, restart=True)
    assert (
        p["restart"] is False and "waits until the failed extensions are removed: set x_remove" in p["finding"]["fix"]
    )
    stopped = plan(view("failed", power="stopped"), restart=True)
    assert stopped["restart"] is False and "is stopped, not running" in stopped["finding"]["fix"]
    alone = plan(view("failed"), restart=True)  # provisioning failed, no failed extension: restart only
    assert alone["remove"] == [] and alone["restart"] is True


def test_provisioning_succeeded_passes_with_nothing_to_do():
    p = plan(view(extensions=[("BadExt", "failed")]), remove=True, restart=True)
    assert p["finding"]["status"] == "pass" and p["remove"] == [] and p["restart"] is False


@pytest.mark.parametrize(
    ("read", "words"),
    [
        ({"changed": False, "status_code": 404, "response": [{"error": {"code": "ResourceNotFound"}}]}, "HTTP 404"),
        ({"failed": True, "msg": 'Module failed: (\'{"error": {"code": "TooManyRequests"}}\', 429)'}, "HTTP 429"),
        ({"changed": False, "status_code": 200, "response": [{"unexpected": 1}]}, "neither an instance view"),
        ({"changed": False, "status_code": 200, "response": []}, "neither an instance view"),
    ],
)
def test_a_read_that_failed_or_is_empty_is_an_error_naming_the_vm(read, words):
    for code in (PSF, NIDS, "AzureVmOffline", "NoVmAgent"):
        p = plan(read, code=code, remove=True, restart=True)
        assert p["finding"]["status"] == "error" and VM in p["finding"]["detail"] and words in p["finding"]["detail"]
        assert p["remove"] == [] and p["restart"] is False


def test_no_resource_group_is_not_applicable():
    for code in (PSF, NIDS, "AzureVmOffline", "NoVmAgent"):
        assert plan(None, code=code)["finding"]["status"] == "not_applicable"


def test_an_unknown_code_is_refused():
    with pytest.raises(AnsibleFilterError, match="not a VM control-plane code"):
        plan(FAILED, code="VmAgentNotRunning")


def test_power_state_transitional_waits_then_reports_the_last_state():
    stopping = view(power="stopping")
    first = plan(stopping, code=NIDS)
    assert first["wait"] is True and first["finding"]["status"] == "fail"
    done = plan(stopping, code=NIDS, waited=dict(view(power="stopped"), failed=False, attempts=3))
    assert done["finding"]["status"] == "pass" and "was stopping" in done["finding"]["detail"]
    assert done["diff"]["after"]["power_state"] == "stopped"
    # an until that ran out is marked failed by ansible, but its last read is still the answer
    still = plan(stopping, code=NIDS, waited=dict(view(power="stopping"), failed=True, attempts=21))
    assert (
        still["finding"]["status"] == "fail"
        and "still is stopping after waiting 21 reads" in still["finding"]["detail"]
    )
    gone = plan(stopping, code=NIDS, waited={"failed": True, "msg": "Module failed: ('x', 503)"})
    assert gone["finding"]["status"] == "error" and "HTTP 503" in gone["finding"]["detail"]


@pytest.mark.parametrize("power", ["running", "stopped", "deallocated"])
def test_a_stable_power_state_passes_without_waiting(power):
    p = plan(view(power=power), code=NIDS)
    assert p["finding"]["status"] == "pass" and p["wait"] is False


def test_agent_status_and_provision_vm_agent_are_reported():
    assert plan(view(), code="AzureVmOffline")["finding"]["status"] == "pass"
    offline = plan(view(agent="Not Ready"), code="AzureVmOffline")["finding"]
    assert offline["status"] == "fail" and "Not Ready" in offline["detail"]
    assert plan(view(agent=None), code="AzureVmOffline")["finding"]["status"] == "fail"

    def model(flag):
        config = {} if flag is None else {"provisionVMAgent": flag}
        body = {
            "type": "Microsoft.Compute/virtualMachines",
            "properties": {"osProfile": {"windowsConfiguration": config}},
        }
        return {"status_code": 200, "response": [body]}

    assert plan(model(True), code="NoVmAgent")["finding"]["status"] == "pass"
    assert plan(model(False), code="NoVmAgent")["finding"]["status"] == "fail"
    assert plan(model(None), code="NoVmAgent")["finding"]["status"] == "not_applicable"
    specialized = {"status_code": 200, "response": [{"type": "Microsoft.Compute/virtualMachines", "properties": {}}]}
    assert plan(specialized, code="NoVmAgent")["finding"]["status"] == "not_applicable"


def test_outcome_error_outranks_changed_and_names_vm_removed_and_answer():
    p = plan(FAILED, remove=True, restart=True)
    removed = {"results": [{"item": "BadExt", "changed": True}]}
    refused = {"failed": True, "msg": 'Module failed: (\'{"error": {"code": "Conflict"}}\', 409)'}
    out = vm_control_outcome(p, VM, removed=removed, restarted=refused)
    assert out["changed"] is True and out["finding"]["status"] == "error"
    assert (
        out["finding"]["detail"]
        == "VM rg-app/win01: the restart was refused: Azure answered HTTP 409 Conflict (removed: BadExt)"
    )
    bad = vm_control_outcome(p, VM, removed={"results": [{"item": "BadExt", "failed": True, "msg": "boom"}]})
    assert bad["finding"]["status"] == "error" and "removing extension BadExt failed: boom" in bad["finding"]["detail"]


def test_outcome_after_the_restart_verifies_the_vm_runs():
    p = plan(FAILED, remove=True, restart=True)
    removed = {"results": [{"item": "BadExt", "changed": True}]}
    ok = vm_control_outcome(p, VM, removed=removed, restarted={"changed": True}, after=view())
    assert ok["changed"] is True and ok["finding"]["status"] == "fail" and ok["finding_after"]["status"] == "pass"
    updating = view("updating", power="running")
    late = vm_control_outcome(p, VM, removed=removed, restarted={"changed": True}, after=updating)
    assert late["finding"]["status"] == "error" and "not running, after the wait" in late["finding"]["detail"]


def test_merge_the_worse_status_wins_and_keeps_the_control_plane():
    guest = {"changed": True, "finding": {"error_code": PSF, "status": "pass", "detail": "agent runs", "actions": []}}
    control = {"changed": False, "finding": plan(FAILED)["finding"]}
    merged = vm_control_merge(guest, control)
    assert merged["finding"]["status"] == "fail" and merged["changed"] is True
    assert merged["control_plane"] == control and len(merged["finding"]["actions"]) == 2
    error = {"changed": True, "finding": dict(control["finding"], status="error", detail="refused")}
    assert vm_control_merge(guest, error)["finding"]["status"] == "error"
    assert vm_control_merge({}, control)["finding"]["status"] == "error"  # a guest without a finding is no pass
    skipped = vm_control_merge({"skipped": True, "changed": False}, {"finding": plan(view(), code=NIDS)["finding"]})
    assert skipped["finding"]["status"] == "pass"
    with pytest.raises(AnsibleFilterError, match="no finding"):
        vm_control_merge(guest, {})


def test_http_status_and_retry():
    assert http_status({"failed": True, "msg": "Module failed: ('x', 429)"}) == 429
    assert retry_done({"changed": True}) is True
    assert retry_done({"failed": True, "msg": "Module failed: ('x', 503)"}) is False
    assert retry_done({"failed": True, "msg": "Module failed: ('x', 409)"}) is True
    # what ansible-core hands to until: a failure without its message yet -> retried (bounded by the task)
    assert retry_done({"failed": True, "exception": "(traceback unavailable)", "attempts": 1}) is False
    assert power_state(view(power="starting")) == "starting"
    assert power_state(view("updating"), settled=True) == "" and power_state(view("updating")) == "running"


@pytest.mark.parametrize(
    "read",
    [FAILED, view(), view(power="stopping"), view(power="deallocated", agent="Not Ready"), view(agent=None)],
)
def test_the_role_and_the_scan_decide_alike(read):
    """The scan's VirtualMachines_ListAll item (statusOnly) and the role's instance-view read give the same status."""
    scan = {
        f["error_code"]: f["status"] for f in vm_findings({"properties": {"instanceView": read["response"][0]}}, VM)
    }
    for code in (PSF, NIDS, "AzureVmOffline"):
        assert plan(read, code=code)["finding"]["status"] == scan[code], code
