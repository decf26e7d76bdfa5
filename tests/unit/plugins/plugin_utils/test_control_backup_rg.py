"""backup_rg_plan / backup_rg_result: what the limit role may change in AzureBackupRG_<region>_1 (pure Python)."""

from __future__ import annotations

import copy

import pytest
from ansible_collections.vmbackup.azure.plugins.plugin_utils._control_backup_rg import (
    BackupRgError,
    backup_rg_name,
    backup_rg_plan,
    backup_rg_result,
    lock_scope,
)

SUB = "/subscriptions/s1"
GROUP = f"{SUB}/resourceGroups/AzureBackupRG_westeurope_1"
VM = f"{SUB}/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/vm01"
RPC = f"{GROUP}/providers/Microsoft.Compute/restorePointCollections"
VM_INFO = {"vms": [{"id": VM, "name": "vm01", "location": "WestEurope"}]}


def lock(scope, name, level="CanNotDelete", **props):
    return {
        "id": f"{scope}/providers/Microsoft.Authorization/locks/{name}",
        "name": name,
        "properties": {"level": level, **props},
    }


def coll(name, source=VM, points=("a",), expand=True):
    props = {"source": {"id": source}}
    if expand:
        props["restorePoints"] = [{"id": f"{RPC}/{name}/restorePoints/{p}", "name": p} for p in points]
    return {"id": f"{RPC}/{name}", "name": name, "properties": props}


def info(locks=(), collections=()):
    return {"resource_group_found": True, "locks": list(locks), "restore_point_collections": list(collections)}


def plan(data, **kw):
    return backup_rg_plan(data, "rg-app/vm01", vm_info=kw.pop("vm_info", VM_INFO), **kw)


def test_names():
    assert backup_rg_name("WestEurope") == "AzureBackupRG_westeurope_1"
    assert lock_scope(f"{GROUP}/providers/Microsoft.Authorization/locks/x") == GROUP
    assert lock_scope("nonsense") == ""


def test_no_resource_group_is_not_applicable():
    out = backup_rg_plan(None, "?/vm01")
    assert out["finding"]["status"] == "not_applicable" and out["remove_locks"] == [] and out["delete"] == []


@pytest.mark.parametrize(
    ("vm_info", "said"),
    [
        ({"failed": True, "msg": "boom"}, "could not be read: boom"),
        ({"vms": []}, "was not found"),
        ({"vms": [{"id": VM}]}, "no location"),
        (None, "no vms list"),
    ],
)
def test_a_missing_vm_is_an_error_with_nothing_planned(vm_info, said):
    out = plan(info([lock(GROUP, "l")], [coll("AzureBackup_vm01_1")]), vm_info=vm_info, remove_lock=True)
    assert out["finding"]["status"] == "error" and said in out["finding"]["detail"]
    assert out["remove_locks"] == [] and out["delete"] == []


@pytest.mark.parametrize(
    "data",
    [
        {"failed": True, "msg": "throttled"},
        {"resource_group_found": True, "locks": []},
        {"resource_group_found": True, "restore_point_collections": [], "locks": "x"},
        {},
    ],
)
def test_a_failed_or_partial_read_is_an_error_naming_the_group(data):
    out = plan(data, remove_lock=True, delete_restore_points=True)
    assert out["finding"]["status"] == "error" and "AzureBackupRG_westeurope_1" in out["finding"]["detail"]
    assert out["remove_locks"] == [] and out["delete"] == []


def test_a_collection_read_without_its_points_is_an_error():
    out = plan(info([lock(GROUP, "l")], [coll("AzureBackup_vm01_1", expand=False)]), delete_restore_points=True)
    assert out["finding"]["status"] == "error" and "without its restore points" in out["finding"]["detail"]


def test_no_group_yet_and_no_lock_pass():
    assert plan({**info(), "resource_group_found": False})["finding"]["status"] == "pass"
    assert plan(info([], [coll("AzureBackup_vm01_1")]))["finding"]["status"] == "pass"


def test_only_the_subscriptions_lock_fails_names_it_and_plans_nothing():
    # an inherited lock blocks Azure Backup's clean-up as one on the group would, but is never ours to remove
    out = plan(info([lock(SUB, "sub")], [coll("AzureBackup_vm01_1")]), remove_lock=True, delete_restore_points=True)
    assert out["finding"]["status"] == "fail" and out["remove_locks"] == [] and out["delete"] == []
    assert "sub" in out["finding"]["detail"] and "never done here" in out["finding"]["fix"]
    assert out["diff"]["before"] == out["diff"]["after"]


def test_only_the_group_and_its_resources_locks_are_removed_and_only_with_the_opt_in():
    locks = [
        lock(GROUP, "rg", notes="ops", owners=[{"applicationId": "a1"}]),
        lock(f"{RPC}/AzureBackup_vm01_1", "child", level="ReadOnly"),
        lock(SUB, "sub"),
        lock(f"{SUB}/resourceGroups/AzureBackupRG_westeurope_10", "lookalike"),
    ]
    data = info(locks, [coll("AzureBackup_vm01_1")])
    without = plan(data)
    assert without["finding"]["status"] == "fail" and without["remove_locks"] == []
    assert without["finding"]["fix"].startswith("would remove the lock(s) rg (CanNotDelete), child (ReadOnly)")
    assert "set the lock opt-in: true" in without["finding"]["fix"]
    assert [a["allowed"] for a in without["finding"]["actions"]] == [False, False, False]
    out = plan(data, remove_lock=True, lock_opt_in="x_remove_lock")
    assert [lk["name"] for lk in out["remove_locks"]] == ["rg", "child"]
    assert out["remove_locks"][0] == {
        "name": "rg",
        "id": f"{GROUP}/providers/Microsoft.Authorization/locks/rg",
        "scope": GROUP,
        "level": "CanNotDelete",
        "notes": "ops",
        "owners": ["a1"],
    }
    assert out["remove_locks"][1]["scope"] == f"{RPC}/AzureBackup_vm01_1"
    assert out["delete"] == []  # restore points need their own opt-in
    assert "sub" in out["finding"]["detail"] and "lookalike" in out["finding"]["detail"]


