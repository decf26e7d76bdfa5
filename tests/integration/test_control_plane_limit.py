"""Azure Backup's resource group (locks, restore points) and the snapshot extension that fails to load.

The roles extension_failed_snapshot_limit_reached_error (its control part, tasks/control.yml) and
snapshot_extension_load_failed run azure.azcollection's modules unmodified (and our backup_rg_info on
azure.azcollection's GenericRestClient) against the local ARM endpoint (tools/arm_endpoint.py, block
"locks and restore points"), as in test_control_plane.py.
"""

from __future__ import annotations

import pytest
from arm_helpers import SUB, results, role_play, serve
from arm_helpers import inventory as make_inventory
from conftest import run_playbook

ROLE = "extension_failed_snapshot_limit_reached_error"
BRG = "AzureBackupRG_westeurope_1"
GROUP = f"/subscriptions/{SUB}/resourceGroups/{BRG}"
VM_ID = f"/subscriptions/{SUB}/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/win01"
OTHER_VM = f"/subscriptions/{SUB}/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/other01"
RPC = f"{GROUP}/providers/Microsoft.Compute/restorePointCollections"
LOCKS = "providers/Microsoft.Authorization/locks"


def _lock(scope, name, level="CanNotDelete", notes="", owners=()):
    """ManagementLockObject (azure-mgmt-resource locks v2016_09_01 models: level, notes, owners[].applicationId)."""
    props = {"level": level}
    if notes:
        props["notes"] = notes
    if owners:
        props["owners"] = [{"applicationId": o} for o in owners]
    return {
        "id": f"{scope}/{LOCKS}/{name}",
        "name": name,
        "type": "Microsoft.Authorization/locks",
        "properties": props,
    }


def _collection(name, source, points):
    """RestorePointCollection (compute spec): source.id, restorePoints (served only with $expand=restorePoints)."""
    return {
        "id": f"{RPC}/{name}",
        "name": name,
        "type": "Microsoft.Compute/restorePointCollections",
        "location": "westeurope",
        "properties": {
            "source": {"id": source, "location": "westeurope"},
            "provisioningState": "Succeeded",
            "restorePointCollectionId": f"{name}-0000",
            "restorePoints": [
                {
                    "id": f"{RPC}/{name}/restorePoints/{p}",
                    "name": p,
                    "type": "Microsoft.Compute/restorePointCollections/restorePoints",
                    "properties": {"provisioningState": "Succeeded"},
                }
                for p in points
            ],
        },
    }


def _state():
    return {
        "subscription": SUB,
        "page_size": 2,
        "resource_groups": {"rg-app": {"location": "westeurope"}, BRG.casefold(): {"location": "westeurope"}},
        "vms": {
            "rg-app/win01": {"os": "Windows", "extensions": {}},
            "rg-app/other01": {"os": "Windows", "extensions": {}},
        },
        "locks": [
            _lock(GROUP, "keep-backup-rg", notes="set by ops", owners=["app-1"]),
            _lock(f"/subscriptions/{SUB}", "subscription-guard", level="ReadOnly"),
        ],
        "restore_point_collections": [
            _collection("AzureBackup_win01_123456789", VM_ID, ["rp-1", "rp-2", "rp-3"]),
            _collection("AzureBackup_other01_42", OTHER_VM, ["rp-o"]),
            _collection("my-own-points", VM_ID, ["mine"]),
            _collection("AzureBackup_win01_77", VM_ID, ["rp-4"]),
            _collection("AzureBackup_win01_extra", VM_ID, ["x"]),
        ],
    }


HOSTS = {
    "win01": {"vmbackup_azure_resource_group": "rg-app", "vmbackup_os": "windows"},
    "nocfg": {"vmbackup_os": "windows"},
}
OURS = [f"{RPC}/AzureBackup_win01_123456789/restorePoints/rp-{n}" for n in (1, 2, 3)] + [
    f"{RPC}/AzureBackup_win01_77/restorePoints/rp-4"
]


