"""The VM control-plane fixes through azure.azcollection's modules unmodified, against the local ARM endpoint.

UserErrorVmProvisioningStateFailed (failed extensions removed, VM restarted: both opt-in),
UserErrorVmNotInDesirableState (a transitional power state waited for, never changed), AzureVmOffline and NoVmAgent
(reported). The guests are simulated Windows hosts (their guest part runs as usual); the Azure side is
tools/arm_endpoint.py, one per test.
"""

from __future__ import annotations

import pytest
from arm_helpers import AZURE_PYTHON, SUB, results, role_play, serve
from conftest import run_playbook

ROLE = "user_error_vm_provisioning_state_failed"
RG = {"vmbackup_azure_resource_group": "rg-app", "vmbackup_azure_python": AZURE_PYTHON}


def _state():
    return {
        "subscription": SUB,
        "resource_groups": {"rg-app": {"location": "westeurope"}},
        "vms": {
            "rg-app/win01": {
                "os": "Windows",
                "provisioning_state": "Failed",
                "agent_status": "Ready",
                "extensions": {
                    "BadExt": {"publisher": "Contoso.Tools", "type": "BadExt", "provisioning_state": "Failed"},
                    "VMSnapshot": {"type": "VMSnapshot", "provisioning_state": "Succeeded"},
                },
            },
            "rg-app/win02": {"os": "Windows", "agent_status": "Ready", "extensions": {}},
        },
    }


@pytest.fixture
def arm(monkeypatch):
    endpoint = serve(monkeypatch, _state())
    yield endpoint
    endpoint.stop()


def _changes(arm):
    return [r for r in arm.requests if r["method"] in ("POST", "DELETE", "PUT", "PATCH")]


def _arm_calls(arm):
    return [r for r in arm.requests if r["path"].startswith("/subscriptions")]


def _registered(proc, host, role):
    """The role's <role>_result as its set_fact registered it (also when the role then failed the host)."""
    for p in proc.json["plays"]:
        for task in p["tasks"]:
            facts = (task["hosts"].get(host) or {}).get("ansible_facts") or {}
            if f"{role}_result" in facts:
                return facts[f"{role}_result"]
    raise AssertionError(f"{role}_result was not set for {host}")


def _run(sim_fleet, hosts, play, check=False):
    inventory, _states = sim_fleet({h: "healthy.yml" for h in hosts}, {h: RG for h in hosts})
    proc = run_playbook(inventory, play, "--diff", check=check, json_output=True)
    return proc, results(proc)


OPT_IN = {f"{ROLE}_remove_failed_extensions": True, f"{ROLE}_restart_vm": True, f"{ROLE}_wait_interval": 1}


def test_check_mode_is_exact_and_changes_nothing(arm, sim_fleet, tmp_path):
    proc, res = _run(sim_fleet, ["win01", "win02"], role_play(tmp_path, ROLE, **OPT_IN), check=True)
    assert proc.returncode == 0, proc.stdout[-4000:]
    cp = res["win01"]["control_plane"]
    assert cp["finding"]["status"] == "fail" and cp["changed"] is False
    assert "would remove the failed extension(s) BadExt" in cp["finding"]["fix"]
    assert "would restart VM rg-app/win01" in cp["finding"]["fix"]
    assert cp["diff"]["before"]["failed_extensions"] == ["BadExt"]
    # the merged result: the control plane's fail outranks the guest's pass
    assert res["win01"]["finding"]["status"] == "fail" and res["win01"]["changed"] is False
    assert res["win02"]["finding"]["status"] == "pass"
    assert _changes(arm) == [] and arm.deleted == []
    assert "BadExt" in arm.state["vms"]["rg-app/win01"]["extensions"]


def test_without_the_opt_ins_nothing_is_changed(arm, sim_fleet, tmp_path):
    proc, res = _run(sim_fleet, ["win01"], role_play(tmp_path, ROLE))
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert res["win01"]["control_plane"]["finding"]["status"] == "fail"
    assert _changes(arm) == [] and "restarted" not in arm.state