def test_only_azure_backups_points_of_this_vm_are_deleted_once_no_lock_is_left():
    other_vm = VM.replace("vm01", "vm02")
    data = info(
        [lock(GROUP, "rg")],
        [
            coll("AzureBackup_vm01_123", points=("p1", "p2")),
            coll("AzureBackup_vm02_1", source=other_vm, points=("o",), expand=False),
            coll("mine", points=("m",)),
            coll("AzureBackup_vm01_x", points=("x",)),
            coll("AzureBackup_vm011_5", points=("y",)),
            {"id": f"{SUB}/resourceGroups/other/providers/Microsoft.Compute/restorePointCollections/AzureBackup_vm01_9",
             "name": "AzureBackup_vm01_9", "properties": {"source": {"id": VM}, "restorePoints": [{"id": "z"}]}},
        ],
    )  # fmt: skip
    kept = plan(data, delete_restore_points=True)  # the lock stays: nothing could be deleted
    assert kept["delete"] == [] and "once the lock is gone" in kept["finding"]["fix"]
    out = plan(data, remove_lock=True, delete_restore_points=True)
    assert out["delete"] == [
        f"{RPC}/AzureBackup_vm01_123/restorePoints/p1",
        f"{RPC}/AzureBackup_vm01_123/restorePoints/p2",
    ]
    detail = out["finding"]["detail"]
    for name in ("mine", "AzureBackup_vm01_x", "AzureBackup_vm011_5", "AzureBackup_vm01_9"):
        assert name in detail
    assert out["diff"]["after"] == {"locks": [], "restore_points": []}
    assert out["diff"]["before"]["restore_points"] == out["delete"]


def test_the_plan_does_not_change_its_input():
    data = info([lock(GROUP, "rg")], [coll("AzureBackup_vm01_1")])
    before = copy.deepcopy(data)
    plan(data, remove_lock=True, delete_restore_points=True)
    assert data == before


# ---- backup_rg_result --------------------------------------------------------------------------------------------
def _plan():
    return plan(info([lock(GROUP, "rg")], [coll("AzureBackup_vm01_1", points=("p",))]), remove_lock=True,
                delete_restore_points=True)  # fmt: skip


def test_result_changed_and_removed_locks_listed():
    p = _plan()
    removed = {"results": [{"changed": True, "item": p["remove_locks"][0]}]}
    deleted = {"results": [{"changed": True, "item": p["delete"][0]}]}
    out = backup_rg_result(p, removed, deleted)
    assert out["changed"] is True and out["finding"]["status"] == "fail"
    assert out["removed_locks"] == [{"name": "rg", "scope": GROUP, "level": "CanNotDelete", "notes": "", "owners": []}]
    assert out["findings"] == [out["finding"]]


def test_a_failed_change_is_an_error_naming_the_resource_and_outranks_changed():
    p = _plan()
    removed = {"results": [{"changed": True, "item": p["remove_locks"][0]}]}
    deleted = {"results": [{"failed": True, "msg": "MODULE FAILURE", "item": p["delete"][0]}]}
    out = backup_rg_result(p, removed, deleted)
    assert out["finding"]["status"] == "error" and out["changed"] is True
    assert f"deleting restore point {p['delete'][0]}: MODULE FAILURE" in out["finding"]["detail"]
    out = backup_rg_result(p, {"results": [{"failed": True, "msg": "409", "item": p["remove_locks"][0]}]}, None)
    assert out["finding"]["status"] == "error" and "removing lock" in out["finding"]["detail"]
    assert out["removed_locks"] == [] and out["changed"] is False


def test_the_guest_finding_is_kept_beside_and_the_worse_wins():
    p = _plan()
    guest = {"changed": True, "finding": {"error_code": "X", "status": "pass", "detail": "conf ok"}, "backup_file": "b"}
    out = backup_rg_result(p, None, None, guest)
    assert [f["status"] for f in out["findings"]] == ["pass", "fail"]
    assert out["finding"]["status"] == "fail" and out["changed"] is True and out["backup_file"] == "b"
    assert out["control"]["finding"]["status"] == "fail"
    skipped = backup_rg_result(p, None, None, {"skipped": True, "changed": False})
    assert skipped["findings"] == [skipped["finding"]]


def test_result_refuses_what_is_not_a_plan():
    with pytest.raises(BackupRgError):
        backup_rg_result({"nope": 1})


def test_a_lock_on_the_subscription_blocks_the_deletes_and_is_named():
    data = info([lock(GROUP, "rg"), lock(SUB, "sub")], [coll("AzureBackup_vm01_1", points=("p",))])
    out = plan(data, remove_lock=True, delete_restore_points=True)
    assert [lk["name"] for lk in out["remove_locks"]] == ["rg"] and out["delete"] == []
    assert "once no lock applies" in out["finding"]["fix"] and "never removed here: sub" in out["finding"]["detail"]


def test_a_failure_hidden_by_failed_when_is_still_an_error():
    hidden = {"failed": False, "failure_kind": "server", "msg": "503", "locks": [], "restore_point_collections": []}
    assert plan(hidden)["finding"]["status"] == "error"
    p = _plan()
    out = backup_rg_result(p, None, {"results": [{"failed_when_suppressed_exception": "x", "item": p["delete"][0]}]})
    assert out["finding"]["status"] == "error"
