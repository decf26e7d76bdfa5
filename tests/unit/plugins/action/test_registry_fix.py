"""Unit tests for the registry fix action plugins: _execute_module replaced by recorded outputs.

One probe, then one ansible.windows.win_regedit per differing value with exactly the planned args;
check mode is never forced off (the remote module owns it); errors stop before the next value.
"""

from __future__ import annotations

import copy
import os
import sys

import pytest
from ansible_collections.vmbackup.azure.plugins.plugin_utils import _registry as reg
from ansible_collections.vmbackup.azure.plugins.plugin_utils._windows_probe import PROBE_SCRIPT

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
from winsim_driver import action_plugin  # noqa: E402

NET64 = "HKLM:\\SOFTWARE\\Microsoft\\.NETFramework"
NET32 = "HKLM:\\SOFTWARE\\WOW6432Node\\Microsoft\\.NETFramework"


def key(values=None, subkeys=(), exists=True):
    return {"exists": exists, "values": values or {}, "subkeys": list(subkeys)}


def powershell_result(keys, services=()):
    all_keys = {path: key(exists=False) for path in reg.PROBE_KEYS}
    all_keys.update(keys)
    return {
        "changed": False,
        "output": [
            {
                "probe": "vmbackup.azure.windows_probe",
                "version": 1,
                "computer_name": "WIN-01",
                "locale": "en-US",
                "section_errors": {},
                "registry": {"keys": all_keys},
                "services": [{"name": "RpcSs", "state": "running"}, *services],
            }
        ],
        "invocation": {"module_args": {"script": PROBE_SCRIPT, "depth": 8}},
    }


DOTNET_BROKEN = {
    NET64: key({}, ["v4.0.30319", "Policy"]),
    f"{NET64}\\v4.0.30319": key({"SchUseStrongCrypto": {"type": "dword", "data": 1}}),
    NET32: key({}, ["v2.0.50727", "v4.0.30319"]),
    f"{NET32}\\v2.0.50727": key({}),
    f"{NET32}\\v4.0.30319": key({"SchUseStrongCrypto": {"type": "string", "data": "1"}}),
}


class Host:
    def __init__(self, plugin, probe, regedit=None):
        self.plugin = plugin
        self.probe = probe
        self.regedit = regedit or (lambda args: {"changed": True, "data_changed": True})
        self.calls = []

    def __call__(self, module_name=None, module_args=None, task_vars=None, **kwargs):
        self.calls.append((module_name, copy.deepcopy(module_args), self.plugin._task.check_mode))
        if module_name == "ansible.windows.win_powershell":
            return copy.deepcopy(self.probe)
        if module_name == "ansible.windows.win_regedit":
            return self.regedit(module_args)
        raise AssertionError(f"unexpected module {module_name}")


def run(name, args, probe, check_mode=False, diff=False, regedit=None):
    plugin = action_plugin(name, args, check_mode=check_mode, diff=diff)
    host = Host(plugin, probe, regedit)
    plugin._execute_module = host
    return plugin.run(task_vars={"inventory_hostname": "win-01"}), host


@pytest.mark.parametrize("check_mode", [False, True])
def test_dotnet_sets_each_differing_value(check_mode):
    result, host = run("dotnet_strong_crypto", {}, powershell_result(DOTNET_BROKEN), check_mode=check_mode, diff=True)
    assert not result.get("failed"), result.get("msg")
    assert [c[0] for c in host.calls] == ["ansible.windows.win_powershell"] + ["ansible.windows.win_regedit"] * 2
    regedits = [c[1] for c in host.calls[1:]]
    assert regedits == [
        {"path": f"{NET32}\\v2.0.50727", "name": "SchUseStrongCrypto", "data": 1, "type": "dword", "state": "present"},
        {"path": f"{NET32}\\v4.0.30319", "name": "SchUseStrongCrypto", "data": 1, "type": "dword", "state": "present"},
    ]
    assert all(c[2] is check_mode for c in host.calls)  # the task's check mode, never forced
    assert all("_ansible_check_mode" not in c[1] for c in host.calls)
    assert result["changed"] is True
    assert result["detail"]["changed_keys"] == [f"{NET32}\\v2.0.50727", f"{NET32}\\v4.0.30319"]
    assert [c["reason"] for c in result["actions"]] == ["value missing", "wrong type"]
    assert result["finding"]["status"] == "fail"
    assert "REG_SZ '1'" in result["diff"]["before"] and "dword 1" in result["diff"]["after"]
    assert result["invocation"] == {"module_args": {"include_32bit_view": True, "apply": True}}


