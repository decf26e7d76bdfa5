"""scan.yml over the agent, installer and report-only condition states: one remote execution per
host, every condition reported with the right status, the VMSnapshot extension's error code in the
report, the probe parameters taken from the inventory (vmbackup_azure_endpoint_names), and
remediate.yml --check agreeing with the scan for the new fix roles."""

from __future__ import annotations

import json

import yaml
from conftest import log_lines, run_playbook, sha256, task_results

FLEET = {
    "ok": "healthy.yml",
    "static": "conditions_dhcp_static.yml",
    "nodns": "conditions_dns_unresolved.yml",
    "busy": "conditions_high_load.yml",
    "wsb": "conditions_wsb_failing.yml",
    "exterr": "conditions_extension_error.yml",
    "mangled": "conditions_status_mangled.yml",
    "msioff": "installer_msiserver_disabled.yml",
    "stopped": "agent_stopped.yml",
    "noagent": "agent_missing.yml",
}
REPORT_ONLY = (
    "GuestDhcpDisabled",
    "AzureEndpointUnreachable",
    "HighResourceUsage",
    "OtherBackupProductFailing",
    "SnapshotExtensionLoadFailed",
)
AGENT = ("VmAgentNotRunning", "AzureVmOffline", "NoVmAgent", "UserErrorVmProvisioningStateFailed")
EXPECTED_FAIL = {
    "static": {"GuestDhcpDisabled"},
    "nodns": {"AzureEndpointUnreachable"},
    "busy": {"HighResourceUsage"},
    "wsb": {"OtherBackupProductFailing"},
    "exterr": {"SnapshotExtensionLoadFailed"},
    "msioff": {"ExtensionVCRedistInstallationFailure"},
    "stopped": set(AGENT),
    "noagent": set(AGENT),
}
MINE = set(REPORT_ONLY) | set(AGENT) | {"ExtensionVCRedistInstallationFailure"}


def test_scan_reports_conditions_with_one_execution_per_host(sim_fleet, tmp_path):
    storage = "contosobackup.blob.core.windows.net"
    inventory, states = sim_fleet(
        FLEET,
        {"nodns": {"vmbackup_azure_endpoint_names": ["management.azure.com", storage, "login.microsoftonline.com"]}},
    )
    before = {name: sha256(path) for name, path in states.items()}
    report_path = tmp_path / "scan.json"
    # some hosts cannot be fully checked on purpose: vmbackup_fail_on=never keeps the exit status 0
    extra = {"vmbackup_report_path": str(report_path), "vmbackup_fail_on": "never"}
    proc = run_playbook(inventory, "playbooks/scan.yml", extra_vars=extra)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert {name: sha256(path) for name, path in states.items()} == before

    report = json.loads(report_path.read_text())
    got = {(h["host"], f["error_code"]): f for h in report["hosts"] for f in h["findings"]}
    for host in FLEET:
        failing = {code for code in MINE if got[(host, code)]["status"] == "fail"}
        assert failing == EXPECTED_FAIL.get(host, set()), host
    assert got[("mangled", "SnapshotExtensionLoadFailed")]["status"] == "error"
    assert "not valid JSON" in got[("mangled", "SnapshotExtensionLoadFailed")]["detail"]
    assert got[("noagent", "SnapshotExtensionLoadFailed")]["status"] == "not_applicable"

    # the extension's own error code is in the report, and the catalog code its message names
    ext = got[("exterr", "SnapshotExtensionLoadFailed")]
    assert "code 400" in ext["detail"] and "ExtensionFailedVssWriterInBadState" in ext["detail"]
    # the endpoint names came from the host's variables, through the probe's parameters
    dns = got[("nodns", "AzureEndpointUnreachable")]
    assert "2 of 3" in dns["detail"] and storage in dns["detail"]
    for code in REPORT_ONLY:
        finding = got[("static" if code == "GuestDhcpDisabled" else "ok", code)]
        assert finding["actions"] == []
    assert got[("static", "GuestDhcpDisabled")]["fix"].startswith("report only")
    assert got[("busy", "HighResourceUsage")]["fix"].startswith("report only")

    for name, path in states.items():
        lines = log_lines(path)
        assert len(lines) == 1 and lines[0]["module"] == "ansible.windows.win_powershell", name


def test_remediate_check_agrees_with_scan_for_agent_and_installer(sim_fleet, tmp_path):
    hosts = {"ok": "healthy.yml", "msioff": "installer_msiserver_disabled.yml", "stopped": "agent_stopped.yml"}
    codes = ["ExtensionVCRedistInstallationFailure", *AGENT]
    inventory, states = sim_fleet(hosts)
    report_path = tmp_path / "scan.json"
    extra = {"vmbackup_error_codes": codes}
    run_playbook(inventory, "playbooks/scan.yml", extra_vars={**extra, "vmbackup_report_path": str(report_path)})
    report = json.loads(report_path.read_text())
    scan = {(h["host"], f["error_code"]): f["status"] for h in report["hosts"] for f in h["findings"]}

    before = {name: sha256(path) for name, path in states.items()}
    proc = run_playbook(inventory, "playbooks/remediate.yml", extra_vars=extra, check=True, json_output=True)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert {name: sha256(path) for name, path in states.items()} == before
    # remediate.yml runs a fix role only where the scan found a step it may take (gather once); the
    # role's --check result then agrees with the scan and reports the change.
    ran = 0
    for module in ("windows_installer", "windows_guest_agent"):
        for play in proc.json["plays"]:
            for task in play["tasks"]:
                for host, result in task["hosts"].items():
                    if not result.get("action", "").endswith(module):
                        continue
                    finding = result["finding"]
                    assert finding["status"] == scan[(host, finding["error_code"])] == "fail", (host, finding)
                    assert result["changed"] is True, (host, finding)
                    ran += 1
    # once per host and plan: the four agent codes are one check, and one role run starts the agent
    fixable = {
        (h["host"], json.dumps(f["actions"], sort_keys=True))
        for h in report["hosts"]
        for f in h["findings"]
        if f["status"] == "fail" and any(a.get("allowed") for a in f["actions"])
    }
    assert ran == len(fixable) >= 1
    assert task_results(proc.json, "windows_installer")["msioff"]["changed"] is True
    assert yaml.safe_load(states["msioff"].read_text())["services"]["msiserver"]["start_mode"] == "disabled"
