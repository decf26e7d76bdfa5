"""Playbook-level tests of scan.yml and remediate.yml on simulated Windows hosts and a real Linux host.

- the scan changes nothing (state files byte-identical, the ext4 disk still unclean and mounted as
  before) and writes a report the JSON schema accepts, with every host accounted for (an unreachable one too);
- scan.yml and remediate.yml --check agree on every host and error code;
- remediate.yml refuses an unknown error code before any host is touched.
"""

from __future__ import annotations

import os

import linux_testhost  # tools/linux_testhost.py, put on sys.path by conftest
import pytest
import yaml
from conftest import read_report, run_playbook, sha256, task_results

FLEET = {
    "win-tw": "vss_system_writer_timeout_zh-TW.yml",
    "win-de": "vss_multi_failed_de-DE.yml",
    "win-fr": "vss_stuck_fr-FR.yml",
    "win-down": "vss_service_down.yml",
    "win-ok": "healthy.yml",
}
OPT_IN = {
    "extension_failed_vss_writer_in_bad_state_restart": True,
    "user_error_fs_freeze_failed_repair": True,
}
FIX_MODULES = {
    "ExtensionFailedVssWriterInBadState": "vss_writers",
    "UserErrorFsFreezeFailed": "ext_filesystems",
}


@pytest.fixture
def fleet(sim_fleet, linux_host, tmp_path):
    """Simulated Windows hosts + one real Linux host (sshd on loopback, unclean ext4 loop disk) + one unreachable."""
    inventory, states = sim_fleet(FLEET)
    data = yaml.safe_load(inventory.read_text())
    data["all"]["children"]["linux"] = {
        "hosts": {
            "lnx": {**linux_host["vars"], "user_error_fs_freeze_failed_mounts": [linux_host["mountpoint"]]},
            "lnx-gone": {**linux_host["vars"], "ansible_port": 1, "ansible_ssh_timeout": 3},
        }
    }
    inventory.write_text(yaml.safe_dump(data))
    return inventory, states, linux_host


def statuses(report):
    return {
        (host["host"], finding["error_code"]): finding["status"]
        for host in report["hosts"]
        for finding in host["findings"]
    }


def test_scan_changes_nothing_and_reports_every_host(fleet, tmp_path):
    inventory, states, linux = fleet
    before = {name: sha256(path) for name, path in states.items()}
    disk_before = (linux_testhost.fs_state(linux["disk"]["loopdev"]), linux_testhost.mount_entry(linux["mountpoint"]))
    report_path = tmp_path / "scan.json"

    proc = run_playbook(inventory, "playbooks/scan.yml", extra_vars={"vmbackup_report_path": str(report_path)})

    # lnx-gone is unreachable: the run reports it but the other hosts are scanned.
    assert "lnx-gone" in proc.stdout
    report = read_report(report_path)
    assert {name: sha256(path) for name, path in states.items()} == before
    disk_after = (linux_testhost.fs_state(linux["disk"]["loopdev"]), linux_testhost.mount_entry(linux["mountpoint"]))
    assert disk_after == disk_before and disk_before[0] == "not clean"
    hosts = {h["host"]: h for h in report["hosts"]}
    assert set(hosts) == set(FLEET) | {"lnx", "lnx-gone"}
    assert hosts["lnx-gone"]["reachable"] is False

    got = statuses(report)
    assert got[("win-tw", "ExtensionFailedVssWriterInBadState")] == "fail"
    assert got[("win-de", "ExtensionFailedVssWriterInBadState")] == "fail"
    assert got[("win-down", "ExtensionFailedVssWriterInBadState")] == "error"
    assert got[("win-ok", "ExtensionFailedVssWriterInBadState")] == "pass"
    assert got[("win-ok", "UserErrorFsFreezeFailed")] == "not_applicable"
    assert got[("lnx", "UserErrorFsFreezeFailed")] == "fail"
    assert got[("lnx", "ExtensionFailedVssWriterInBadState")] == "not_applicable"
    tw = next(f for f in hosts["win-tw"]["findings"] if f["error_code"] == "ExtensionFailedVssWriterInBadState")
    assert "System Writer" in tw["detail"] and "CryptSvc" in tw["fix"]
    assert tw["doc_url"].startswith("https://learn.microsoft.com/")

    # One remote execution per host for the whole scan.
    for name, path in states.items():
        with open(f"{path}.log.jsonl", encoding="utf-8") as handle:
            assert len(handle.readlines()) == 1, name


@pytest.mark.parametrize("opt_in", [False, True], ids=["defaults", "opted-in"])
def test_scan_and_remediate_check_agree(fleet, tmp_path, opt_in):
    inventory, states, linux = fleet
    extra = dict(OPT_IN) if opt_in else {}
    report_path = tmp_path / "scan.json"
    run_playbook(inventory, "playbooks/scan.yml", extra_vars={**extra, "vmbackup_report_path": str(report_path)})
    scanned = read_report(report_path)
    scan = statuses(scanned)

    before = {name: sha256(path) for name, path in states.items()}
    remediate_path = tmp_path / "remediate.json"
    proc = run_playbook(
        inventory,
        "playbooks/remediate.yml",
        extra_vars={**extra, "vmbackup_report_path": str(remediate_path)},
        check=True,
        json_output=True,
    )
    assert {name: sha256(path) for name, path in states.items()} == before, "--check changed a host"

    # The remediate report (the fixes that ran, the scan for the rest) agrees with scan.yml on every code it has.
    remediated = statuses(read_report(remediate_path))
    assert remediated and all(scan[key] == status for key, status in remediated.items()), remediated
    assert {key[0] for key in remediated} == {key[0] for key in scan}

    # A fix role runs only where the scan says it would change something, and --check reports that change.
    would_fix = {
        (host["host"], finding["error_code"])
        for host in scanned["hosts"]
        for finding in host["findings"]
        if finding["error_code"] in FIX_MODULES
        and finding["status"] == "fail"
        and any(a.get("allowed") for a in finding.get("actions", []))
    }
    ran = set()
    for code, module in FIX_MODULES.items():
        for host, result in task_results(proc.json, module).items():
            finding = result["finding"]
            assert finding["error_code"] == code
            assert finding["status"] == scan[(host, code)] == "fail", (host, code, finding, proc.stdout[-3000:])
            assert result.get("changed") is True, (host, result)
            ran.add((host, code))
    assert ran == would_fix
    assert bool(ran) == opt_in  # opted in: the VSS hosts and the ext4 disk; by default nothing may change


def test_unknown_error_code_fails_before_any_host_is_touched(fleet):
    inventory, states, dummy = fleet
    proc = run_playbook(
        inventory,
        "playbooks/remediate.yml",
        extra_vars={"vmbackup_error_codes": ["ExtensionFailedVssWriterInBadState", "NoSuchCode"]},
    )
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "NoSuchCode" in out
    assert "UserErrorFsFreezeFailed" in out  # the message lists the valid codes
    for path in states.values():
        assert not os.path.exists(f"{path}.log.jsonl"), "a host was contacted"
