"""The Azure side, through azure.azcollection's modules unmodified, against the local ARM endpoint.

tools/arm_endpoint.py (HTTPS on 127.0.0.1, a test CA made per test) answers for
https://management.azure.com through a CONNECT proxy that tunnels to that host only and never
connects out; the modules authenticate with azure-identity's managed identity (IDENTITY_ENDPOINT /
IDENTITY_HEADER, App Service form) against the endpoint's token route. The modules run with
.venv-azure's Python (azure.azcollection's own requirements.txt, `make setup`), as a user's
vmbackup_azure_python would. What is not Azure here: the endpoint itself (shapes from the compute,
resources and recoveryservicesbackup REST specs / SDK models), and the jobs' content.
"""

from __future__ import annotations

import json
import os

import pytest
from arm_helpers import AZURE_PYTHON, SUB, results, role_play, sdk_records, serve
from arm_helpers import inventory as make_inventory
from arm_helpers import play as make_play
from conftest import ROOT, run_playbook

CODE = "ExtensionStuckInDeletionState"
ROLE = "extension_stuck_in_deletion_state"
VSS_MESSAGE = "Snapshot operation failed because VSS writers were in a bad state."
STUCK_MESSAGE = "Extension state is not supportive to backup operation"


def _state():
    return {
        "subscription": SUB,
        "page_size": 2,
        "resource_groups": {"rg-app": {"location": "westeurope"}},
        "vms": {
            "rg-app/win01": {
                "os": "Windows",
                "extensions": {
                    "VMSnapshot": {"type": "VMSnapshot", "provisioning_state": "Deleting"},
                    "MicrosoftMonitoringAgent": {
                        "publisher": "Microsoft.EnterpriseCloud.Monitoring",
                        "type": "MicrosoftMonitoringAgent",
                        "provisioning_state": "Failed",
                    },
                },
            },
            "rg-app/lnx01": {
                "os": "Linux",
                "extensions": {"VMSnapshotLinux": {"type": "VMSnapshotLinux", "provisioning_state": "Succeeded"}},
            },
        },
    }


@pytest.fixture
def arm(monkeypatch):
    endpoint = serve(monkeypatch, _state())
    yield endpoint
    endpoint.stop()


INV_HOSTS = {
    "win01": {"vmbackup_azure_resource_group": "rg-app"},
    "lnx01": {"vmbackup_azure_resource_group": "rg-app"},
    "nocfg": {},
}


