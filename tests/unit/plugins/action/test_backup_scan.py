"""Unit tests of what backup_scan tells remediate.yml to run (``fixable``): the gather-once decision."""

from __future__ import annotations

from ansible_collections.vmbackup.azure.plugins.action.backup_scan import fixable, fixable_codes

START_AGENT = [{"action": "start_service", "service": "WindowsAzureGuestAgent", "allowed": True}]


def finding(code, actions):
    return {"error_code": code, "status": "fail", "detail": "", "fix": "", "actions": actions}


def test_a_fix_needs_a_step_the_host_allows():
    assert fixable(finding("A", [{"action": "restart_service", "allowed": True}]))
    assert not fixable(finding("A", [{"action": "restart_service", "allowed": False}]))  # opt-in not given
    assert not fixable(finding("A", []))  # nothing the role could do (e.g. an unmapped writer)
    assert fixable(finding("A", [{"action": "set_value"}]))  # a plan without opt-ins: applies when the role runs


def test_codes_with_the_same_plan_run_one_role():
    codes = ["UserErrorVmProvisioningStateFailed", "AzureVmOffline", "NoVmAgent", "VmAgentNotRunning"]
    failing = [finding(code, START_AGENT) for code in codes]
    failing.append(finding("ExtensionFailedVssWriterInBadState", [{"action": "restart_service", "allowed": True}]))
    failing.append(finding("ExtensionSnapshotFailedCOM", [{"action": "restart_service", "allowed": False}]))
    assert fixable_codes(failing) == ["UserErrorVmProvisioningStateFailed", "ExtensionFailedVssWriterInBadState"]


def test_the_same_steps_with_a_different_opt_in_are_different_plans():
    restart = [{"action": "start_service", "service": "WindowsAzureGuestAgent", "allowed": True, "restart": True}]
    assert fixable_codes([finding("VmAgentNotRunning", START_AGENT), finding("NoVmAgent", restart)]) == [
        "VmAgentNotRunning",
        "NoVmAgent",
    ]
