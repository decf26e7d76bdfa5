"""The Windows fix action plugins run in-process against the (faithful) simulator (tools/winsim_driver.py)."""

from __future__ import annotations

import os
import shutil
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
from winsim_driver import run_fix  # noqa: E402

STATES = os.path.join(ROOT, "tests", "sim", "states")
MK = "C:\\ProgramData\\Microsoft\\Crypto\\RSA\\MachineKeys"


def _copy(tmp_path, name):
    path = tmp_path / name
    shutil.copyfile(os.path.join(STATES, name), path)
    return str(path)


def _sddl(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)["acls"][MK]["sddl"]


def test_win_acl_absent_is_remove_access_rule(tmp_path):
    # .NET RemoveAccessRule subtracts the rights from every overlapping ACE of that SID
    path = _copy(tmp_path, "machinekeys_everyone_inherit.yml")
    args = {"path": MK, "user": "S-1-1-0", "rights": "FullControl", "type": "allow", "state": "absent"}
    from ansible_collections.vmbackup.azure.plugins.plugin_utils._winsim import manifest, runner

    module = "ansible.windows.win_acl"
    request = manifest.Request(kind="module", module=module, args={**args, "_ansible_module_name": module})
    result, _check = runner.run_module(request, path)
    assert result["changed"] is True
    assert _sddl(path) == "O:SYG:SYD:PAI(A;;FA;;;BA)"  # the default Everyone entry went too


def test_machinekeys_fix_re_plans_after_remove_access_rule(tmp_path):
    path = _copy(tmp_path, "machinekeys_everyone_inherit.yml")
    result, host = run_fix("machinekeys_acl", {"reset_acl": True}, path)
    assert not result.get("failed"), result.get("msg")
    assert sorted(_sddl(path)[len("O:SYG:SYD:PAI") :].strip("()").split(")(")) == ["A;;0x12019f;;;WD", "A;;FA;;;BA"]
    again, _host = run_fix("machinekeys_acl", {"reset_acl": True}, path)
    assert not again.get("failed") and again["changed"] is False


def test_machinekeys_fix_given_the_scan_probe_keeps_the_default_entries_without_a_re_read(tmp_path):
    # Under remediate (probe given, verify: false) there is no re-read: the plan itself re-adds the default
    # Everyone entry that removing (A;OICI;FA;;;WD) strips, so Everyone does not lose access.
    from ansible_collections.vmbackup.azure.plugins.plugin_utils._windows_probe import PROBE_SCRIPT
    from ansible_collections.vmbackup.azure.plugins.plugin_utils._winsim.probe import probe_output
    from ansible_collections.vmbackup.azure.plugins.plugin_utils._winsim.state import HostState

    path = _copy(tmp_path, "machinekeys_everyone_inherit.yml")
    gathered = probe_output(HostState.load(path), PROBE_SCRIPT)
    result, host = run_fix("machinekeys_acl", {"reset_acl": True, "probe": gathered, "verify": False}, path)
    assert not result.get("failed"), result.get("msg")
    assert _probe_runs(host) == []
    assert sorted(_sddl(path)[len("O:SYG:SYD:PAI") :].strip("()").split(")(")) == ["A;;0x12019f;;;WD", "A;;FA;;;BA"]


def test_no_secret_on_any_command_line(tmp_path):
    # a recovery password travels as a win_powershell parameter, never in a command
    password = "111111-222222-333333-444444-555555-666666-000011-123453"
    path = _copy(tmp_path, "bitlocker_locked_data.yml")
    result, host = run_fix("bitlocker_volumes", {"unlock": True, "recovery_passwords": {"D:": password}}, path)
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is True
    for module, args, _check in host.calls:
        assert module not in ("ansible.windows.win_command", "ansible.windows.win_shell"), args
        assert password not in str(args.get("script", "")) + str(args.get("argv", "")) + str(args.get("cmd", ""))
    unlocks = [args for module, args, _c in host.calls if args.get("parameters", {}).get("RecoveryPassword")]
    assert len(unlocks) == 1 and "Unlock-BitLocker" in unlocks[0]["script"]
    assert password not in repr(result)
    with open(path, encoding="utf-8") as handle:
        assert yaml.safe_load(handle)["bitlocker_volumes"][0]["lock_status"] == "Unlocked"


