"""Unit tests of plugins/module_utils/_linux_agent.py: parsers and the four agent findings from plain dicts."""

from __future__ import annotations

import pytest
from ansible_collections.vmbackup.azure.plugins.module_utils._linux_agent import (
    AZURE_ASSET_TAG,
    conf_disabled,
    evaluate_agent,
    mount_of,
    os_family,
    parse_os_release,
    parse_waagent_conf,
    parse_waagent_version,
    set_conf_value,
)

VERSION = """WALinuxAgent-2.7.3.0 running on debian 12
Python: 3.11.2
Goal state agent: 2.9.1.1
"""


def agent(installed=True, active=True, enabled=True, manager="systemd", ext="y", noexec=False, azure=True):
    return {
        "agent": {
            "identity": {"azure": azure, "chassis_asset_tag": AZURE_ASSET_TAG if azure else ""},
            "package": {
                "manager": "apt",
                "name": "waagent" if installed else None,
                "installed": installed,
                "version": "2.7.3.0-4.1" if installed else None,
                "candidates": ["waagent", "walinuxagent"],
            },
            "version": parse_waagent_version(VERSION if installed else ""),
            "service": {
                "manager": manager,
                "name": "walinuxagent",
                "active": active if installed else None,
                "enabled": enabled if installed else None,
                "state": "active" if active else "inactive",
                "sub_state": "running" if active else "dead",
            },
            "conf": {"path": "/etc/waagent.conf", "exists": True, "extensions_enabled": ext},
            "lib_mount": {"path": "/var/lib/waagent", "mountpoint": "/var", "noexec": noexec},
        }
    }


def test_parsers():
    assert parse_waagent_version(VERSION) == {"agent": "2.7.3.0", "goal_state_agent": "2.9.1.1", "python": "3.11.2"}
    assert parse_waagent_version("") == {"agent": None, "goal_state_agent": None, "python": None}
    osr = parse_os_release('ID=ubuntu\nID_LIKE=debian\nVERSION_ID="22.04"\n')
    assert osr["VERSION_ID"] == "22.04" and os_family(osr) == "ubuntu"
    assert os_family({"ID": "rocky", "ID_LIKE": "rhel centos fedora"}) == "redhat"
    assert os_family({"ID": "sles"}) == "suse"
    assert os_family({"ID": "debian"}) == "debian"
    assert os_family({"ID": "plan9"}) == "unknown"
    conf = "# Extensions.Enabled=n\nExtensions.Enabled = N  # trailing\nLib.Dir=/var/lib/waagent\n"
    assert parse_waagent_conf(conf)["Extensions.Enabled"] == "N"
    assert conf_disabled("N") and not conf_disabled("y") and not conf_disabled(None)
    # the agent's get_switch knows only y/n: 'no', 'false', '0' mean the default (enabled)
    assert not any(conf_disabled(v) for v in ("no", "false", "0", "off", "No"))
    new = set_conf_value(
        "a=1\nExtensions.Enabled=n\n# Extensions.Enabled=n\nExtensions.Enabled=n\n", "Extensions.Enabled", "y"
    )
    assert new == "a=1\nExtensions.Enabled=y\n# Extensions.Enabled=n\n"
    assert set_conf_value("a=1\n", "Extensions.Enabled", "y") == "a=1\nExtensions.Enabled=y\n"
    mounts = [{"mountpoint": "/"}, {"mountpoint": "/var"}, {"mountpoint": "/var/lib/waagent2"}]
    assert mount_of("/var/lib/waagent", mounts)["mountpoint"] == "/var"


def test_healthy_agent_passes_and_reports_the_version():
    finding = evaluate_agent(agent(), {}, "VmAgentNotRunning")
    assert finding["status"] == "pass"
    assert "WALinuxAgent 2.7.3.0" in finding["detail"] and "goal state agent 2.9.1.1" in finding["detail"]
    assert finding["actions"] == []


