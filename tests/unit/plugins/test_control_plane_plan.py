"""snapshot_extension_plan: what the ExtensionStuckInDeletionState role decides from what azure.azcollection read.

The inputs have the shape the modules register (azure_rm_virtualmachineextension_info ``format_response``:
name, publisher, type, provisioning_state; azure_rm_virtualmachine_info: ``vms``); the same role runs
end to end against the local ARM endpoint in tests/integration/test_control_plane.py.
"""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.vmbackup.azure.plugins.filter.control_plane import snapshot_extension_plan

PUB = "Microsoft.Azure.RecoveryServices"
VM = {"vms": [{"name": "win01", "provisioning_state": "Succeeded"}]}


def ext(name, state, publisher=PUB, kind=None):
    return {"name": name, "publisher": publisher, "type": kind or name, "provisioning_state": state}


@pytest.mark.parametrize("state", ["Deleting", "Failed", "deleting"])
def test_a_stuck_backup_extension_fails_and_is_removed_only_with_the_opt_in(state):
    info = {"extensions": [ext("VMSnapshot", state)]}
    plan = snapshot_extension_plan(info, "rg/win01", vm_info=VM, opt_in="x_uninstall")
    assert plan["finding"]["status"] == "fail" and plan["remove"] == []
    assert "would uninstall VMSnapshot" in plan["finding"]["fix"] and "x_uninstall" in plan["finding"]["fix"]
    assert plan["finding"]["actions"] == [
        {"action": "uninstall_extension", "extension": "VMSnapshot", "disruptive": True, "allowed": False}
    ]
    plan = snapshot_extension_plan(info, "rg/win01", uninstall=True, vm_info=VM)
    assert plan["remove"] == ["VMSnapshot"] and plan["diff"] == {"before": {"VMSnapshot": state}, "after": {}}


def test_other_extensions_are_never_touched_even_when_failed():
    info = {
        "extensions": [
            ext("MicrosoftMonitoringAgent", "Failed", publisher="Microsoft.EnterpriseCloud.Monitoring"),
            ext("VMSnapshot", "Failed", publisher="Contoso.Fake"),  # right name, wrong publisher
            ext("MyVMSnapshotLinux", "Deleting", kind="VMSnapshotLinux"),  # renamed, right type
        ]
    }
    plan = snapshot_extension_plan(info, "rg/lnx01", uninstall=True, vm_info=VM)
    assert plan["remove"] == ["MyVMSnapshotLinux"]


def test_a_provisioned_or_missing_extension_passes():
    ok = snapshot_extension_plan({"extensions": [ext("VMSnapshot", "Succeeded")]}, "rg/w", uninstall=True, vm_info=VM)
    assert ok["finding"]["status"] == "pass" and ok["remove"] == []
    none = snapshot_extension_plan({"extensions": []}, "rg/w", uninstall=True, vm_info=VM)
    assert none["finding"]["status"] == "pass" and "next backup installs it" in none["finding"]["detail"]


def test_no_resource_group_is_not_applicable_without_a_read():
    plan = snapshot_extension_plan(None, "?/nocfg")
    assert plan["finding"]["status"] == "not_applicable" and plan["remove"] == []


@pytest.mark.parametrize(
    "info, vm_info, message",
    [
        ({"extensions": []}, {"vms": []}, "was not found"),  # the extension module hides a missing VM
        ({"failed": True, "msg": "AuthorizationFailed"}, VM, "AuthorizationFailed"),
        ({"changed": False}, VM, "no extensions list"),
        ({"extensions": []}, {"failed": True, "msg": "boom"}, "could not be read: boom"),
    ],
)
def test_missing_data_is_an_error_never_nothing_to_do(info, vm_info, message):
    with pytest.raises(AnsibleFilterError, match=message):
        snapshot_extension_plan(info, "rg/ghost", uninstall=True, vm_info=vm_info)


# ---- control_plane_findings: one VM list (statusOnly) -> findings per host ---------------------------------------
def _vm(name, rg="rg-a", power="running", provisioning="succeeded", agent="Ready", ext_state=None, view=True, pva=True):
    body = {
        "id": f"/subscriptions/s/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{name}",
        "name": name,
    }
    if not view:
        return {**body, "properties": {}}
    statuses = [{"code": f"ProvisioningState/{provisioning}"}]
    if power:
        statuses.append({"code": f"PowerState/{power}", "displayStatus": f"VM {power}"})
    instance = {"statuses": statuses, "extensions": []}
    if agent:
        instance["vmAgent"] = {"vmAgentVersion": "2.7", "statuses": [{"displayStatus": agent}]}
    if ext_state:
        instance["extensions"].append(
            {"name": "VMSnapshot", "type": "Microsoft.Azure.RecoveryServices.VMSnapshot",
             "statuses": [{"code": f"ProvisioningState/{ext_state}"}]}
        )  # fmt: skip
    profile = {} if pva is None else {"osProfile": {"windowsConfiguration": {"provisionVMAgent": pva}}}
    return {**body, "properties": {"instanceView": instance, **profile}}


def _by_code(findings):
    return {f["error_code"]: f["status"] for f in findings}