def test_opt_in_removes_only_the_failed_extensions_restarts_then_is_idempotent(arm, sim_fleet, tmp_path):
    arm.state["restart_polls"] = 2  # InProgress twice, then Succeeded
    play = role_play(tmp_path, ROLE, **OPT_IN)
    proc, res = _run(sim_fleet, ["win01", "win02"], play)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert arm.deleted == ["rg-app/win01/BadExt"]  # never VMSnapshot, nothing of win02
    assert arm.state["restarted"] == ["rg-app/win01"]
    cp = res["win01"]["control_plane"]
    assert cp["changed"] is True and res["win01"]["changed"] is True
    assert cp["finding_after"]["status"] == "pass"
    posts = [r for r in arm.requests if r["method"] == "POST"]
    assert [p["path"].rsplit("/", 1)[-1] for p in posts] == ["restart"]
    assert posts[0]["query"]["api-version"] == ["2024-07-01"]
    # after the POST the role read the instance view until the VM ran with its provisioning settled: Updating /
    # starting twice (restart_polls), then running / Succeeded
    after = arm.requests[arm.requests.index(posts[0]) + 1 :]
    assert len([r for r in after if r["path"].endswith("/instanceView")]) == 3
    assert res["win02"]["control_plane"]["changed"] is False
    before = len(_changes(arm))
    again_proc, again = _run(sim_fleet, ["win01"], play)
    assert again_proc.returncode == 0
    assert again["win01"]["changed"] is False and again["win01"]["control_plane"]["finding"]["status"] == "pass"
    assert len(_changes(arm)) == before  # the second run changes nothing


def test_a_throttled_restart_is_sent_again(arm, sim_fleet, tmp_path):
    arm.state["faults"], arm.state["retry_after"] = {"POST": [429]}, 1
    proc, res = _run(sim_fleet, ["win01"], role_play(tmp_path, ROLE, **OPT_IN))
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert len([r for r in arm.requests if r["method"] == "POST"]) == 2
    assert arm.state["restarted"] == ["rg-app/win01"]
    assert res["win01"]["control_plane"]["finding_after"]["status"] == "pass"


def test_a_restart_azure_keeps_refusing_is_an_error_naming_vm_removed_and_answer(arm, sim_fleet, tmp_path):
    arm.state["faults"] = {"POST": [503] * 4}
    proc, _res = _run(sim_fleet, ["win01"], role_play(tmp_path, ROLE, **OPT_IN))
    assert proc.returncode != 0  # the role fails the host after recording its result
    result = _registered(proc, "win01", ROLE)
    finding = result["control_plane"]["finding"]
    assert finding["status"] == "error"  # the error outranks the change already made
    assert result["changed"] is True and result["finding"]["status"] == "error"
    for part in ("rg-app/win01", "removed: BadExt", "HTTP 503", "ServiceUnavailable"):
        assert part in finding["detail"], finding["detail"]
    assert "restarted" not in arm.state and len([r for r in arm.requests if r["method"] == "POST"]) == 4


def test_a_restart_is_held_back_while_failed_extensions_stay(arm, sim_fleet, tmp_path):
    play = role_play(tmp_path, ROLE, **{f"{ROLE}_restart_vm": True})
    proc, res = _run(sim_fleet, ["win01"], play)
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert "waits until the failed extensions are removed" in res["win01"]["control_plane"]["finding"]["fix"]
    assert _changes(arm) == []


def test_transitional_power_state_is_waited_for_then_reported(arm, sim_fleet, tmp_path):
    arm.state["vms"]["rg-app/win02"]["power_states"] = ["stopping", "stopping", "stopping", "stopped"]
    role = "user_error_vm_not_in_desirable_state"
    play = role_play(tmp_path, role, **{f"{role}_wait_interval": 1, f"{role}_wait_timeout": 10})
    proc, res = _run(sim_fleet, ["win02"], play)
    assert proc.returncode == 0, proc.stdout[-4000:]
    finding = res["win02"]["finding"]
    assert finding["status"] == "pass" and "was stopping" in finding["detail"] and "stopped" in finding["detail"]
    reads = [r for r in arm.requests if r["path"].endswith("/instanceView")]
    assert len(reads) == 4 and _changes(arm) == []  # never started or stopped


def test_a_power_state_still_transitional_after_the_timeout_fails(arm, sim_fleet, tmp_path):
    arm.state["vms"]["rg-app/win02"]["power_state"] = "deallocating"
    role = "user_error_vm_not_in_desirable_state"
    play = role_play(tmp_path, role, **{f"{role}_wait_interval": 1, f"{role}_wait_timeout": 2})
    proc, res = _run(sim_fleet, ["win02"], play)
    assert proc.returncode == 0, proc.stdout[-4000:]
    finding = res["win02"]["finding"]
    assert finding["status"] == "fail" and "still is deallocating" in finding["detail"]
    assert len([r for r in arm.requests if r["path"].endswith("/instanceView")]) == 1 + 3 and _changes(arm) == []