@pytest.fixture
def arm(monkeypatch):
    endpoint = serve(monkeypatch, _state())
    yield endpoint
    endpoint.stop()


def _arm_calls(arm):
    return [r for r in arm.requests if r["path"].startswith("/subscriptions")]


def _changes(arm):
    return [r for r in arm.requests if r["method"] in ("DELETE", "PUT", "PATCH", "POST")]


def test_check_mode_is_exact_and_deletes_nothing(arm, tmp_path):
    opts = {f"{ROLE}_remove_lock": True, f"{ROLE}_delete_restore_points": True}
    proc = run_playbook(
        make_inventory(tmp_path, HOSTS), role_play(tmp_path, ROLE, **opts), "--diff", check=True, json_output=True
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    res = results(proc)
    finding = res["win01"]["finding"]
    assert finding["status"] == "fail" and "keep-backup-rg" in finding["detail"]
    assert "subscription-guard" not in finding["fix"]  # inherited from the subscription: never removed
    assert "remove the lock(s) keep-backup-rg" in finding["fix"]
    # the subscription's lock applies to the group too: no restore point could be deleted, and the fix says so
    assert "would delete 4 restore point(s)" in finding["fix"] and "once no lock applies" in finding["fix"]
    assert res["win01"]["diff"]["before"]["restore_points"] == sorted(OURS)
    assert res["win01"]["diff"]["after"] == {"locks": [], "restore_points": sorted(OURS)}
    assert res["win01"]["changed"] is False
    assert res["nocfg"]["finding"]["status"] == "not_applicable"
    assert _changes(arm) == [] and arm.deleted == []
    # 4 pages of locks+collections at page size 2 (2 locks: 1 page; 5 collections: 3 pages) + 4 expanded GETs
    rg_calls = [r for r in arm.requests if BRG.casefold() in r["path"].casefold()]
    assert len([r for r in rg_calls if r["path"].endswith("restorePointCollections")]) == 3
    assert all("skiptoken" not in r["query"] for r in rg_calls)


def test_no_resource_group_is_not_applicable_with_zero_requests(arm, tmp_path):
    proc = run_playbook(
        make_inventory(tmp_path, {"nocfg": {"vmbackup_os": "windows"}}), role_play(tmp_path, ROLE), json_output=True
    )
    assert proc.returncode == 0, proc.stdout[-4000:]
    # Windows host, no resource group: the guest task and the control part are both skipped
    assert results(proc)["nocfg"]["finding"]["status"] == "not_applicable"
    assert results(proc)["nocfg"]["changed"] is False
    assert _arm_calls(arm) == []


def test_without_opt_in_nothing_changes_for_real(arm, tmp_path):
    proc = run_playbook(make_inventory(tmp_path, HOSTS), role_play(tmp_path, ROLE), json_output=True)
    assert proc.returncode == 0, proc.stdout[-4000:]
    finding = results(proc)["win01"]["finding"]
    assert finding["status"] == "fail"
    assert f"set {ROLE}_remove_lock: true" in finding["fix"]
    assert f"set {ROLE}_delete_restore_points: true" in finding["fix"]
    assert _changes(arm) == [] and arm.deleted == []


def test_lock_opt_in_removes_only_the_group_lock_and_lists_it(arm, tmp_path):
    inventory = make_inventory(tmp_path, HOSTS)
    opts = {f"{ROLE}_remove_lock": True, f"{ROLE}_delete_restore_points": True}
    play = role_play(tmp_path, ROLE, **opts)
    proc = run_playbook(inventory, play, json_output=True)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert arm.deleted == [f"{GROUP}/{LOCKS}/keep-backup-rg"]
    assert [lk["name"] for lk in arm.state["locks"]] == ["subscription-guard"]
    res = results(proc)["win01"]
    assert res["changed"] is True
    assert res["removed_locks"] == [
        {"name": "keep-backup-rg", "scope": GROUP, "level": "CanNotDelete", "notes": "set by ops", "owners": ["app-1"]}
    ]
    # the subscription's lock still applies to the group (the endpoint refuses deletes, as Azure would):
    # no restore point DELETE is sent, and the fix says why
    assert not [r for r in _changes(arm) if "restorePoints" in r["path"]]
    assert "once no lock applies" in res["finding"]["fix"]
    again = run_playbook(inventory, play, json_output=True)
    assert again.returncode == 0
    res = results(again)["win01"]
    # nothing left to change; the subscription's lock still blocks the clean-up, so the finding stays a fail naming it
    assert res["changed"] is False and res["finding"]["status"] == "fail"
    assert "subscription-guard" in res["finding"]["detail"] and res["finding"]["actions"] == []
    assert len(arm.deleted) == 1


def test_restore_point_opt_in_deletes_only_azure_backups_points_of_this_vm(arm, tmp_path):
    inventory = make_inventory(tmp_path, HOSTS)
    opts = {f"{ROLE}_remove_lock": True, f"{ROLE}_delete_restore_points": True}
    play = role_play(tmp_path, ROLE, **opts)
    arm.state["locks"] = arm.state["locks"][:1]  # the group's lock only
    arm.state["backup_rg_throttle"], arm.state["retry_after"] = 2, 1  # our list waits Retry-After
    proc = run_playbook(inventory, play, json_output=True)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert arm.deleted == [f"{GROUP}/{LOCKS}/keep-backup-rg", *OURS]
    left = {
        c["name"]: [p["name"] for p in c["properties"]["restorePoints"]] for c in arm.state["restore_point_collections"]
    }
    assert left == {
        "AzureBackup_win01_123456789": [],
        "AzureBackup_other01_42": ["rp-o"],  # another VM's
        "my-own-points": ["mine"],  # this VM's, but not Azure Backup's name
        "AzureBackup_win01_77": [],
        "AzureBackup_win01_extra": ["x"],  # not <digits>
    }
    expanded = {r["path"].rsplit("/", 1)[-1] for r in arm.requests if r["query"].get("$expand") == ["restorePoints"]}
    assert expanded == {
        "AzureBackup_win01_123456789",
        "AzureBackup_win01_77",
        "AzureBackup_win01_extra",
        "my-own-points",
    }
    throttled = [r for r in arm.requests if r["path"].endswith("/locks") and BRG in r["path"]]
    assert len(throttled) == 3  # two 429 answers waited, then the page
    res = results(proc)["win01"]
    assert res["changed"] is True and res["finding"]["status"] == "fail"
    again = run_playbook(inventory, play, json_output=True)
    assert again.returncode == 0
    res = results(again)["win01"]
    assert res["changed"] is False and res["finding"]["status"] == "pass"
    assert _changes(arm)[-1]["path"].endswith("rp-4")  # the second run sent no DELETE


def test_a_failed_delete_is_an_error_naming_the_restore_point(arm, tmp_path):
    opts = {f"{ROLE}_remove_lock": True, f"{ROLE}_delete_restore_points": True}
    arm.state["locks"] = arm.state["locks"][:1]
    arm.state["backup_rg_fail"], arm.state["backup_rg_fault_on"] = 1, f"DELETE {OURS[0]}"
    proc = run_playbook(make_inventory(tmp_path, HOSTS), role_play(tmp_path, ROLE, **opts), json_output=True)
    # the lock went; the first restore point's DELETE got the 503 (no retry in azure_rm_resource's client):
    # the host fails naming it, the others were still deleted
    assert proc.returncode != 0
    failed = [
        res
        for p in proc.json["plays"]
        for task in p["tasks"]
        for host, res in task["hosts"].items()
        if host == "win01" and res.get("failed") and not res.get("results")
    ]
    assert len(failed) == 1 and f"deleting restore point {OURS[0]}" in failed[0]["msg"], proc.stdout[-3000:]
    assert arm.deleted == [f"{GROUP}/{LOCKS}/keep-backup-rg", *OURS[1:]]


def test_a_read_that_keeps_failing_is_an_error_and_changes_nothing(arm, tmp_path):
    opts = {f"{ROLE}_remove_lock": True, f"{ROLE}_delete_restore_points": True}
    arm.state["backup_rg_fail"], arm.state["retry_after"] = 10, 0
    proc = run_playbook(make_inventory(tmp_path, HOSTS), role_play(tmp_path, ROLE, **opts), json_output=True)
    assert proc.returncode != 0
    assert f"resource group {BRG} could not be read" in proc.stdout, proc.stdout[-3000:]
    assert _changes(arm) == [] and arm.deleted == []


def test_no_backup_group_yet_is_a_pass(arm, tmp_path):
    del arm.state["resource_groups"][BRG.casefold()]
    proc = run_playbook(make_inventory(tmp_path, HOSTS), role_play(tmp_path, ROLE), json_output=True)
    assert proc.returncode == 0, proc.stdout[-4000:]
    finding = results(proc)["win01"]["finding"]
    assert finding["status"] == "pass" and "does not exist" in finding["detail"]


def test_linux_guest_finding_beside_the_azure_one(arm, tmp_path):
    conf = tmp_path / "vmbackup.conf"
    conf.write_text("[SnapshotThread]\nmountstoskip = /mnt\n")
    hosts = {"win01": {"vmbackup_azure_resource_group": "rg-app", "vmbackup_os": "linux"}}
    play = role_play(
        tmp_path,
        ROLE,
        **{f"{ROLE}_path": str(conf), f"{ROLE}_plugin_host_conf": str(tmp_path / "absent.conf")},
    )
    proc = run_playbook(make_inventory(tmp_path, hosts), play, check=True, json_output=True)
    assert proc.returncode == 0, proc.stdout[-4000:]
    res = results(proc)["win01"]
    assert [f["error_code"] for f in res["findings"]] == [ROLE and "ExtensionFailedSnapshotLimitReachedError"] * 2
    assert res["finding"]["status"] == "fail"  # the worse of the two: the lock
    assert res["findings"][1]["status"] == "fail" and "keep-backup-rg" in res["findings"][1]["detail"]


# ---- snapshot_extension_load_failed: the same body as extension_stuck_in_deletion_state ---------------------
LOAD = "snapshot_extension_load_failed"


def test_snapshot_extension_load_failed_end_to_end(arm, tmp_path):
    arm.state["vms"]["rg-app/win01"]["extensions"] = {
        "VMSnapshot": {"type": "VMSnapshot", "provisioning_state": "Failed"},
        "Other": {"publisher": "Contoso", "type": "Other", "provisioning_state": "Failed"},
    }
    inventory = make_inventory(tmp_path, HOSTS)
    check = run_playbook(
        inventory, role_play(tmp_path, LOAD, **{f"{LOAD}_uninstall": True}), check=True, json_output=True
    )
    assert check.returncode == 0, check.stdout[-4000:]
    res = results(check)
    assert res["win01"]["finding"]["error_code"] == "SnapshotExtensionLoadFailed"
    assert res["win01"]["finding"]["status"] == "fail" and arm.deleted == []
    assert res["nocfg"]["finding"]["status"] == "not_applicable"
    play = role_play(tmp_path, LOAD, **{f"{LOAD}_uninstall": True})
    proc = run_playbook(inventory, play, json_output=True)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert arm.deleted == ["rg-app/win01/VMSnapshot"]
    assert results(proc)["win01"]["changed"] is True
    again = run_playbook(inventory, play, json_output=True)
    assert results(again)["win01"]["changed"] is False and arm.deleted == ["rg-app/win01/VMSnapshot"]