def test_nothing_differs_only_the_probe_runs():
    healthy = copy.deepcopy(DOTNET_BROKEN)
    for path in (f"{NET32}\\v2.0.50727", f"{NET32}\\v4.0.30319"):
        healthy[path] = key({"SchUseStrongCrypto": {"type": "dword", "data": 1}})
    result, host = run("dotnet_strong_crypto", {}, powershell_result(healthy), diff=True)
    assert [c[0] for c in host.calls] == ["ansible.windows.win_powershell"]
    assert result["changed"] is False and result["actions"] == [] and "diff" not in result
    assert result["finding"]["status"] == "pass"


def test_remote_module_reporting_no_change_is_not_a_change():
    result, _host = run(
        "dotnet_strong_crypto", {}, powershell_result(DOTNET_BROKEN), regedit=lambda args: {"changed": False}
    )
    assert result["changed"] is False and result["detail"]["changed_keys"] == []


def test_apply_false_reports_only():
    result, host = run("dotnet_strong_crypto", {"apply": False}, powershell_result(DOTNET_BROKEN))
    assert [c[0] for c in host.calls] == ["ansible.windows.win_powershell"]
    assert result["changed"] is False
    assert [n["path"] for n in result["not_allowed"]] == [f"{NET32}\\v2.0.50727", f"{NET32}\\v4.0.30319"]


def test_32bit_view_left_out():
    result, host = run("dotnet_strong_crypto", {"include_32bit_view": False}, powershell_result(DOTNET_BROKEN))
    assert [c[0] for c in host.calls] == ["ansible.windows.win_powershell"]
    assert result["finding"]["status"] == "pass"


def test_regedit_failure_stops_and_names_the_value():
    calls = []

    def regedit(args):
        calls.append(args["path"])
        return {"failed": True, "msg": "Access is denied"}

    result, host = run("dotnet_strong_crypto", {}, powershell_result(DOTNET_BROKEN), regedit=regedit)
    assert result["failed"] is True
    assert f"{NET32}\\v2.0.50727 SchUseStrongCrypto" in result["msg"] and "Access is denied" in result["msg"]
    assert len(calls) == 1  # stopped at the first failure
    assert result["changed"] is False and result["actions"] == []


def test_bad_input_fails_before_any_execution():
    result, host = run("dotnet_strong_crypto", {"include_32bit_view": "perhaps"}, powershell_result(DOTNET_BROKEN))
    assert result["failed"] is True and "include_32bit_view" in result["msg"]
    assert host.calls == []
    result, host = run("bcdr_agent_keys", {"snapshot_method": "x"}, powershell_result({}))
    assert result["failed"] is True and "snapshot_method" in result["msg"]
    assert host.calls == []


def test_probe_section_error_fails_without_changes():
    probe = powershell_result({})
    probe["output"][0]["section_errors"] = {"registry": "Requested registry access is not allowed."}
    result, host = run("bcdr_agent_keys", {}, probe)
    assert result["failed"] is True and "not allowed" in result["msg"]
    assert result["finding"]["status"] == "error"
    assert [c[0] for c in host.calls] == ["ansible.windows.win_powershell"]


def test_bcdr_creates_key_and_both_values():
    result, host = run("bcdr_agent_keys", {}, powershell_result({}), diff=True)
    assert [c[1] for c in host.calls[1:]] == [
        {
            "path": reg.BCDR_PERSISTENT_KEYS,
            "name": "SnapshotMethod",
            "data": "firstHostThenGuest",
            "type": "string",
            "state": "present",
        },
        {
            "path": reg.BCDR_PERSISTENT_KEYS,
            "name": "CalculateSnapshotTimeFromHost",
            "data": "True",
            "type": "string",
            "state": "present",
        },
    ]
    assert result["detail"]["changed_keys"] == [reg.BCDR_PERSISTENT_KEYS]
    assert "(key missing)" in result["diff"]["before"]


def test_sql_not_installed_changes_nothing():
    result, host = run("bcdr_vss_copy_backup", {}, powershell_result({}, [{"name": "SQLWriter"}]))
    assert result["finding"]["status"] == "not_applicable"
    assert result["changed"] is False
    assert [c[0] for c in host.calls] == ["ansible.windows.win_powershell"]


def test_sql_installed_sets_string_true():
    result, host = run("bcdr_vss_copy_backup", {}, powershell_result({}, [{"name": "MSSQLSERVER"}]))
    assert [c[1] for c in host.calls[1:]] == [
        {"path": reg.BCDRAGENT, "name": "USEVSSCOPYBACKUP", "data": "TRUE", "type": "string", "state": "present"}
    ]
    assert result["changed"] is True
