"""Unit tests for the vss_writers action plugin: _execute_module replaced by recorded outputs.

As ansible.windows tests its action plugins (tests/unit/plugins/action/test_win_updates.py):
no host, the remote modules' results are replayed.
"""

from __future__ import annotations

import copy
import os
import sys

import pytest
from ansible_collections.vmbackup.azure.plugins.plugin_utils._windows_probe import PROBE_SCRIPT

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
from winsim_driver import action_plugin  # noqa: E402

SYSTEM = ("System Writer", "e8132975-6f93-4464-a53e-1050253ae220", "eb6b4c30-aa48-486a-9618-0d1934d180ca")
REGISTRY = ("Registry Writer", "afbab4a2-367d-4d15-a586-71dbb18f8485", "0f0e0d0c-0b0a-0908-0706-050403020100")
PERF = ("Performance Counters Writer", "0bada1de-01a9-4625-8278-69e735f39dd2", "1a2b3c4d-0000-4000-8000-00000000beef")
EXCHANGE = ("Microsoft Exchange Writer", "76fe1ac4-15f7-4bcd-987e-8e1acb462fb7", "728c7e4c-d8fa-46cc-999d-e20573e08a08")

STATE_WORDS = {1: "Stable", 7: "Failed", 8: "Failed", 9: "Failed"}


def vssadmin_text(writers):
    """What `vssadmin list writers` prints (en-US, CRLF as on the console)."""
    lines = [
        "vssadmin 1.1 - Volume Shadow Copy Service administrative command-line tool",
        "(C) Copyright 2001-2013 Microsoft Corp.",
        "",
        "Waiting for responses.",
        "These may be delayed if a shadow copy is being prepared.",
        "",
    ]
    for (name, wid, iid), state, error in writers:
        lines += [
            f"Writer name: '{name}'",
            f"   Writer Id: {{{wid}}}",
            f"   Writer Instance Id: {{{iid}}}",
            f"   State: [{state}] {STATE_WORDS.get(state, 'Failed')}",
            f"   Last error: {error}",
            "",
        ]
    return "\n".join(lines)


def service(name, state="running", dependents=()):
    return {
        "name": name,
        "display_name": name,
        "state": state,
        "start_mode": "auto",
        "username": "LocalSystem",
        "dependencies": [],
        "dependents": list(dependents),
    }


SERVICES = [service("CryptSvc"), service("VSS", "stopped"), service("Winmgmt"), service("MSExchangeIS")]


def powershell_result(writers, rc=0, services=None, text=None):
    """A recorded ansible.windows.win_powershell result carrying the probe object."""
    services = SERVICES if services is None else services
    return {
        "changed": False,
        "debug": [],
        "error": [],
        "host_err": "",
        "host_out": "",
        "information": [],
        "output": [
            {
                "probe": "vmbackup.azure.windows_probe",
                "version": 1,
                "computer_name": "WIN-01",
                "locale": "en-US",
                "vssadmin": {"rc": rc, "stdout": vssadmin_text(writers) if text is None else text},
                "services": services,
            }
        ],
        "result": {},
        "verbose": [],
        "warning": [],
        "invocation": {"module_args": {"script": PROBE_SCRIPT, "depth": 5}},
    }


def service_result(name, check_mode):
    return {
        "changed": True,
        "exists": True,
        "name": name,
        "state": "running",
        "start_mode": "auto",
        "invocation": {"module_args": {"name": name, "state": "restarted", "_ansible_check_mode": check_mode}},
    }


class Host:
    """Replays results per module and records every call with the task's check mode at that time."""

    def __init__(self, plugin, probes, service_results=None):
        self.plugin = plugin
        self.probes = list(probes)
        self.service_results = dict(service_results or {})
        self.calls = []

    def __call__(self, module_name=None, module_args=None, task_vars=None, **kwargs):
        self.calls.append((module_name, copy.deepcopy(module_args), self.plugin._task.check_mode))
        if module_name == "ansible.windows.win_powershell":
            return copy.deepcopy(self.probes.pop(0))
        if module_name == "ansible.windows.win_service":
            return self.service_results.get(module_args["name"]) or service_result(
                module_args["name"], self.plugin._task.check_mode
            )
        raise AssertionError(f"unexpected module {module_name}")

    def modules(self):
        return [c[0] for c in self.calls]


def run(args, probes, check_mode=False, diff=False, service_results=None):
    plugin = action_plugin("vss_writers", args, check_mode=check_mode, diff=diff)
    host = Host(plugin, probes, service_results)
    plugin._execute_module = host
    result = plugin.run(task_vars={"inventory_hostname": "win-01"})
    return result, host


BROKEN = [(SYSTEM, 8, "Timed out"), (REGISTRY, 7, "Retryable error")]
FIXED = [(SYSTEM, 1, "No error"), (REGISTRY, 1, "No error")]


