"""The shared Windows VM agent check and the VC++ / Windows Installer check (pure evaluators)."""

from __future__ import annotations

import json

import pytest
from ansible_collections.vmbackup.azure.plugins.plugin_utils import _windows_agent as agent
from ansible_collections.vmbackup.azure.plugins.plugin_utils import _windows_installer as inst

SERVICE = {"name": "WindowsAzureGuestAgent", "state": "running", "start_mode": "auto"}
# every Windows host runs RPC: a service list without a running service is implausible (an error)
RPCSS = {"name": "RpcSs", "state": "running", "start_mode": "auto", "username": "NT AUTHORITY\\NetworkService"}


def agent_probe(service="default", version="2.7.41491.1102", **extra):
    service = SERVICE if service == "default" else service
    probe = {
        "services": [RPCSS, service] if service else [RPCSS],
        "agent": {"waappagent_exists": bool(version), "waappagent_product_version": version},
    }
    probe.update(extra)
    return probe


def writers(state):
    return {
        "rc": 0,
        "stdout": "Writer name: 'System Writer'\n Writer Id: {e8132975-6f93-4464-a53e-1050253ae220}\n"
        f" Writer Instance Id: {{eb6b4c30-aa48-486a-9618-0d1934d180ca}}\n State: [{state}] x\n Last error: No error\n",
    }


def transitioning(age_minutes):
    content = json.dumps([{"status": {"status": "transitioning", "code": 0}}])
    return {
        "found": True,
        "path": "C:\\p\\Status\\3.status",
        "content": content,
        "last_write_utc": "2026-11-25T10:00:00+00:00",
        "now_utc": f"2026-11-25T{10 + age_minutes // 60:02d}:{age_minutes % 60:02d}:00+00:00",
    }


def test_parse_version():
    assert agent.parse_version("2.7.41491.1102") == (2, 7, 41491, 1102)
    assert agent.parse_version("WaAppAgent 2.6") == (2, 6, 0, 0)
    assert agent.parse_version("") is None and agent.parse_version(None) is None
    assert agent.parse_version("2.6.1198.718") > agent.parse_version("2.6.1198.700")


@pytest.mark.parametrize("code", agent.AGENT_CODES)
def test_healthy_agent_passes_for_every_code(code):
    finding, facts = agent.assess_agent(agent_probe(), {}, code)
    assert finding["status"] == "pass" and finding["error_code"] == code
    assert facts["version"] == "2.7.41491.1102" and "WaAppAgent.exe" in facts["version_source"]


def test_version_falls_back_to_the_registry():
    probe = {"services": [RPCSS, SERVICE], "agent": {"waappagent_exists": False, "guest_agent_version": "2.6.1198.718"}}
    finding, facts = agent.assess_agent(probe)
    assert finding["status"] == "pass" and "GuestAgentVersion" in facts["version_source"]


def test_stopped_and_disabled_agent_is_started_by_default():
    finding, dummy = agent.assess_agent(agent_probe(dict(SERVICE, state="stopped", start_mode="disabled")))
    assert finding["status"] == "fail" and "stopped and disabled" in finding["detail"]
    (action,) = finding["actions"]
    assert action == {
        "action": "start_service",
        "service": "WindowsAzureGuestAgent",
        "disruptive": False,
        "start_mode": "auto",
        "allowed": True,
    }
    finding, dummy = agent.assess_agent(agent_probe(dict(SERVICE, state="stopped")), {"start": False})
    assert finding["actions"][0]["allowed"] is False and "start: false" in finding["fix"]


def test_stuck_agent_needs_restart_opt_in():
    finding, dummy = agent.assess_agent(agent_probe(dict(SERVICE, state="stop_pending")))
    (action,) = finding["actions"]
    assert action["action"] == "restart_service" and action["disruptive"] and not action["allowed"]
    finding, dummy = agent.assess_agent(agent_probe(dict(SERVICE, state="stop_pending")), {"restart": True})
    assert finding["actions"][0]["allowed"] is True


