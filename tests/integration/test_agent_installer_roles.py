"""The VM agent roles and the VC++/Windows Installer role through ansible-playbook on simulated hosts.

One fleet per area, three runs each (shared between assertions to keep the suite fast):
--check --diff (state files byte-identical, the diff and the plan shown), a real run (broken ->
fixed, opt-ins honoured, a running backup refused), a second real run (changed=0). Bad input
fails before any host is contacted.
"""

from __future__ import annotations

import json

import pytest
from conftest import load_yaml, log_lines, run_playbook, sha256, task_results

PLAYBOOK = """\
- name: Apply the role under test
  hosts: windows
  gather_facts: false
  tasks:
    - name: Apply the role named by the host
      ansible.builtin.include_role:
        name: "vmbackup.azure.{{ role_under_test }}"
"""
AGENT_MSI = "C:\\Install\\WindowsAzureVmAgent.msi"
AGENT_URL = "https://agent.example.invalid/WindowsAzureVmAgent.msi"


def log_modules(path, real_only=False):
    return [line["module"] for line in log_lines(path) if not (real_only and line["check_mode"])]


@pytest.fixture
def playbook(tmp_path):
    path = tmp_path / "apply_role.yml"
    path.write_text(PLAYBOOK)
    return path


def run(inventory, playbook, module, *args, **kwargs):
    proc = run_playbook(inventory, playbook, *args, json_output=True, **kwargs)
    assert hasattr(proc, "json"), proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc, task_results(proc.json, module)


# ------------------------------------------------------------------ ExtensionVCRedistInstallationFailure

INSTALLER_ROLE = "extension_vc_redist_installation_failure"


def test_installer_check_fix_idempotent(sim_fleet, playbook):
    inventory, states = sim_fleet(
        {"msi-off": "installer_msiserver_disabled.yml", "msi-gone": "installer_msiserver_unregistered.yml"},
        {
            "msi-off": {"role_under_test": INSTALLER_ROLE},
            "msi-gone": {"role_under_test": INSTALLER_ROLE, f"{INSTALLER_ROLE}_reregister_msi": True},
        },
    )
    before = {name: sha256(path) for name, path in states.items()}

    # 1. --check --diff: nothing written, the plan and the diff shown, msiexec reported not sent
    proc, results = run(inventory, playbook, "windows_installer", "--diff", check=True)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert {name: sha256(path) for name, path in states.items()} == before
    off, gone = results["msi-off"], results["msi-gone"]
    assert off["changed"] is True and off["finding"]["status"] == "fail"
    assert off["after_predicted"] is True
    assert off["after"]["msiserver_start_mode"] == "manual"
    assert off["detail"]["would_run"] == []  # re-registration not opted in on this host
    reregister = next(a for a in off["finding"]["actions"] if a["action"] == "reregister_msi")
    assert reregister["allowed"] is False and "reregister_msi" in reregister["reason"]
    assert gone["detail"]["would_run"] == ["msiexec.exe /unregister", "msiexec.exe /regserver"]
    diff = json.dumps(off["diff"])
    assert "msiserver start mode: disabled" in diff and "msiserver start mode: manual" in diff
    # the probe and check-mode win_service / win_package only; win_command never sent in check mode
    assert "ansible.windows.win_command" not in log_modules(states["msi-gone"])

    # 2. real run: fixed
    proc, results = run(inventory, playbook, "windows_installer")
    assert proc.returncode == 0, proc.stdout[-3000:]
    off_state, gone_state = load_yaml(states["msi-off"]), load_yaml(states["msi-gone"])
    assert off_state["services"]["msiserver"]["start_mode"] == "manual"
    vc_id = "{ef6b00ec-13e1-4c25-9064-b2f383cb8412}"
    assert vc_id in off_state["installed_products"] and vc_id in gone_state["installed_products"]
    assert gone_state["services"]["msiserver"]["start_mode"] == "manual"  # msiexec /regserver registered it
    assert results["msi-off"]["actions"] == ["set_start_mode", "install_vcredist"]
    assert results["msi-gone"]["actions"] == ["reregister_msi", "install_vcredist"]
    modules = log_modules(states["msi-gone"], real_only=True)
    assert modules.count("ansible.windows.win_command") == 2
    assert modules.index("ansible.windows.win_command") < modules.index("ansible.windows.win_package")

    # 3. second run: nothing to do
    proc, results = run(inventory, playbook, "windows_installer")
    assert proc.returncode == 0
    for host in states:
        assert proc.json["stats"][host]["changed"] == 0, host
        assert results[host]["finding"]["status"] == "pass"


def test_installer_bad_input_fails_before_any_host_execution(sim_fleet, playbook):
    inventory, states = sim_fleet(
        {"msi-off": "installer_msiserver_disabled.yml"},
        {"msi-off": {"role_under_test": INSTALLER_ROLE, f"{INSTALLER_ROLE}_vcredist_path": "vcredist2013_x64.exe"}},
    )
    proc = run_playbook(inventory, playbook)
    assert proc.returncode != 0
    assert "vcredist_path" in proc.stdout and "absolute Windows path" in proc.stdout
    assert log_modules(states["msi-off"]) == []


# ------------------------------------------------------------------ VM agent roles