def test_restart_fixes_and_reprobes():
    result, host = run({"restart": True}, [powershell_result(BROKEN), powershell_result(FIXED)])
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is True
    assert host.modules() == [
        "ansible.windows.win_powershell",
        "ansible.windows.win_service",
        "ansible.windows.win_service",
        "ansible.windows.win_powershell",
    ]
    assert [c[1]["name"] for c in host.calls if c[0].endswith("win_service")] == ["CryptSvc", "VSS"]
    assert all(c[1]["state"] == "restarted" for c in host.calls if c[0].endswith("win_service"))
    assert result["actions"] == ["CryptSvc", "VSS"]
    assert [w["state"] for w in result["before"]] == [8, 7]
    assert [w["state"] for w in result["after"]] == [1, 1]
    assert result["after_predicted"] is False
    assert result["finding"]["status"] == "fail"
    assert result["not_allowed"] == [] and result["detail"]["unmapped_writers"] == []


def test_check_mode_calls_nothing_with_check_mode_off():
    result, host = run({"restart": True}, [powershell_result(BROKEN)], check_mode=True, diff=True)
    assert not result.get("failed"), result.get("msg")
    # the probe runs (it declares SupportsShouldProcess); win_service gets check mode from the task
    assert host.modules() == [
        "ansible.windows.win_powershell",
        "ansible.windows.win_service",
        "ansible.windows.win_service",
    ]
    for module_name, module_args, check_mode in host.calls:
        assert check_mode is True, module_name
        assert module_args.get("_ansible_check_mode", True) is True  # never forced off
    assert result["changed"] is True
    assert result["after_predicted"] is True
    assert [w["state"] for w in result["after"]] == [1, 1]
    assert "[8]" in result["diff"]["before"] and "[1] stable" in result["diff"]["after"]


def test_restart_not_opted_in_changes_nothing_and_reports():
    result, host = run({}, [powershell_result(BROKEN)])
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is False
    assert host.modules() == ["ansible.windows.win_powershell"]
    assert [(n["service"], n["reason"]) for n in result["not_allowed"]] == [
        ("CryptSvc", "restart not opted in (restart: false)"),
        ("VSS", "restart not opted in (restart: false)"),
    ]
    assert result["actions"] == []
    assert result["after"] == result["before"]


def test_disruptive_and_unmapped_are_reported_not_restarted():
    probes = [
        powershell_result([(SYSTEM, 8, "Timed out"), (EXCHANGE, 7, "Retryable error"), (PERF, 7, "Timed out")]),
        powershell_result([(SYSTEM, 1, "No error"), (EXCHANGE, 7, "Retryable error"), (PERF, 7, "Timed out")]),
    ]
    result, host = run({"restart": True}, probes)
    assert not result.get("failed"), result.get("msg")
    assert [c[1]["name"] for c in host.calls if c[0].endswith("win_service")] == ["CryptSvc"]
    assert [w["name"] for w in result["detail"]["unmapped_writers"]] == ["Performance Counters Writer"]
    assert result["not_allowed"][0]["service"] == "MSExchangeIS"
    assert result["not_allowed"][0]["disruptive"] is True
    assert "never guessed" in result["finding"]["fix"]


def test_allowed_services_lets_disruptive_through():
    probes = [powershell_result([(EXCHANGE, 7, "Retryable error")]), powershell_result([(EXCHANGE, 1, "No error")])]
    result, host = run({"restart": True, "allowed_services": ["MSExchangeIS"]}, probes)
    assert result["actions"] == ["MSExchangeIS"]


def test_extra_writer_services_maps_unmapped_writer():
    probes = [powershell_result([(PERF, 7, "Timed out")]), powershell_result([(PERF, 1, "No error")])]
    args = {"restart": True, "extra_writer_services": [{"name": "performance counters writer", "service": "Winmgmt"}]}
    result, host = run(args, probes)
    assert not result.get("failed"), result.get("msg")
    assert result["actions"] == ["Winmgmt"]


def test_still_failed_after_restart_fails_naming_writers():
    still = [(SYSTEM, 1, "No error"), (REGISTRY, 9, "Timed out")]
    result, _host = run({"restart": True, "settle_timeout": 0}, [powershell_result(BROKEN), powershell_result(still)])
    assert result["failed"] is True
    assert "Registry Writer" in result["msg"] and "System Writer" not in result["msg"]
    assert result["changed"] is True and result["actions"] == ["CryptSvc", "VSS"]


