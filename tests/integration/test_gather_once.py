"""Remediation at the cost of a scan: remote executions per host, counted, never timed.

remediate.yml scans each host once (one remote execution), runs only the fix roles whose check fails
there with a step the host's variables allow, hands them the scan's probe and verifies once at the
end. Targets: a clean host = 1 execution; a failing host = 2 + its state-changing module
calls. Windows executions are counted from the simulator's execution log (one line per module run);
Linux executions from the host's Python interpreter, wrapped to count its starts (every module run
over SSH starts it once).
"""

from __future__ import annotations

import json
import os

import yaml
from ansible_collections.vmbackup.azure.plugins.module_utils._catalog import implemented_codes
from ansible_collections.vmbackup.azure.plugins.plugin_utils._checks import CHECKS
from conftest import STATES, load_yaml, log_lines, run_playbook

VSS = "ExtensionFailedVssWriterInBadState"
PROBE = "ansible.windows.win_powershell"


def report(path):
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    return {h["host"]: {f["error_code"]: f for f in h["findings"]} for h in data["hosts"]}


def test_clean_windows_host_costs_one_execution(sim_fleet, tmp_path):
    # healthy: nothing fails; vss: a writer failed but the restart is not opted in, so no role would change anything
    fleet = {"healthy": "healthy.yml", "vss": "vss_system_writer_timeout_zh-TW.yml"}
    inventory, states = sim_fleet(fleet)
    proc = run_playbook(
        inventory, "playbooks/remediate.yml", extra_vars={"vmbackup_report_path": str(tmp_path / "r.json")}
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    for name, path in states.items():
        assert [(e["module"], e["changed"]) for e in log_lines(path)] == [(PROBE, False)], name
        assert load_yaml(path) == load_yaml(os.path.join(STATES, fleet[name]))
    found = report(tmp_path / "r.json")
    # one finding per requested code the scan has a check for (every implemented code by default; a code with a
    # role but no guest check, such as ExtensionStuckInDeletionState, is Azure's alone), all passing
    expected = {code for code in implemented_codes() if code in CHECKS}
    assert set(found["healthy"]) == expected and len(expected) >= 15
    assert all(f["status"] in ("pass", "not_applicable") for f in found["healthy"].values())
    # the host that needs an opt-in is reported from the scan: failing, with what the fix would do
    assert found["vss"][VSS]["status"] == "fail" and "CryptSvc" in found["vss"][VSS]["fix"]
    assert not found["vss"][VSS].get("changed")


def test_a_fixed_windows_host_costs_one_execution_on_the_next_run(sim_fleet, tmp_path):
    opt_in = {"extension_failed_vss_writer_in_bad_state_restart": True}
    inventory, states = sim_fleet({"vss": "vss_system_writer_timeout_zh-TW.yml", "dotnet": "registry_dotnet_wrong.yml"})
    first = run_playbook(
        inventory, "playbooks/remediate.yml", extra_vars={**opt_in, "vmbackup_report_dir": str(tmp_path)}
    )
    assert first.returncode == 0, first.stdout[-3000:]
    for path in states.values():
        os.unlink(f"{path}.log.jsonl")
    second = run_playbook(
        inventory, "playbooks/remediate.yml", extra_vars={**opt_in, "vmbackup_report_path": str(tmp_path / "r.json")}
    )
    assert second.returncode == 0, second.stdout[-3000:]
    assert "changed=0" in second.stdout and "changed=1" not in second.stdout
    for name, path in states.items():
        assert [e["module"] for e in log_lines(path)] == [PROBE], name
    assert all(f["status"] != "fail" for host in report(tmp_path / "r.json").values() for f in host.values())


AGENT_CODES = ("VmAgentNotRunning", "AzureVmOffline", "NoVmAgent", "UserErrorVmProvisioningStateFailed")


def test_codes_sharing_one_check_run_one_role(sim_fleet, tmp_path):
    """The four agent codes are one check with one plan: one role starts the agent, the verify scan reports all four."""
    inventory, states = sim_fleet({"agent": "agent_stopped.yml"})
    proc = run_playbook(
        inventory,
        "playbooks/remediate.yml",
        extra_vars={"vmbackup_report_path": str(tmp_path / "r.json")},
        json_output=True,
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    ran = [
        result
        for play in proc.json["plays"]
        for task in play["tasks"]
        for host, result in task["hosts"].items()
        if result.get("action", "").endswith("windows_guest_agent") and not result.get("skipped")
    ]
    assert len(ran) == 1 and ran[0]["changed"] is True
    found = report(tmp_path / "r.json")["agent"]
    assert sorted(found[code]["status"] for code in AGENT_CODES if not found[code].get("changed")) == ["pass"] * 3
    assert [code for code in AGENT_CODES if found[code].get("changed")] == [ran[0]["finding"]["error_code"]]
    assert load_yaml(states["agent"])["services"]["WindowsAzureGuestAgent"]["state"] == "running"


def test_failing_windows_host_costs_two_plus_its_changes(sim_fleet, tmp_path):
    """Needs the fix plugins' ``probe``/``verify`` options (gather-once contract, Windows side: branch ``win``).

    Without them each fix plugin probes again before acting and after (VSS settle loop, verification).
    """
    inventory, states = sim_fleet(
        {
            "vss": "vss_system_writer_timeout_zh-TW.yml",  # one service restart
            "dotnet": "registry_dotnet_wrong.yml",  # one win_regedit per differing value
            "keys": "machinekeys_extra_principals.yml",  # ACL and certificate changes
            "agent": "agent_stopped.yml",  # four codes, one check: one start
        }
    )
    opt_in = {
        "extension_failed_vss_writer_in_bad_state_restart": True,
        "extension_config_parsing_failure_reset_acl": True,
        "extension_config_parsing_failure_delete_certificates": True,
        "vmbackup_report_path": str(tmp_path / "r.json"),
    }
    proc = run_playbook(inventory, "playbooks/remediate.yml", extra_vars=opt_in)
    assert proc.returncode == 0, proc.stdout[-3000:]
    for name, path in states.items():
        entries = log_lines(path)
        changes = [e for e in entries if e["changed"] and not e["check_mode"]]
        assert changes, name
        # the scan, the state-changing calls, the verification: nothing else
        assert entries == [entries[0], *changes, entries[-1]], (name, [e["module"] for e in entries])
        assert entries[0]["module"] == entries[-1]["module"] == PROBE
        assert len(entries) == 2 + len(changes)
    found = report(tmp_path / "r.json")
    assert all(f["status"] != "fail" or f.get("changed") for host in found.values() for f in host.values())


def test_linux_host_costs_alike(linux_host, tmp_path):
    counter = tmp_path / "python-starts"
    wrapper = tmp_path / "python-counting"
    python = linux_host["vars"]["ansible_python_interpreter"]
    wrapper.write_text(f'#!/bin/sh\necho "$$" >> {counter}\nexec {python} "$@"\n')
    wrapper.chmod(0o755)
    host_vars = {
        **linux_host["vars"],
        "ansible_python_interpreter": str(wrapper),
        "user_error_fs_freeze_failed_mounts": [linux_host["mountpoint"]],
    }
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {"lnx": host_vars}}}))

    def executions(extra):
        if counter.exists():
            counter.unlink()
        proc = run_playbook(
            inventory, "playbooks/remediate.yml", extra_vars={"vmbackup_report_dir": str(tmp_path), **extra}
        )
        assert proc.returncode == 0, proc.stdout[-3000:]
        return len(counter.read_text().split()), proc

    # not opted in: the unclean ext4 fails the check but nothing may change it -> the scan alone
    count, dummy = executions({})
    assert count == 1
    # opted in: the scan, ext_filesystems (fsck: the one state-changing call), the verification
    count, proc = executions(
        {"user_error_fs_freeze_failed_repair": True, "vmbackup_report_path": str(tmp_path / "r.json")}
    )
    assert count == 2 + 1
    assert "changed=1" in proc.stdout
    assert report(tmp_path / "r.json")["lnx"]["UserErrorFsFreezeFailed"]["changed"] is True
    # now clean: the scan alone again
    count, proc = executions({"user_error_fs_freeze_failed_repair": True})
    assert count == 1 and "changed=0" in proc.stdout