def test_outdated_agent_needs_install_opt_in_and_an_msi():
    probe = agent_probe(version="2.6.1198.700")
    finding, dummy = agent.assess_agent(probe)
    assert "older than 2.6.1198.718" in finding["detail"]
    assert finding["actions"][0]["reason"] == "no agent MSI given (msi_path)"
    finding, dummy = agent.assess_agent(probe, {"msi_path": "C:\\a.msi"})
    assert finding["actions"][0]["reason"] == "install/update not opted in (install: false)"
    finding, dummy = agent.assess_agent(probe, {"msi_path": "C:\\a.msi", "install": True})
    assert finding["actions"][0] == {
        "action": "update_agent",
        "source": "C:\\a.msi",
        "product_id": None,
        "allowed": True,
        "disruptive": True,
    }


def test_missing_agent_plans_install_then_start():
    finding, dummy = agent.assess_agent(
        agent_probe(service=None, version=None), {"msi_path": "https://x/a.msi", "install": True}
    )
    assert [a["action"] for a in finding["actions"]] == ["install_agent", "start_service"]
    assert all(a["allowed"] for a in finding["actions"])


@pytest.mark.parametrize(
    ("extra", "busy"),
    [
        ({"extension_status": transitioning(4)}, True),
        ({"extension_status": transitioning(300)}, False),  # stale: older than backup_stale_minutes
        ({"vssadmin": writers(5)}, True),
        ({"vssadmin": writers(8)}, False),
    ],
    ids=["transitioning-fresh", "transitioning-stale", "writer-waiting", "writer-failed"],
)
def test_update_refused_while_a_backup_runs(extra, busy):
    probe = agent_probe(version="2.6.1198.700", **extra)
    finding, facts = agent.assess_agent(probe, {"msi_path": "C:\\a.msi", "install": True})
    assert facts["backup_in_progress"] is busy
    assert finding["actions"][0]["allowed"] is not busy
    if busy:
        assert "a backup is in progress" in finding["actions"][0]["reason"]


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"install": True}, "needs msi_path"),
        ({"msi_path": "C:\\agent.exe"}, "msi_path"),
        ({"msi_path": " "}, "msi_path"),
        ({"min_version": "latest"}, "min_version"),
        ({"backup_stale_minutes": -1}, "backup_stale_minutes"),
    ],
)
def test_bad_options_rejected(options, match):
    with pytest.raises(ValueError, match=match):
        agent.validate_options(options)
    assert agent.assess_agent(agent_probe(), options)[0]["status"] == "error"


def test_missing_sections_are_errors():
    assert agent.assess_agent({"services": [RPCSS]})[0]["detail"] == "the probe has no agent section"
    assert "lists no services" in agent.assess_agent({"services": [], "agent": {}})[0]["detail"]
    finding = agent.assess_agent({"services": [RPCSS], "agent": {}, "section_errors": {"agent": "denied"}})[0]
    assert finding["status"] == "error" and "denied" in finding["detail"]
    with pytest.raises(ValueError):
        agent.assess_agent(agent_probe(), {}, "ExtensionFailedVssWriterInBadState")


def test_provisioning_state_names_a_failed_extension():
    status = {"found": True, "content": json.dumps([{"status": {"status": "error", "code": 51}}])}
    finding = agent.evaluator_for("UserErrorVmProvisioningStateFailed")(agent_probe(extension_status=status))
    assert finding["status"] == "pass" and "code 51" in finding["detail"] and "control-plane" in finding["detail"]


# ------------------------------------------------------------------ ExtensionVCRedistInstallationFailure

PLUGIN = {"version": "1.0.9222.0", "vcredist": True}
VC = {
    "product_id": "{ef6b00ec-13e1-4c25-9064-b2f383cb8412}",
    "name": "Microsoft Visual C++ 2013 Redistributable (x64) - 12.0.40660",
}