def test_check_mode_reports_exactly_and_deletes_nothing(arm, tmp_path):
    proc = run_playbook(
        make_inventory(tmp_path, INV_HOSTS), role_play(tmp_path, ROLE), "--diff", check=True, json_output=True
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    res = results(proc)
    assert res["win01"]["finding"]["status"] == "fail" and "VMSnapshot is Deleting" in res["win01"]["finding"]["detail"]
    assert "would uninstall VMSnapshot" in res["win01"]["finding"]["fix"]
    assert res["win01"]["changed"] is False
    assert res["lnx01"]["finding"]["status"] == "pass"
    assert res["nocfg"]["finding"]["status"] == "not_applicable"
    assert not [r for r in arm.requests if r["method"] == "DELETE"]
    assert arm.deleted == []
    # the token came from the managed-identity endpoint and every ARM call carried it
    assert any(r["path"] == "/msi/token" for r in arm.requests)
    assert all(r["auth"] for r in arm.requests if r["method"] == "GET" and r["path"].startswith("/subscriptions"))


def test_without_the_opt_in_nothing_is_deleted_even_for_real(arm, tmp_path):
    proc = run_playbook(make_inventory(tmp_path, INV_HOSTS), role_play(tmp_path, ROLE), json_output=True)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert arm.deleted == [] and results(proc)["win01"]["finding"]["status"] == "fail"


def test_opt_in_uninstalls_only_the_stuck_backup_extension_then_is_idempotent(arm, tmp_path):
    inventory = make_inventory(tmp_path, INV_HOSTS)
    play = role_play(tmp_path, ROLE, **{f"{ROLE}_uninstall": True})
    arm.state["throttle"], arm.state["retry_after"] = 1, 1  # the SDK's ARM retry policy waits Retry-After
    proc = run_playbook(inventory, play, json_output=True)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert arm.deleted == ["rg-app/win01/VMSnapshot"]  # never the monitoring agent, never lnx01's
    res = results(proc)
    assert res["win01"]["changed"] is True
    assert "MicrosoftMonitoringAgent" in arm.state["vms"]["rg-app/win01"]["extensions"]
    again = run_playbook(inventory, play, json_output=True)
    assert again.returncode == 0
    res = results(again)
    assert res["win01"]["changed"] is False and res["win01"]["finding"]["status"] == "pass"
    assert arm.deleted == ["rg-app/win01/VMSnapshot"]


def test_a_vm_that_does_not_exist_fails_naming_it(arm, tmp_path):
    inventory = make_inventory(tmp_path, {"ghost": {"vmbackup_azure_resource_group": "rg-app"}})
    proc = run_playbook(inventory, role_play(tmp_path, ROLE, **{f"{ROLE}_uninstall": True}))
    assert proc.returncode != 0
    assert "ghost" in proc.stdout and arm.deleted == []


# ---- live triage end to end: failed jobs page by page -> hosts -> the roles of their codes ---------------------
def test_live_triage_pages_hosts_roles(arm, tmp_path):
    jobs = sdk_records.page_with(
        "pinned",
        {
            "jobs": [
                {
                    "name": "j-win",
                    "vm": "win01",
                    "rg": "rg-app",
                    "start": "2026-03-02T10:00:00Z",
                    "error_code": 400120,
                    "error_string": STUCK_MESSAGE,
                },
                {
                    "name": "j-lnx",
                    "vm": "lnx01",
                    "rg": "rg-app",
                    "start": "2026-03-02T11:00:00Z",
                    "error_code": 400121,
                    "error_string": "Something new.",
                },
                {
                    "name": "j-old",
                    "vm": "win01",
                    "rg": "rg-app",
                    "start": "2026-03-01T10:00:00Z",
                    "error_code": 400122,
                    "error_string": VSS_MESSAGE,
                },
            ]
        },  # fmt: skip
    )["page"]["value"]
    arm.state["vaults"] = {"rg-backup/rsv1": {"jobs": jobs}}
    arm.state["page_size"] = 1
    arm.state["throttle"], arm.state["retry_after"] = 2, 1
    inventory = make_inventory(tmp_path, {k: v for k, v in INV_HOSTS.items() if k != "nocfg"})
    report = tmp_path / "triage.json"
    proc = run_playbook(
        inventory,
        os.path.join(ROOT, "playbooks", "triage.yml"),
        extra_vars={
            "vmbackup_triage_vault": {"name": "rsv1", "resource_group": "rg-backup", "subscription_id": SUB},
            "vmbackup_azure_python": AZURE_PYTHON,
            "vmbackup_report_path": str(report),
        },
    )
    # j-lnx carries a code the catalog does not know: its host is an error in the report, so the default
    # vmbackup_fail_on=error ends the run with 2 after the report is written.
    assert proc.returncode == 2 and "vmbackup_fail_on=error" in proc.stdout, proc.stdout[-5000:]
    calls = [r for r in arm.requests if "backupJobs" in r["path"]]
    assert len([c for c in calls if c["method"] == "GET"]) >= 3  # three pages (and the throttled retries)
    assert all(len(c["query"].get("$filter", [])) == 1 and "skiptoken" not in c["query"] for c in calls)
    data = json.loads(report.read_text())
    hosts = {h["host"]: h for h in data["hosts"]}
    assert hosts["win01"]["job"]["job_id"] == "j-win"
    assert [f["error_code"] for f in hosts["win01"]["findings"]] == [CODE]
    assert hosts["win01"]["findings"][0]["status"] == "fail"  # the role's own finding: VMSnapshot is Deleting
    assert "Deleting" in hosts["win01"]["findings"][0]["detail"]
    assert data["triage"]["summary"]["incomplete"] is False
    assert [u["job_id"] for u in data["triage"]["unknown"]] == ["j-lnx"]
    assert arm.deleted == []  # triage is check mode unless asked


# ---- a failed vault query says what failed, without the secret ---------------------------
def _query_play(tmp_path, **args):
    task = {"vault_name": "rsv1", "vault_resource_group": "rg-backup", **args}
    return make_play(
        tmp_path,
        "localhost",
        [{"vmbackup.azure.backup_jobs_info": task, "vars": {"ansible_python_interpreter": AZURE_PYTHON}}],
    )


def _failure(proc):
    for play in proc.json["plays"]:
        for task in play["tasks"]:
            for res in task["hosts"].values():
                if res.get("failed"):
                    return res
    raise AssertionError(proc.stdout[-3000:])


def test_vault_not_found_is_named(arm, tmp_path):
    arm.state["vaults"] = {}
    proc = run_playbook(make_inventory(tmp_path, {"localhost": {}}), _query_play(tmp_path), json_output=True)
    res = _failure(proc)
    assert res["failure_kind"] == "not_found" and "rg-backup/rsv1" in res["msg"] and "404" in res["msg"]


def test_bad_managed_identity_is_auth(arm, tmp_path, monkeypatch):
    arm.state["vaults"] = {"rg-backup/rsv1": {"jobs": []}}
    monkeypatch.setenv("IDENTITY_HEADER", "wrong-header")
    proc = run_playbook(make_inventory(tmp_path, {"localhost": {}}), _query_play(tmp_path), json_output=True)
    res = _failure(proc)
    assert res["failure_kind"] == "auth", res["msg"]


def test_unreachable_endpoint_is_network_and_the_secret_never_shows(arm, tmp_path, monkeypatch):
    secret = "Sup3r-S3cret-Value-42"
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")  # nothing listens on the discard port here
    monkeypatch.setenv("https_proxy", "http://127.0.0.1:9")
    monkeypatch.setenv("ANSIBLE_AZURE_AUTH_SOURCE", "auto")  # the module arguments: a service principal
    inventory = make_inventory(tmp_path, {"localhost": {}})
    play = _query_play(
        tmp_path, client_id="11111111-2222-3333-4444-555555555555", secret=secret, tenant=SUB, subscription_id=SUB
    )
    res = _failure(run_playbook(inventory, play, json_output=True))
    assert res["failure_kind"] == "network", res["msg"]
    assert secret not in json.dumps(res)
    verbose = run_playbook(inventory, play, "-vvv")
    assert verbose.returncode != 0 and secret not in verbose.stdout + verbose.stderr


# ---- the scan: each subscription read once, control-plane findings beside the guest's ----------------------------
def test_scan_reads_the_subscription_once_and_reports_control_beside_guest(arm, sim_fleet, tmp_path):
    arm.state["vms"]["rg-app/win01"]["power_state"] = "stopping"
    arm.state["vms"]["rg-app/win02"] = {"os": "Windows", "agent_status": "Ready", "extensions": {}}
    arm.state["vms"]["rg-app/win03"] = {
        "os": "Windows", "agent_status": "Not Ready", "provisioning_state": "Failed", "provision_vm_agent": False,
    }  # fmt: skip
    arm.state["page_size"] = 2  # 4 VMs: two pages
    arm.state["throttle"], arm.state["retry_after"] = 1, 1
    backup_rg = f"/subscriptions/{SUB}/resourceGroups/AzureBackupRG_westeurope_1/providers"
    win01_id = f"/subscriptions/{SUB}/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/win01"
    arm.state["locks"] = [  # ManagementLockObject
        {"id": f"{backup_rg}/Microsoft.Authorization/locks/keep-it", "name": "keep-it",
         "type": "Microsoft.Authorization/locks", "properties": {"level": "CanNotDelete"}}
    ]  # fmt: skip
    arm.state["restore_point_collections"] = [  # RestorePointCollection
        {"id": f"{backup_rg}/Microsoft.Compute/restorePointCollections/AzureBackup_win01_1234", "name":
         "AzureBackup_win01_1234", "location": "westeurope", "properties": {"source": {"id": win01_id}}}
    ]  # fmt: skip
    rg = {"vmbackup_azure_resource_group": "rg-app"}
    inventory, states = sim_fleet(
        {"win01": "vss_stuck_fr-FR.yml", "win02": "healthy.yml", "win03": "healthy.yml", "onprem": "healthy.yml"},
        {"win01": rg, "win02": rg, "win03": rg},
    )  # fmt: skip
    report_path = tmp_path / "scan.json"
    proc = run_playbook(
        inventory,
        "playbooks/scan.yml",
        extra_vars={
            "vmbackup_azure_control_plane": True,
            "vmbackup_azure_python": AZURE_PYTHON,
            "vmbackup_report_path": str(report_path),
        },
    )
    assert proc.returncode in (0, 2), proc.stdout[-4000:]
    report = json.loads(report_path.read_text())
    got = {(h["host"], f["error_code"]): f for h in report["hosts"] for f in h["findings"]}
    # the guest's finding and the control plane's, side by side on one host
    assert got[("win01", "ExtensionFailedVssWriterInBadState")]["status"] == "fail"
    assert got[("win01", "UserErrorVmNotInDesirableState")]["status"] == "fail"
    assert "stopping" in got[("win01", "UserErrorVmNotInDesirableState")]["detail"]
    assert got[("win01", CODE)]["status"] == "fail"  # VMSnapshot Deleting
    assert got[("win02", "UserErrorVmNotInDesirableState")]["status"] == "pass"
    assert got[("win02", "AzureVmOffline")]["status"] == "pass"
    assert got[("win03", "UserErrorVmProvisioningStateFailed")]["status"] == "fail"
    assert got[("win03", "AzureVmOffline")]["status"] == "fail"
    assert got[("win03", "NoVmAgent")]["status"] == "fail"  # osProfile.windowsConfiguration.provisionVMAgent
    assert got[("win02", "NoVmAgent")]["status"] == "pass"
    assert got[("onprem", "UserErrorVmNotInDesirableState")]["status"] == "not_applicable"
    # the lock on AzureBackupRG_<region>_1 that stops Azure Backup's clean-up (report only)
    lock = got[("win01", "ExtensionFailedSnapshotLimitReachedError")]
    assert lock["status"] == "fail" and "keep-it (CanNotDelete)" in lock["detail"]
    assert "1 restore point collection(s)" in lock["detail"]
    # one paged list for the whole subscription: no call per VM
    arm_calls = [r for r in arm.requests if r["path"].startswith("/subscriptions")]
    assert {r["path"] for r in arm_calls} == {
        f"/subscriptions/{SUB}/providers/{kind}"
        for kind in ("Microsoft.Compute/virtualMachines", "Microsoft.Authorization/locks",
                     "Microsoft.Compute/restorePointCollections")
    }  # fmt: skip
    # VMs with status: page 1 throttled once, page 1, page 2; VM models: 2 pages; locks; restore point collections
    assert len(arm_calls) == 7
    assert not [r for r in arm.requests if r["method"] == "DELETE"]
    # still one remote execution per guest for the whole scan
    for name, path in states.items():
        with open(f"{path}.log.jsonl", encoding="utf-8") as handle:
            assert len(handle.readlines()) == 1, name