def test_not_azure_is_not_applicable_unless_asked():
    assert evaluate_agent(agent(azure=False), {}, "NoVmAgent")["status"] == "not_applicable"
    assert evaluate_agent(agent(azure=False), {"azure_only": False}, "NoVmAgent")["status"] == "pass"


@pytest.mark.parametrize("code", ["NoVmAgent", "AzureVmOffline", "VmAgentNotRunning"])
def test_missing_agent_install_is_opt_in(code):
    finding = evaluate_agent(agent(installed=False), {}, code)
    assert finding["status"] == "fail"
    install = finding["actions"][0]
    assert install["action"] == "install_agent" and install["allowed"] is False
    assert "not opted in" in finding["fix"]
    finding = evaluate_agent(agent(installed=False), {"install": True}, code)
    assert finding["actions"][0]["allowed"] is True
    assert "from the distribution's repository" in finding["fix"]
    if code == "AzureVmOffline":
        assert "provisionVMAgent" in finding["fix"]


def test_stopped_disabled_extensions_off_noexec():
    finding = evaluate_agent(agent(active=False, enabled=False, ext="n", noexec=True), {}, "VmAgentNotRunning")
    assert finding["status"] == "fail"
    kinds = {a["action"]: a for a in finding["actions"]}
    assert kinds["start_agent"]["allowed"] is True
    assert kinds["set_extensions_enabled"]["allowed"] is True
    assert kinds["remount_exec"]["allowed"] is False and kinds["remount_exec"]["disruptive"] is True
    assert kinds["restart_agent"]["allowed"] is False, "restarting the agent is opt-in"
    assert "noexec" in finding["detail"] and "Extensions.Enabled=n" in finding["detail"]


def test_provisioning_state_restart_is_opt_in_and_not_a_failure():
    finding = evaluate_agent(agent(), {}, "UserErrorVmProvisioningStateFailed")
    assert finding["status"] == "pass" and finding["actions"] == []
    # a healthy agent is not restarted, even with restart: true
    finding = evaluate_agent(agent(), {"restart": True}, "UserErrorVmProvisioningStateFailed")
    assert finding["status"] == "pass" and finding["actions"] == []
    # one that is not running and not started by the fix (start: false) is
    finding = evaluate_agent(
        agent(active=False), {"restart": True, "start": False}, "UserErrorVmProvisioningStateFailed"
    )
    kinds = {a["action"]: a for a in finding["actions"]}
    assert kinds["restart_agent"]["allowed"] is True


def test_chroot_without_init_only_needs_enabling():
    finding = evaluate_agent(agent(manager="none", active=None), {"azure_only": False}, "VmAgentNotRunning")
    assert finding["status"] == "pass"
    assert "no init system" in finding["detail"]


def test_bad_input():
    assert evaluate_agent({}, {})["status"] == "error"
    with pytest.raises(ValueError):
        evaluate_agent(agent(), {}, "UserErrorFsFreezeFailed")


# --- the module: restart only when something changed or the agent is not running ---


class _Exit(Exception):
    pass


@pytest.mark.parametrize(
    ("code", "facts", "restarts"),
    [
        ("UserErrorVmProvisioningStateFailed", agent(), False),
        ("VmAgentNotRunning", agent(), False),
        ("UserErrorVmProvisioningStateFailed", agent(ext="n"), True),
        ("VmAgentNotRunning", agent(ext="n"), True),
    ],
)
def test_module_restarts_only_when_needed(monkeypatch, tmp_path, code, facts, restarts):
    from ansible.module_utils.testing import patch_module_args
    from ansible_collections.vmbackup.azure.plugins.modules import waagent

    conf = tmp_path / "waagent.conf"
    conf.write_text(f"Extensions.Enabled={facts['agent']['conf']['extensions_enabled']}\n")
    facts["agent"]["conf"]["path"] = str(conf)
    calls, results = [], []
    monkeypatch.setattr(waagent.Agent, "gather", lambda self: facts["agent"])
    monkeypatch.setattr(waagent.Agent, "systemctl", lambda self, *args: calls.append(args))
    monkeypatch.setattr(waagent.AnsibleModule, "exit_json", lambda self, **r: (results.append(r), _raise()))
    monkeypatch.setattr(waagent.AnsibleModule, "fail_json", lambda self, **r: (results.append(r), _raise()))
    args = {"error_code": code, "restart": True, "conf_path": str(conf), "backup": False}
    with patch_module_args(args), pytest.raises(_Exit):
        waagent.main()
    (result,) = results
    assert (("restart", "walinuxagent.service") in calls) is restarts, (calls, result)
    assert result["changed"] is restarts