AGENT_FLEET = {
    "agent-stopped": ("agent_stopped.yml", "vm_agent_not_running", {}),
    "agent-old": ("agent_outdated.yml", "vm_agent_not_running", {"install": True, "msi_path": AGENT_MSI}),
    "agent-old-noopt": ("agent_outdated.yml", "no_vm_agent", {"msi_path": AGENT_MSI}),
    "agent-busy": (
        "agent_outdated_backup_running.yml",
        "vm_agent_not_running",
        {"install": True, "msi_path": AGENT_MSI},
    ),
    "agent-missing": ("agent_missing.yml", "azure_vm_offline", {"install": True, "msi_path": AGENT_URL}),
    "agent-stuck": ("agent_stuck.yml", "user_error_vm_provisioning_state_failed", {"restart": True}),
}


def test_agent_roles_check_fix_idempotent(sim_fleet, playbook):
    inventory, states = sim_fleet(
        {host: spec[0] for host, spec in AGENT_FLEET.items()},
        {
            host: {"role_under_test": role, **{f"{role}_{key}": value for key, value in opts.items()}}
            for host, (state, role, opts) in AGENT_FLEET.items()
        },
    )
    before = {name: sha256(path) for name, path in states.items()}

    # 1. --check --diff
    proc, results = run(inventory, playbook, "windows_guest_agent", "--diff", check=True)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert {name: sha256(path) for name, path in states.items()} == before
    assert results["agent-stopped"]["changed"] is True
    assert results["agent-stopped"]["after"]["service_state"] == "running"
    assert "service WindowsAzureGuestAgent: stopped" in results["agent-stopped"]["diff"]["before"]
    assert results["agent-old"]["changed"] is True
    assert results["agent-missing"]["changed"] is True
    assert results["agent-missing"]["finding"]["error_code"] == "AzureVmOffline"
    assert results["agent-stuck"]["finding"]["error_code"] == "UserErrorVmProvisioningStateFailed"
    for host in ("agent-busy", "agent-old-noopt"):
        assert results[host]["changed"] is False, host
    busy = results["agent-busy"]["finding"]
    assert busy["status"] == "fail" and "backup is in progress" in busy["fix"]
    assert "transitioning" in busy["fix"] or "running operation" in busy["fix"]
    assert "install/update not opted in" in results["agent-old-noopt"]["finding"]["fix"]
    assert "not changing the VM agent" in proc.stdout + proc.stderr  # the refusal is a visible warning

    # 2. real run
    proc, results = run(inventory, playbook, "windows_guest_agent")
    assert proc.returncode == 0, proc.stdout[-3000:]
    stopped = load_yaml(states["agent-stopped"])["services"]["WindowsAzureGuestAgent"]
    assert stopped["state"] == "running" and stopped["start_mode"] == "auto"
    old = load_yaml(states["agent-old"])
    assert old["files"]["C:\\WindowsAzure\\Packages\\WaAppAgent.exe"]["version"] == "2.7.41491.1102"
    assert results["agent-old"]["actions"] == ["update_agent"]
    missing = load_yaml(states["agent-missing"])
    assert missing["services"]["WindowsAzureGuestAgent"]["state"] == "running"
    assert results["agent-missing"]["actions"] == ["install_agent"]  # the MSI started the service
    assert results["agent-missing"]["after"]["version"] == "2.7.41491.1102"
    assert load_yaml(states["agent-stuck"])["services"]["WindowsAzureGuestAgent"]["state"] == "running"
    assert results["agent-stuck"]["actions"] == ["restart_service"]
    for host in ("agent-busy", "agent-old-noopt"):  # refused / not opted in: untouched
        assert sha256(states[host]) == before[host], host
        assert "ansible.windows.win_package" not in log_modules(states[host])

    # 3. second run: changed=0 everywhere
    proc, results = run(inventory, playbook, "windows_guest_agent")
    assert proc.returncode == 0
    for host in states:
        assert proc.json["stats"][host]["changed"] == 0, host
    for host in ("agent-stopped", "agent-old", "agent-missing", "agent-stuck"):
        assert results[host]["finding"]["status"] == "pass", host


@pytest.mark.parametrize(
    ("host_vars", "needle"),
    [
        ({"vm_agent_not_running_install": True}, "install: true needs msi_path"),
        ({"vm_agent_not_running_msi_path": "C:\\agent.exe"}, "msi_path"),
        ({"vm_agent_not_running_min_version": "latest"}, "min_version"),
        ({"vmbackup_azure_endpoint_names": ["not a name!"]}, "is not a DNS name"),
    ],
    ids=["install-without-msi", "msi-not-msi", "bad-version", "bad-endpoint-name"],
)
def test_agent_bad_input_fails_before_any_host_execution(sim_fleet, playbook, host_vars, needle):
    inventory, states = sim_fleet(
        {"agent-stopped": "agent_stopped.yml"},
        {"agent-stopped": {"role_under_test": "vm_agent_not_running", **host_vars}},
    )
    proc = run_playbook(inventory, playbook)
    assert proc.returncode != 0
    assert needle in proc.stdout, proc.stdout[-2000:]
    assert log_modules(states["agent-stopped"]) == []