def test_agent_status_and_provision_vm_agent_are_reported(arm, sim_fleet, tmp_path):
    arm.state["vms"]["rg-app/win02"].update(agent_status="Not Ready", provision_vm_agent=False)
    proc, res = _run(sim_fleet, ["win01", "win02"], role_play(tmp_path, "azure_vm_offline"))
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert res["win01"]["control_plane"]["finding"]["status"] == "pass"
    offline = res["win02"]["control_plane"]["finding"]
    assert offline["status"] == "fail" and "Not Ready" in offline["detail"]
    assert res["win02"]["finding"]["status"] == "fail"  # beside the guest's pass
    proc, res = _run(sim_fleet, ["win01", "win02"], role_play(tmp_path, "no_vm_agent"))
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert res["win01"]["control_plane"]["finding"]["status"] == "pass"
    agentless = res["win02"]["control_plane"]["finding"]
    assert agentless["status"] == "fail" and "provisionVMAgent = false" in agentless["detail"]
    assert _changes(arm) == []


def test_a_vm_that_does_not_exist_is_an_error_naming_it(arm, sim_fleet, tmp_path):
    inventory, _states = sim_fleet({"ghost": "healthy.yml"}, {"ghost": RG})
    proc = run_playbook(inventory, role_play(tmp_path, ROLE, **OPT_IN), json_output=True)
    assert proc.returncode != 0  # the role fails the host, after recording the error finding
    finding = _registered(proc, "ghost", ROLE)["control_plane"]["finding"]
    assert finding["status"] == "error"
    assert finding["detail"] == "VM rg-app/ghost was not found in Azure (HTTP 404): nothing was decided or changed"
    assert "rg-app/ghost was not found" in proc.stdout
    assert _changes(arm) == []


def test_without_a_resource_group_the_control_plane_is_not_applicable_and_azure_is_not_called(arm, sim_fleet, tmp_path):
    inventory, _states = sim_fleet({"onprem": "healthy.yml"}, {"onprem": {"vmbackup_azure_python": AZURE_PYTHON}})
    for role in (ROLE, "azure_vm_offline", "no_vm_agent", "user_error_vm_not_in_desirable_state"):
        proc = run_playbook(inventory, role_play(tmp_path, role), json_output=True)
        assert proc.returncode == 0, proc.stdout[-4000:]
        assert results(proc)["onprem"]["control_plane"]["finding"]["status"] == "not_applicable"
    assert arm.requests == []


def test_remediate_runs_the_control_plane_role_where_only_azure_fails(arm, sim_fleet, tmp_path):
    # win01's guest is healthy (the guest scan finds nothing to fix) but its VM's provisioning failed in Azure:
    # remediate.yml runs the role there because the host names its resource group; onprem names none and
    # stays at one remote execution, with no role run and no Azure call for it.
    import json

    inventory, states = sim_fleet({"win01": "healthy.yml", "onprem": "healthy.yml"}, {"win01": RG})
    report_path = tmp_path / "remediate.json"
    proc = run_playbook(
        inventory,
        "playbooks/remediate.yml",
        extra_vars={
            "vmbackup_error_codes": ["UserErrorVmProvisioningStateFailed"],
            "vmbackup_report_path": str(report_path),
            f"{ROLE}_remove_failed_extensions": True,
            f"{ROLE}_wait_interval": 1,
        },
    )
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert arm.deleted == ["rg-app/win01/BadExt"]  # the failed extension only, never VMSnapshot
    assert [r for r in _changes(arm) if r["method"] == "POST"] == []  # no restart without its own opt-in
    report = json.loads(report_path.read_text())
    got = {(h["host"], f["error_code"]): f for h in report["hosts"] for f in h["findings"]}
    finding = got[("win01", "UserErrorVmProvisioningStateFailed")]
    # the control plane's finding in the report: the extension removed, the restart held back by its opt-in
    assert finding["status"] == "fail" and finding["changed"] is True
    assert "set user_error_vm_provisioning_state_failed_restart_vm: true" in finding["fix"]
    assert ("onprem", "UserErrorVmProvisioningStateFailed") in got  # the scan's result for the host left alone
    with open(f"{states['onprem']}.log.jsonl", encoding="utf-8") as handle:
        assert len(handle.readlines()) == 1  # the scan only