def _raise():
    raise _Exit()


# --- waagent.conf read as the agent reads it: bytes, lines end at \n only, strict UTF-8 (review finding 1) ---


def _conf_facts(path):
    from ansible_collections.vmbackup.azure.plugins.module_utils._linux_agent import gather_agent

    return gather_agent(lambda argv: (1, "", ""), lambda name: None, [], conf_path=str(path))["conf"]


def test_a_lone_cr_does_not_end_a_line_for_the_agent(tmp_path):
    path = tmp_path / "waagent.conf"
    path.write_bytes(b"Extensions.Enabled=n\rAutoUpdate.Enabled=y\n")
    conf = _conf_facts(path)
    # the agent reads one line: Extensions.Enabled = "n\rAutoUpdate.Enabled=y", not "n" -> the default, on
    assert conf["extensions_enabled"] == "n\rAutoUpdate.Enabled=y" and conf["error"] is None
    facts = agent()
    facts["agent"]["conf"] = conf
    finding = evaluate_agent(facts, {})
    assert finding["status"] == "pass", finding
    assert not [a for a in finding["actions"] if a["action"] == "set_extensions_enabled"]


@pytest.mark.parametrize(("data", "why"), [(b"Extensions.Enabled=n\n# caf\xe9\n", "not UTF-8"), (b"", "empty")])
def test_a_conf_the_agent_cannot_read_is_an_error(tmp_path, data, why):
    path = tmp_path / "waagent.conf"
    path.write_bytes(data)
    conf = _conf_facts(path)
    assert str(path) in conf["error"] and why in conf["error"]
    facts = agent()
    facts["agent"]["conf"] = conf
    for code in ("VmAgentNotRunning", "UserErrorVmProvisioningStateFailed"):
        finding = evaluate_agent(facts, {}, code)
        assert finding["status"] == "error" and why in finding["detail"] and not finding["actions"], finding
    assert evaluate_agent(facts, {}, "NoVmAgent")["status"] == "pass"  # the package check does not read the file


def test_module_fails_on_a_non_utf8_conf_and_changes_nothing(monkeypatch, tmp_path):
    from ansible.module_utils.testing import patch_module_args
    from ansible_collections.vmbackup.azure.plugins.modules import waagent

    path = tmp_path / "waagent.conf"
    before = b"# caf\xe9\nExtensions.Enabled=n\n"
    path.write_bytes(before)
    facts = agent()
    facts["agent"]["conf"] = _conf_facts(path)
    calls, results = [], []
    monkeypatch.setattr(waagent.Agent, "gather", lambda self: facts["agent"])
    monkeypatch.setattr(waagent.Agent, "systemctl", lambda self, *args: calls.append(args))
    monkeypatch.setattr(waagent.AnsibleModule, "exit_json", lambda self, **r: (results.append(("exit", r)), _raise()))
    monkeypatch.setattr(waagent.AnsibleModule, "fail_json", lambda self, **r: (results.append(("fail", r)), _raise()))
    with patch_module_args({"restart": True, "conf_path": str(path)}), pytest.raises(_Exit):
        waagent.main()
    ((how, result),) = results
    assert how == "fail" and str(path) in result["msg"] and "not UTF-8" in result["msg"], result
    assert result["changed"] is False and not calls
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["waagent.conf"]