def test_all_stable_is_idempotent():
    result, host = run({"restart": True}, [powershell_result(FIXED)], diff=True)
    assert result["changed"] is False and not result.get("failed")
    assert host.modules() == ["ansible.windows.win_powershell"]
    assert result["finding"]["status"] == "pass"
    assert result["diff"]["before"] == result["diff"]["after"]


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        ({"restart": "maybe"}, "restart"),
        ({"allowed_services": {"a": 1}}, "allowed_services"),
        ({"extra_writer_services": [{"name": "x"}]}, "service"),
        ({"extra_writer_services": [{"service": "x"}]}, "name"),
        ({"extra_writer_services": [{"writer_id": "not-a-guid", "service": "x"}]}, "extra_writer_services"),
        ({"bogus": 1}, "bogus"),
    ],
)
def test_bad_input_fails_before_any_remote_call(args, needle):
    result, host = run(args, [])
    assert result["failed"] is True
    assert needle in result["msg"]
    assert host.calls == []


def test_vss_down_is_an_error():
    text = (
        "vssadmin 1.1 - Volume Shadow Copy Service administrative command-line tool\r\n"
        "(C) Copyright 2001-2013 Microsoft Corp.\r\n\r\n"
        "Error: A Volume Shadow Copy Service component encountered an unexpected error.\r\n"
    )
    result, host = run({"restart": True}, [powershell_result([], rc=2, text=text)])
    assert result["failed"] is True and "rc=2" in result["msg"]
    assert result["finding"]["status"] == "error"
    assert host.modules() == ["ansible.windows.win_powershell"]


def test_probe_failure_is_reported():
    failed = {"failed": True, "msg": "Access is denied", "error": [], "output": []}
    result, _host = run({}, [failed])
    assert result["failed"] is True and "Access is denied" in result["msg"]


def test_service_restart_failure_stops_and_reports():
    results = {"CryptSvc": {"failed": True, "msg": "Cannot stop service"}}
    result, host = run({"restart": True}, [powershell_result(BROKEN)], service_results=results)
    assert result["failed"] is True and "CryptSvc" in result["msg"] and "Cannot stop service" in result["msg"]
    assert [c[1]["name"] for c in host.calls if c[0].endswith("win_service")] == ["CryptSvc"]


def test_invocation_has_only_user_args():
    result, _host = run({"restart": True}, [powershell_result(FIXED)])
    assert result["invocation"] == {
        "module_args": {
            "restart": True,
            "allowed_services": None,
            "extra_writer_services": [],
            "force_dependent_services": False,
            "settle_timeout": 30,
            "waiting_recheck": 0,
        }
    }
    assert "script" not in str(result["invocation"])


def test_force_dependent_services_passed_through():
    services = [service("Winmgmt", dependents=["iphlpsvc"]), service("iphlpsvc")]
    wmi = ("WMI Writer", "a6ad56c2-b509-4e6c-bb19-49d8f43532f0", "11111111-2222-4333-8444-555555555555")
    probes = [powershell_result([(wmi, 8, "Timed out")], services=services)]
    result, host = run({"restart": True}, copy.deepcopy(probes))
    assert host.modules() == ["ansible.windows.win_powershell"]
    assert "force_dependent_services" in result["not_allowed"][0]["reason"]
    probes.append(powershell_result([(wmi, 1, "No error")], services=services))
    result, host = run({"restart": True, "force_dependent_services": True}, probes)
    (restart_call,) = [c for c in host.calls if c[0].endswith("win_service")]
    assert restart_call[1] == {"name": "Winmgmt", "state": "restarted", "force_dependent_services": True}


def test_writer_that_vanishes_after_its_restart_is_not_fixed():
    # a writer absent after its service restart has not re-registered: a failure at timeout
    result, host = run(
        {"restart": True, "settle_timeout": 0},
        [powershell_result(BROKEN), powershell_result([(REGISTRY, 1, "No error")])],
    )
    assert result["failed"] is True
    assert "'System Writer' not listed by vssadmin" in result["msg"]


def test_writers_in_a_snapshot_are_not_restarted_unless_they_persist(monkeypatch):
    # states 2-5 are a snapshot in progress (Azure Backup's own included)
    waiting = [(SYSTEM, 5, "No error")]
    result, host = run({"restart": True}, [powershell_result(waiting)])
    assert not result.get("failed"), result.get("msg")
    assert host.modules() == ["ansible.windows.win_powershell"] and result["changed"] is False
    assert "inside a snapshot (state 2-5): in progress, retry later" in result["not_allowed"][0]["reason"]
    monkeypatch.setattr("time.sleep", lambda _s: None)
    result, host = run(
        {"restart": True, "waiting_recheck": 120},
        [powershell_result(waiting), powershell_result(waiting), powershell_result(FIXED)],
    )
    assert not result.get("failed"), result.get("msg")
    assert result["actions"] == ["CryptSvc"]
    moved = [(SYSTEM, 1, "No error")]
    result, host = run(
        {"restart": True, "waiting_recheck": 120}, [powershell_result(waiting), powershell_result(moved)]
    )
    assert result["actions"] == [] and result["changed"] is False