def test_control_plane_findings_per_host():
    from ansible_collections.vmbackup.azure.plugins.filter.control_plane import control_plane_findings

    vms = [
        _vm("ok"),
        _vm("moving", power="deallocating", ext_state="deleting"),
        _vm("broken", provisioning="failed", agent="Not Ready", ext_state="failed"),
        _vm("noagent", agent=None, pva=False),
        _vm("special", pva=None),  # attached from a specialized disk: no osProfile
        _vm("blind", view=False),
        _vm("odd", power=None),
        _vm("OK", rg="rg-b", power="starting"),  # same name, other resource group
    ]
    rg = {"vmbackup_azure_resource_group": "RG-A"}
    hosts = ("ok", "moving", "broken", "noagent", "special", "blind", "odd", "gone")
    inventory = {h: rg for h in hosts} | {"onprem": {}}
    got = control_plane_findings({"results": [{"vms": vms[:5]}, {"vms": vms[5:]}]}, inventory)
    assert _by_code(got["ok"]) == {
        "UserErrorVmNotInDesirableState": "pass",
        "UserErrorVmProvisioningStateFailed": "pass",
        "AzureVmOffline": "pass",
        "ExtensionStuckInDeletionState": "pass",
        "NoVmAgent": "pass",
    }
    assert _by_code(got["moving"])["UserErrorVmNotInDesirableState"] == "fail"
    assert _by_code(got["moving"])["ExtensionStuckInDeletionState"] == "fail"
    assert _by_code(got["broken"])["UserErrorVmProvisioningStateFailed"] == "fail"
    failed = next(f for f in got["broken"] if f["error_code"] == "UserErrorVmProvisioningStateFailed")
    assert "failed extension(s): VMSnapshot" in failed["detail"] and "restart the VM" in failed["fix"]
    assert _by_code(got["broken"])["AzureVmOffline"] == "fail"
    assert _by_code(got["noagent"])["AzureVmOffline"] == "fail"
    assert _by_code(got["noagent"])["NoVmAgent"] == "fail"  # provisionVMAgent = false
    assert _by_code(got["special"])["NoVmAgent"] == "not_applicable"
    assert set(_by_code(got["blind"]).values()) == {"error"}  # no instance view: nothing decided
    assert _by_code(got["odd"])["UserErrorVmNotInDesirableState"] == "error"
    assert set(_by_code(got["gone"]).values()) == {"error"}
    assert set(_by_code(got["onprem"]).values()) == {"not_applicable"}


def test_control_plane_findings_refuses_a_failed_read():
    from ansible_collections.vmbackup.azure.plugins.filter.control_plane import control_plane_findings

    with pytest.raises(AnsibleFilterError, match="could not be read: throttled"):
        control_plane_findings({"results": [{"failed": True, "msg": "throttled"}]}, {"a": {}})


def test_a_lock_on_the_backup_resource_group_is_reported_never_removed():
    from ansible_collections.vmbackup.azure.plugins.filter.control_plane import control_plane_findings

    vm = {**_vm("web"), "location": "westeurope"}
    group = "/subscriptions/s/resourceGroups/azurebackuprg_westeurope_1"
    lock = {
        "id": f"{group}/providers/Microsoft.Authorization/locks/l",
        "name": "l",
        "properties": {"level": "ReadOnly"},
    }
    other = {"id": "/subscriptions/s/resourceGroups/rg-a/providers/Microsoft.Authorization/locks/x", "name": "x"}
    inventory = {"web": {"vmbackup_azure_resource_group": "rg-a"}}
    locked = control_plane_findings({"vms": [vm], "locks": [lock, other], "restore_point_collections": []}, inventory)
    finding = next(f for f in locked["web"] if f["error_code"] == "ExtensionFailedSnapshotLimitReachedError")
    assert finding["status"] == "fail" and "l (ReadOnly)" in finding["detail"] and finding["actions"] == []
    free = control_plane_findings({"vms": [vm], "locks": [other], "restore_point_collections": []}, inventory)
    assert [f["status"] for f in free["web"] if f["error_code"] == "ExtensionFailedSnapshotLimitReachedError"] == [
        "pass"
    ]
    # a subscription read without locks: no such finding at all, rather than a guessed pass
    bare = control_plane_findings({"vms": [vm]}, inventory)
    assert not [f for f in bare["web"] if f["error_code"] == "ExtensionFailedSnapshotLimitReachedError"]


def test_a_lock_on_the_subscription_blocks_the_clean_up_too_and_is_named_never_removed():
    from ansible_collections.vmbackup.azure.plugins.filter.control_plane import control_plane_findings

    vm = {**_vm("web"), "location": "westeurope"}
    sub_lock = {"id": "/subscriptions/s/providers/Microsoft.Authorization/locks/guard", "name": "guard"}
    inventory = {"web": {"vmbackup_azure_resource_group": "rg-a"}}
    got = control_plane_findings({"vms": [vm], "locks": [sub_lock], "restore_point_collections": []}, inventory)
    finding = next(f for f in got["web"] if f["error_code"] == "ExtensionFailedSnapshotLimitReachedError")
    assert finding["status"] == "fail" and "guard" in finding["detail"] and finding["actions"] == []
    assert "never done here" in finding["fix"]