STANDARD = {"changed", "finding", "before", "after", "after_predicted", "actions", "not_allowed", "verified", "detail"}
PROBE_MARKER = "# vmbackup.azure:windows_probe"


def _probe_runs(host):
    return [a for m, a, _c in host.calls if m.endswith("win_powershell") and PROBE_MARKER in a.get("script", "")]


def test_one_base_same_keys_given_probe_and_verify_false(tmp_path):
    # the one base class + the gather-once contract: probe given -> no remote read; verify false ->
    # no re-probe; every fix returns the same keys
    from ansible_collections.vmbackup.azure.plugins.plugin_utils._windows_probe import PROBE_SCRIPT
    from ansible_collections.vmbackup.azure.plugins.plugin_utils._winsim.probe import probe_output
    from ansible_collections.vmbackup.azure.plugins.plugin_utils._winsim.state import HostState
    from winfixes import FIXES

    for fix in FIXES:
        path = _copy(tmp_path, fix["state"])
        own, host = run_fix(fix["action"], fix["options"], path, check_mode=True)
        assert set(own) >= STANDARD, (fix["action"], set(own))
        assert len(_probe_runs(host)) == 1, fix["action"]  # its own probe, only the sections it needs
        gathered = probe_output(HostState.load(path), PROBE_SCRIPT)
        args = dict(fix["options"], probe=gathered, verify=False)
        result, host = run_fix(fix["action"], args, path)
        assert not result.get("failed"), (fix["action"], result.get("msg"))
        assert set(result) >= STANDARD and result["changed"] is True, fix["action"]
        # No read at all: machinekeys_acl plans the re-add of every default entry a removal may strip
        # (RemoveAccessRule), so it needs no re-read; the run below (changed=false) proves nothing was lost.
        assert _probe_runs(host) == [], (fix["action"], [m for m, _a, _c in host.calls])
        assert result["verified"] is False and "probe" not in result["invocation"]["module_args"]
        again, _host = run_fix(fix["action"], fix["options"], path)  # verified by its own probe
        assert again["changed"] is False and not again.get("failed"), (fix["action"], again.get("msg"))


def test_a_given_probe_with_a_broken_section_is_an_error_not_a_plan(tmp_path):
    path = _copy(tmp_path, "com_msdtc_wrong_account.yml")
    from ansible_collections.vmbackup.azure.plugins.plugin_utils._windows_probe import PROBE_SCRIPT
    from ansible_collections.vmbackup.azure.plugins.plugin_utils._winsim.probe import probe_output
    from ansible_collections.vmbackup.azure.plugins.plugin_utils._winsim.state import HostState

    gathered = probe_output(HostState.load(path), PROBE_SCRIPT)
    gathered["services"] = []
    result, host = run_fix("com_services", {"restart": True, "probe": gathered}, path)
    assert result["failed"] is True and "lists no services" in result["msg"] and host.calls == []


def test_hostile_table_catches_an_unsafe_fix(tmp_path, monkeypatch):
    # the hostile table is not theatre: a fix that plans from a missing section is reported UNSAFE
    import hostile
    from ansible_collections.vmbackup.azure.plugins.plugin_utils import _com
    from winfixes import FIXES

    com = next(f for f in FIXES if f["action"] == "com_services")
    assert hostile.run_case(com, "section_throws", False, str(tmp_path))[0] == "err"
    monkeypatch.setattr(_com, "require", lambda probe, *names: None)
    monkeypatch.setattr(_com, "service_errors", lambda *a: None)
    assert hostile.run_case(com, "section_throws", False, str(tmp_path))[0] == "UNSAFE"