def inst_probe(start_mode="manual", products=(VC,), plugins=(PLUGIN,)):
    services = [RPCSS] + ([{"name": "msiserver", "start_mode": start_mode, "state": "stopped"}] if start_mode else [])
    return {"services": services, "installer": {"vcredist_products": list(products), "snapshot_plugins": list(plugins)}}


def test_installer_pass_and_detection_by_id_or_name():
    assert inst.evaluate_installer(inst_probe())["status"] == "pass"
    by_name = {"product_id": "{00000000-0000-0000-0000-000000000000}", "name": VC["name"]}
    assert inst.evaluate_installer(inst_probe(products=[by_name]))["status"] == "pass"
    x86 = {
        "product_id": "{f65db027-aff3-4070-886a-0d87064aabb1}",
        "name": "Microsoft Visual C++ 2013 Redistributable (x86)",
    }
    assert inst.evaluate_installer(inst_probe(products=[x86]))["status"] == "fail"


def test_installer_disabled_service_and_missing_vcredist():
    finding, facts = inst.assess_installer(
        inst_probe(
            "disabled",
            products=[],
            plugins=[
                {"version": "1.0.10", "vcredist": True},
                {"version": "1.0.9", "vcredist": True},
                {"version": "1.0.11", "vcredist": False},
            ],
        )
    )
    assert finding["status"] == "fail"
    assert [a["action"] for a in finding["actions"]] == ["set_start_mode", "reregister_msi", "install_vcredist"]
    install = finding["actions"][2]
    assert install["path"] == inst.PLUGIN_ROOT + "\\1.0.10\\vcredist2013_x64.exe"  # newest folder that has it
    assert install["arguments"] == "/install /quiet /norestart" and install["allowed"]
    assert finding["actions"][1]["allowed"] is False and finding["actions"][1]["disruptive"] is True
    assert facts["snapshot_plugin_versions"] == ["1.0.9", "1.0.10", "1.0.11"]


def test_installer_no_source_and_no_plugin_folder():
    finding = inst.evaluate_installer(inst_probe(products=[], plugins=[{"version": "1.0.9", "vcredist": False}]))
    assert "set vcredist_path" in finding["actions"][-1]["reason"]
    # no plugin folder: the extension has not run here and installs VC++ itself
    assert inst.evaluate_installer(inst_probe(products=[], plugins=[]))["status"] == "pass"


def test_installer_unregistered_service_and_options():
    finding = inst.evaluate_installer(inst_probe(None), {"reregister_msi": True})
    assert finding["status"] == "fail" and "not registered" in finding["detail"]
    assert [a["action"] for a in finding["actions"]] == ["reregister_msi"] and finding["actions"][0]["allowed"]
    with pytest.raises(ValueError, match="vcredist_path"):
        inst.validate_options({"vcredist_path": "vcredist.exe"})
    with pytest.raises(ValueError, match="vcredist_product_id"):
        inst.validate_options({"vcredist_product_id": "042d26ef"})
    assert inst.evaluate_installer({"services": []})["status"] == "error"


def test_dotnet_round_trip_timestamps_and_unparsable_vssadmin():
    # .NET 'o' has 7 fractional digits (fromisoformat rejects them before 3.11);
    # a VssParseError must not escape as a traceback: an unreadable vssadmin counts as "maybe busy"
    from ansible_collections.vmbackup.azure.plugins.plugin_utils._backup_activity import parse_dotnet_utc

    stamp = parse_dotnet_utc("2026-12-01T06:00:00.1234567Z")
    assert stamp.microsecond == 123456 and stamp.utcoffset().total_seconds() == 0
    assert parse_dotnet_utc("2026-12-01T06:00:00.1234567+02:00").utcoffset().total_seconds() == 7200
    assert parse_dotnet_utc("2026-12-01T06:00:00") is None
    busy, why = agent.backup_in_progress(
        {"vssadmin": {"rc": 0, "stdout": "   Writer Id: {e8132975-6f93-4464-a53e-1050253ae220}"}}, 180
    )
    assert busy is True and "could not be parsed" in why
