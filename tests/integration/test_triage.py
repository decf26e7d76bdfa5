"""playbooks/triage.yml on simulated Windows hosts and the real Linux test host.

- by default (check mode) nothing changes: simulator state files byte-identical, the ext4 disk still
  unclean; hosts without a failed job are never contacted; the report (schema-valid, mode triage) has
  each triaged host's codes as its roles found them, the job that named them, an unknown code and an
  unmapped VM;
- with vmbackup_triage_remediate=true (and the roles' own opt-ins) the roles fix the hosts, and only
  the roles of each host's codes run (the Linux fix on the Linux host, the VSS fix on Windows hosts);
- the live Azure query cannot run here (no Azure): a bad vault fails before any call, and a result in
  the shape azure_rm_resource_info registers goes through the same path as a file (unit tests check
  the query's arguments).
"""

from __future__ import annotations

import json
import os

import linux_testhost  # tools/linux_testhost.py, put on sys.path by conftest
import pytest
import yaml
from conftest import ROOT, read_report, run_playbook, sha256, writer_states

PLAYBOOK = "playbooks/triage.yml"
VSS = "ExtensionFailedVssWriterInBadState"
FS = "UserErrorFsFreezeFailed"
FLEET = {
    "win-tw": "vss_system_writer_timeout_zh-TW.yml",
    "win-de": "vss_multi_failed_de-DE.yml",
    "win-ok": "healthy.yml",
    "win-idle": "vss_stuck_fr-FR.yml",  # broken, but no failed job names it: triage leaves it alone
}
OPT_IN = {"extension_failed_vss_writer_in_bad_state_restart": True, "user_error_fs_freeze_failed_repair": True}


def job(name, vm, start, *, code=None, title=None, text=None, dynamic=None, container=None):
    details = {}
    if code is not None:
        details["errorCode"] = code
    if title:
        details["errorTitle"] = title
    if text:
        details["errorString"] = text
    props = {
        "jobType": "AzureIaaSVMJob",
        "entityFriendlyName": vm,
        "backupManagementType": "AzureIaasVM",
        "operation": "Backup",
        "status": "Failed",
        "startTime": start,
        "errorDetails": [details] if details else [],
    }
    if dynamic:
        props["extendedInfo"] = {"dynamicErrorMessage": dynamic}
    if container:
        props["containerName"] = container
    return {
        "id": f"/subscriptions/s/resourceGroups/rg/providers/x/backupJobs/{name}",
        "name": name,
        "properties": props,
    }


JOBS = [
    job("tw-1", "win-tw", "2026-03-02T22:30:11.4162712Z", code=VSS, container="iaasvmcontainerv2;rg-tw;win-tw"),
    job("de-old", "win-de", "2026-03-01T22:30:00Z", code=380008),
    job(
        "de-new",
        "win-de",
        "2026-03-02T22:31:00Z",
        dynamic="Snapshot operation failed because VSS writers were in a bad state.",
    ),
    job("ok-1", "win-ok", "2026-03-02T22:32:00Z", code=999999, text="An internal error occurred."),
    job("lnx-1", "lnx", "2026-03-02T23:05:44Z", code=0, title=FS),
    job("gone-1", "db-legacy-07", "2026-03-02T22:36:00Z", code=320001),
]


def to_snake(value):
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            snake = "".join("_" + c.lower() if c.isupper() else c for c in key).lstrip("_")
            out[snake] = to_snake(item)
        return out
    if isinstance(value, list):
        return [to_snake(v) for v in value]
    return value


def read_triage_report(path):
    report = read_report(path)
    assert report["mode"] == "triage"
    return report


@pytest.fixture
def fleet(sim_fleet, linux_host):
    inventory, states = sim_fleet(FLEET)
    data = yaml.safe_load(inventory.read_text())
    data["all"]["children"]["linux"] = {
        "hosts": {"lnx": {**linux_host["vars"], "user_error_fs_freeze_failed_mounts": [linux_host["mountpoint"]]}}
    }
    inventory.write_text(yaml.safe_dump(data))
    return inventory, states, linux_host


def disk(linux):
    return linux_testhost.fs_state(linux["disk"]["loopdev"]), linux_testhost.mount_entry(linux["mountpoint"])


def test_check_mode_by_default_then_remediate(fleet, tmp_path):
    inventory, states, linux = fleet
    jobs_file = tmp_path / "jobs-failed.json"
    jobs_file.write_text(json.dumps(JOBS))
    before = {name: sha256(path) for name, path in states.items()}
    disk_before = disk(linux)
    assert disk_before[0] == "not clean"

    # 1. camelCase file (az backup job list), check mode by default.
    report_path = tmp_path / "triage.json"
    proc = run_playbook(
        inventory,
        PLAYBOOK,
        extra_vars={**OPT_IN, "vmbackup_triage_jobs_file": str(jobs_file), "vmbackup_report_path": str(report_path)},
    )
    # win-ok's job shows only a code the catalog does not know: not fully checked, so the default
    # vmbackup_fail_on=error ends the run non-zero -- after the report is written (read below).
    assert proc.returncode != 0 and "vmbackup_fail_on=error: 1 host(s)" in proc.stdout, proc.stdout[-3000:]
    assert {name: sha256(path) for name, path in states.items()} == before, "check mode changed a host"
    assert disk(linux) == disk_before
    assert not os.path.exists(f"{states['win-idle']}.log.jsonl"), "a host without a failed job was contacted"
    assert not os.path.exists(f"{states['win-ok']}.log.jsonl"), "a host with no known code ran a role"
    for line in (
        f"win-tw: {VSS} (job tw-1",
        f"win-de: {VSS} (job de-new",
        f"lnx: {FS} (job lnx-1",
        "UNMAPPED job gone-1",
    ):
        assert line in proc.stdout, line

    report = read_triage_report(report_path)
    hosts = {h["host"]: h for h in report["hosts"]}
    assert sorted(hosts) == ["lnx", "win-de", "win-ok", "win-tw"]
    tw = hosts["win-tw"]["findings"]
    assert [f["error_code"] for f in tw] == [VSS] and tw[0]["status"] == "fail"
    assert "System Writer" in tw[0]["detail"] and "CryptSvc" in tw[0]["fix"]  # what the role found
    assert hosts["win-tw"]["job"]["job_id"] == "tw-1" and hosts["win-tw"]["job"]["resource_group"] == "rg-tw"
    assert hosts["win-de"]["job"]["older_failed_jobs"] == ["de-old"]
    assert [(f["error_code"], f["status"]) for f in hosts["lnx"]["findings"]] == [(FS, "fail")]
    assert not any(f.get("changed") for h in hosts.values() for f in h["findings"])
    assert "999999" in hosts["win-ok"]["error"] and hosts["win-ok"]["findings"] == []
    triage = report["triage"]
    assert triage["source"] == f"file:{jobs_file}"
    assert [(j["job_id"], j["codes"]) for j in triage["unmapped"]] == [("gone-1", ["ResourceNotFound"])]
    assert [(j["job_id"], j["host"], j["unknown_codes"]) for j in triage["unknown"]] == [("ok-1", "win-ok", ["999999"])]

    # 2. snake_case (a registered azure_rm_backupjob_info result), remediate with the roles' opt-ins.
    snake_file = tmp_path / "jobs-snake.json"
    snake_file.write_text(json.dumps({"changed": False, "backup_jobs": to_snake(JOBS)}))
    idle_before = sha256(states["win-idle"])
    report_path = tmp_path / "triage-fix.json"
    proc = run_playbook(
        inventory,
        PLAYBOOK,
        extra_vars={
            **OPT_IN,
            "vmbackup_triage_jobs_file": str(snake_file),
            "vmbackup_triage_remediate": True,
            "vmbackup_report_path": str(report_path),
            "vmbackup_fail_on": "never",  # win-ok's unknown code, as above
        },
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert set(writer_states(states["win-tw"]).values()) == {1}
    assert set(writer_states(states["win-de"]).values()) == {1} or sha256(states["win-de"]) != before["win-de"]
    assert linux_testhost.fs_state(linux["disk"]["loopdev"]) == "clean"
    assert sha256(states["win-idle"]) == idle_before and sha256(states["win-ok"]) == before["win-ok"]
    report = read_triage_report(report_path)
    changed = {(h["host"], f["error_code"]) for h in report["hosts"] for f in h["findings"] if f.get("changed")}
    assert {("win-tw", VSS), ("lnx", FS)} <= changed
    assert report["triage"]["unmapped"][0]["job_id"] == "gone-1"


def test_live_query_path_without_azure(sim_fleet, tmp_path):
    inventory, states = sim_fleet({"win-tw": FLEET["win-tw"]})
    # A bad vault fails before the Azure call and before any host is touched.
    proc = run_playbook(inventory, PLAYBOOK, extra_vars={"vmbackup_triage_vault": {"name": "rsv-prod"}})
    assert proc.returncode != 0
    assert "vmbackup_triage_vault needs resource_group" in proc.stdout + proc.stderr
    assert "backup_jobs_info" not in proc.stdout.split("list the vault's failed VM backup jobs")[-1]
    # No source, or two: a clear message.
    proc = run_playbook(inventory, PLAYBOOK)
    assert proc.returncode != 0 and "Give exactly one of vmbackup_triage_jobs_file" in proc.stdout
    assert not os.path.exists(f"{states['win-tw']}.log.jsonl")

    # What azure_rm_resource_info registers (its `response` holds each page's `value`): same path as a file.
    registered = {"changed": False, "status_code": 200, "url": "/subscriptions/s/...", "response": JOBS[:1]}
    report_path = tmp_path / "live.json"
    proc = run_playbook(
        inventory,
        PLAYBOOK,
        extra_vars={"vmbackup_triage_jobs": registered, "vmbackup_report_path": str(report_path)},
        check=True,
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    report = read_triage_report(report_path)
    assert report["triage"]["source"] == "variable:vmbackup_triage_jobs"
    assert [f["error_code"] for f in report["hosts"][0]["findings"]] == [VSS]


def test_the_vault_query_task_never_logs_its_arguments():
    with open(os.path.join(ROOT, PLAYBOOK), encoding="utf-8") as handle:
        plays = yaml.safe_load(handle)
    tasks = [t for t in plays[0]["tasks"] if "vmbackup.azure.backup_jobs_info" in t]
    # no task-level no_log: its failure must say auth / network / not found; the
    # credentials are no_log options of the module (azure.azcollection's common arguments)
    assert len(tasks) == 1 and "no_log" not in tasks[0]
    args = tasks[0]["vmbackup.azure.backup_jobs_info"]
    # credentials only from variables (vault) or, when omitted, the environment -- never a literal
    for key in ("client_id", "secret", "tenant", "subscription_id"):
        assert "default(omit)" in args[key]
