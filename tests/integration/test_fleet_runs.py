"""What CI and AWX rely on from the three playbooks.

- ``--limit`` (AWX's Limit field) narrows scan, remediate and triage *and their report* to the hosts
  it names: the report is still written, lists only those hosts, and hosts outside the limit are
  never contacted (the simulator logs every remote execution);
- ``vmbackup_fail_on`` (fail | error | never) decides the exit status after the report is written;
  a bad value fails before any host is contacted;
- a run that matched no host at all (empty inventory, a pattern matching nothing) fails loudly.
"""

from __future__ import annotations

import json
import os

import pytest
import yaml
from conftest import run_playbook

VSS = "ExtensionFailedVssWriterInBadState"
FLEET = {"win-ok": "healthy.yml", "win-bad": "vss_multi_failed_de-DE.yml"}


def contacted(states):
    return {name for name, path in states.items() if os.path.exists(f"{path}.log.jsonl")}


def report_hosts(path):
    with open(path, encoding="utf-8") as handle:
        return [host["host"] for host in json.load(handle)["hosts"]]


@pytest.fixture
def fleet(sim_fleet):
    return sim_fleet(FLEET)


@pytest.mark.parametrize("limit", ["win-ok", "win-ok,localhost"])
def test_scan_with_limit_reports_only_the_limited_hosts(fleet, tmp_path, limit):
    inventory, states = fleet
    proc = run_playbook(
        inventory, "playbooks/scan.yml", "--limit", limit, extra_vars={"vmbackup_report_dir": str(tmp_path)}
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert report_hosts(tmp_path / "vmbackup-scan.json") == ["win-ok"]
    assert contacted(states) == {"win-ok"}


def test_remediate_with_limit_runs_and_reports_only_the_limited_hosts(fleet, tmp_path):
    inventory, states = fleet
    proc = run_playbook(
        inventory,
        "playbooks/remediate.yml",
        "--limit",
        "win-bad",
        extra_vars={"vmbackup_report_dir": str(tmp_path), "vmbackup_error_codes": [VSS]},
        check=True,
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert report_hosts(tmp_path / "vmbackup-remediate.json") == ["win-bad"]
    assert contacted(states) == {"win-bad"}


def test_triage_with_limit_runs_and_reports_only_the_limited_hosts(fleet, tmp_path):
    inventory, states = fleet
    jobs = [
        {
            "name": f"job-{vm}",
            "properties": {
                "entityFriendlyName": vm,
                "operation": "Backup",
                "status": "Failed",
                "startTime": "2026-03-02T22:30:11Z",
                "errorDetails": [{"errorCode": VSS}],
            },
        }
        for vm in FLEET
    ]
    jobs_file = tmp_path / "jobs.json"
    jobs_file.write_text(json.dumps(jobs))
    proc = run_playbook(
        inventory,
        "playbooks/triage.yml",
        "--limit",
        "win-bad",
        extra_vars={"vmbackup_report_dir": str(tmp_path), "vmbackup_triage_jobs_file": str(jobs_file)},
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert report_hosts(tmp_path / "vmbackup-triage.json") == ["win-bad"]
    assert contacted(states) == {"win-bad"}


@pytest.mark.parametrize(
    ("fail_on", "failing_rc"),
    [(None, False), ("error", False), ("never", False), ("fail", True)],
    ids=["default", "error", "never", "fail"],
)
def test_scan_exit_status_follows_vmbackup_fail_on(fleet, tmp_path, fail_on, failing_rc):
    inventory, dummy = fleet
    extra = {"vmbackup_report_dir": str(tmp_path)}
    if fail_on:
        extra["vmbackup_fail_on"] = fail_on
    proc = run_playbook(inventory, "playbooks/scan.yml", extra_vars=extra)
    assert (proc.returncode != 0) == failing_rc, proc.stdout[-3000:]
    # The report is written in every case, before the run fails.
    assert sorted(report_hosts(tmp_path / "vmbackup-scan.json")) == sorted(FLEET)
    if failing_rc:
        assert "1 host(s) would fail backup" in proc.stdout


def test_scan_exit_status_error_counts_an_unreachable_host(sim_fleet, tmp_path):
    inventory, dummy = sim_fleet({"win-ok": "healthy.yml"})
    data = yaml.safe_load(inventory.read_text())
    gone = {"ansible_host": "127.0.0.1", "ansible_port": 1, "ansible_ssh_timeout": 3}
    data["all"]["children"]["linux"] = {"hosts": {"gone": gone}}
    inventory.write_text(yaml.safe_dump(data))
    extra = {"vmbackup_report_dir": str(tmp_path)}
    proc = run_playbook(inventory, "playbooks/scan.yml", extra_vars=extra)
    assert proc.returncode != 0 and "unreachable" in proc.stdout
    assert sorted(report_hosts(tmp_path / "vmbackup-scan.json")) == ["gone", "win-ok"]
    proc = run_playbook(inventory, "playbooks/scan.yml", extra_vars={**extra, "vmbackup_fail_on": "never"})
    assert proc.returncode == 0, proc.stdout[-3000:]


@pytest.mark.parametrize("playbook", ["scan", "remediate", "triage"])
def test_a_bad_fail_on_fails_before_any_host_is_contacted(fleet, tmp_path, playbook):
    inventory, states = fleet
    extra = {"vmbackup_fail_on": "sometimes", "vmbackup_report_dir": str(tmp_path), "vmbackup_triage_jobs": []}
    proc = run_playbook(inventory, f"playbooks/{playbook}.yml", extra_vars=extra)
    assert proc.returncode != 0
    assert "vmbackup_fail_on must be fail, error or never, got sometimes" in proc.stdout
    assert contacted(states) == set()


@pytest.mark.parametrize("playbook", ["scan", "remediate", "triage"])
def test_a_run_that_matched_no_host_fails_loudly(tmp_path, playbook):
    inventory = tmp_path / "empty.ini"
    inventory.write_text("[windows]\n")
    extra = {"vmbackup_report_dir": str(tmp_path), "vmbackup_triage_jobs": []}
    proc = run_playbook(inventory, f"playbooks/{playbook}.yml", extra_vars=extra)
    assert proc.returncode != 0
    assert "the run matched no host" in proc.stdout


def test_a_pattern_that_matches_no_host_fails_loudly(fleet, tmp_path):
    inventory, states = fleet
    proc = run_playbook(
        inventory, "playbooks/scan.yml", extra_vars={"vmbackup_report_dir": str(tmp_path), "vmbackup_hosts": "nosuch"}
    )
    assert proc.returncode != 0 and "the run matched no host" in proc.stdout
    assert contacted(states) == set()


# The scan reads a role's variables typed by the role's own argument spec, as the role does.
RESTART = "extension_failed_vss_writer_in_bad_state_restart"
ALLOWED = "extension_failed_vss_writer_in_bad_state_allowed_services"


def vss_finding(path):
    with open(path, encoding="utf-8") as handle:
        host = json.load(handle)["hosts"][0]
    return next(f for f in host["findings"] if f["error_code"] == VSS)


def scan_and_check(fleet, tmp_path, *args, extra=None):
    """The VSS finding of scan.yml and of remediate.yml --check on win-bad, with the same variables."""
    inventory, states = fleet
    common = {"vmbackup_error_codes": [VSS], "vmbackup_fail_on": "never", **(extra or {})}
    findings = []
    for playbook, check in (("scan", False), ("remediate", True)):
        outdir = tmp_path / playbook
        proc = run_playbook(
            inventory,
            f"playbooks/{playbook}.yml",
            *("-l", "win-bad", *args),
            extra_vars={**common, "vmbackup_report_dir": str(outdir)},
            check=check,
        )
        assert proc.returncode == 0, proc.stdout[-3000:]
        findings.append(vss_finding(outdir / f"vmbackup-{playbook}.json"))
    return findings


def allowed(finding):
    return sorted(a.get("service", "") for a in finding["actions"] if a.get("allowed"))


@pytest.mark.parametrize(
    ("how", "value", "expect_allowed"),
    [
        ("k=v", "false", False),  # -e name=false: a string, as -e k=v gives
        ("k=v", "true", True),
        ("json", "false", False),  # an AWX survey's text / multiple-choice answer: a string in JSON extra vars
        ("json", "no", False),
        ("json", "yes", True),
        ("json", False, False),
    ],
)
def test_scan_and_remediate_check_agree_on_string_typed_opt_ins(fleet, tmp_path, how, value, expect_allowed):
    args = ("-e", f"{RESTART}={value}") if how == "k=v" else ()
    extra = {RESTART: value} if how == "json" else None
    scan, check = scan_and_check(fleet, tmp_path, *args, extra=extra)
    assert bool(allowed(scan)) == expect_allowed, scan
    assert allowed(scan) == allowed(check), (scan, check)
    assert scan["status"] == check["status"] == "fail"


@pytest.mark.parametrize("text", ["CryptSvc\nWinmgmt\n", '["CryptSvc", "Winmgmt"]'], ids=["textarea", "json-string"])
def test_a_survey_list_as_text_is_rejected_by_scan_and_remediate_alike(fleet, tmp_path, text):
    scan, check = scan_and_check(fleet, tmp_path, extra={RESTART: True, ALLOWED: text})
    for finding in (scan, check):
        assert finding["status"] == "error"
        assert f"{ALLOWED} is a list, got text" in finding["detail"] and "multiple select" in finding["detail"]


def test_a_survey_multiple_select_list_is_read_as_the_role_reads_it(fleet, tmp_path):
    scan, check = scan_and_check(fleet, tmp_path, extra={RESTART: "true", ALLOWED: ["VSS", "SQLWriter"]})
    assert allowed(scan) == allowed(check) == ["SQLWriter", "VSS"]


def test_a_fix_that_failed_after_changing_something_is_an_error_and_the_run_exits_non_zero(sim_fleet, tmp_path):
    """Remediate vss_stuck_fr-FR.yml, restart opted in (CryptSvc restarts, the writer stays failed)."""
    inventory, states = sim_fleet({"win-fr": "vss_stuck_fr-FR.yml"})
    proc = run_playbook(
        inventory,
        "playbooks/remediate.yml",
        extra_vars={
            "vmbackup_error_codes": [VSS],
            RESTART: True,
            "extension_failed_vss_writer_in_bad_state_settle_timeout": 1,
            "vmbackup_report_dir": str(tmp_path),
        },
    )
    assert proc.returncode != 0 and "with a failed fix" in proc.stdout, proc.stdout[-3000:]
    with open(tmp_path / "vmbackup-remediate.json", encoding="utf-8") as handle:
        report = json.load(handle)
    assert report["summary"]["hosts_with_errors"] == 1
    row = next(line for line in proc.stdout.splitlines() if line.strip().strip('"').startswith("win-fr "))
    assert "ERROR" in row and "CHANGED" not in row
    assert "ERROR" in (tmp_path / "vmbackup-remediate.html").read_text(encoding="utf-8")
    assert "<error" in (tmp_path / "vmbackup-remediate.junit.xml").read_text(encoding="utf-8")


# Consent by spelling, no secret in a URL, clear answers: at the playbook level.
def report_codes(path):
    with open(path, encoding="utf-8") as handle:
        host = json.load(handle)["hosts"][0]
    return {f["error_code"] for f in host["findings"]}, host.get("disabled", [])


@pytest.mark.parametrize(
    "name", [f"vmbackup_disable_{VSS}", "vmbackup_disable_extension_failed_vss_writer_in_bad_state"]
)
def test_both_spellings_of_a_switch_are_honoured_by_scan_and_remediate(fleet, tmp_path, name):
    inventory, states = fleet
    proc = run_playbook(
        inventory,
        "playbooks/scan.yml",
        "-l",
        "win-bad",
        "-e",
        f"{name}=true",
        extra_vars={"vmbackup_report_dir": str(tmp_path / "s")},
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    codes, disabled = report_codes(tmp_path / "s" / "vmbackup-scan.json")
    assert VSS not in codes and disabled == [VSS]
    proc = run_playbook(
        inventory,
        "playbooks/remediate.yml",
        "-l",
        "win-bad",
        "-e",
        f"{name}=true",
        extra_vars={
            "vmbackup_report_dir": str(tmp_path / "r"),
            "vmbackup_error_codes": [VSS],
            RESTART: True,
            "vmbackup_fail_on": "never",
        },
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    codes, disabled = report_codes(tmp_path / "r" / "vmbackup-remediate.json")
    assert VSS not in codes and disabled == [VSS]
    with open(f"{states['win-bad']}.log.jsonl", encoding="utf-8") as handle:
        assert len(handle.readlines()) == 1  # the scan's probe only: remediate ran no VSS fix


def test_an_unknown_switch_fails_naming_the_variable(fleet, tmp_path):
    inventory, dummy = fleet
    proc = run_playbook(
        inventory,
        "playbooks/scan.yml",
        "-e",
        "vmbackup_disable_NoSuchCode=true",
        extra_vars={"vmbackup_report_dir": str(tmp_path)},
    )
    assert proc.returncode != 0 and "vmbackup_disable_NoSuchCode" in proc.stdout


@pytest.mark.parametrize("playbook", ["scan", "remediate"])
def test_error_codes_of_separators_only_fail_before_any_host_is_contacted(fleet, tmp_path, playbook):
    inventory, states = fleet
    proc = run_playbook(
        inventory,
        f"playbooks/{playbook}.yml",
        "-e",
        "vmbackup_error_codes=,",
        extra_vars={"vmbackup_report_dir": str(tmp_path)},
    )
    assert proc.returncode != 0 and "name no code" in proc.stdout, proc.stdout[-3000:]
    assert contacted(states) == set()


def test_blank_error_codes_scan_every_code(fleet, tmp_path):
    inventory, dummy = fleet
    proc = run_playbook(
        inventory,
        "playbooks/scan.yml",
        "-l",
        "win-ok",
        "-e",
        "vmbackup_error_codes=",
        extra_vars={"vmbackup_report_dir": str(tmp_path)},
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    codes, dummy = report_codes(tmp_path / "vmbackup-scan.json")
    assert VSS in codes and "UserErrorFsFreezeFailed" in codes and len(codes) > 10


def test_a_signed_msi_url_never_reaches_the_scan_output_or_a_report(sim_fleet, tmp_path):
    inventory, dummy = sim_fleet({"win-agent": "agent_outdated.yml"})
    sas = "https://contoso.blob.core.windows.net/a/WindowsAzureVmAgent.msi?sv=2024-08-04&sp=r&sig=S3cr3tSig%3D"
    extra = {
        "vm_agent_not_running_msi_path": sas,
        "vm_agent_not_running_install": True,
        "no_vm_agent_msi_path": sas,
        "azure_vm_offline_msi_path": sas,
        "user_error_vm_provisioning_state_failed_msi_path": sas,
        "vmbackup_report_dir": str(tmp_path),
        "vmbackup_fail_on": "never",
    }
    proc = run_playbook(inventory, "playbooks/scan.yml", "-v", extra_vars=extra)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "WindowsAzureVmAgent.msi" in (tmp_path / "vmbackup-scan.json").read_text(encoding="utf-8")
    for text in [proc.stdout.split("TASK [Scan | write the reports")[1]] + [
        p.read_text(encoding="utf-8") for p in tmp_path.iterdir()
    ]:
        assert "S3cr3tSig" not in text and "sig=" not in text


def test_backup_report_given_malformed_results_writes_nothing(tmp_path):
    book = tmp_path / "report.yml"
    book.write_text(
        "- name: Report from malformed results\n  hosts: localhost\n  gather_facts: false\n  tasks:\n"
        "    - name: Write the report\n      vmbackup.azure.backup_report:\n        hosts: [w1, w2]\n"
        "        results: {w1: {os_family: windows, findings: []}, w2: not-a-result}\n"
        f"        dir: {tmp_path / 'out'}\n"
    )
    proc = run_playbook("localhost,", book)
    assert proc.returncode != 0 and "results['w2'] must be a registered result" in proc.stdout, proc.stdout[-3000:]
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []
