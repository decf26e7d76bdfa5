"""ExtensionSnapshotFailedCOM, ExtensionConfigParsingFailure and ExtensionSnapshotBitlockerError roles through
ansible-playbook on simulated Windows hosts.

Per fix: opt-in off -> nothing disruptive happens and the finding says what would; --check (with --diff)
leaves every state file byte-identical; broken -> fixed; second run changed=0; bad input fails before
any remote execution; the BitLocker recovery password never appears in the output, even with -vvv.
"""

from __future__ import annotations

from conftest import load_yaml, run_playbook, sha256, task_results

MK = "C:\\ProgramData\\Microsoft\\Crypto\\RSA\\MachineKeys"
PASSWORD = "111111-222222-333333-444444-555555-666666-000011-123453"
WRONG = "111111-222222-333333-444444-555555-666666-000011-000022"


def playbook(tmp_path, role):
    path = tmp_path / f"{role}.yml"
    path.write_text(f"- hosts: windows\n  gather_facts: false\n  roles:\n    - role: vmbackup.azure.{role}\n")
    return path


def run(inventory, book, module, *args, **kwargs):
    proc = run_playbook(inventory, book, *args, json_output=True, **kwargs)
    assert hasattr(proc, "json"), proc.stdout[-2000:] + proc.stderr[-2000:]
    return proc, task_results(proc.json, module)


# ----------------------------------------------------------------------------- COM


COM_OPT_IN = {"extension_snapshot_failed_com_restart": True, "extension_snapshot_failed_com_reinstall_msdtc": True}


def test_com_opt_in_off_check_fix_idempotent(sim_fleet, tmp_path):
    inventory, states = sim_fleet(
        {
            "c-acct": "com_msdtc_wrong_account.yml",
            "c-dis": "com_comsysapp_disabled.yml",
            "c-fail": "com_msdtc_start_fails.yml",
        }
    )
    book = playbook(tmp_path, "extension_snapshot_failed_com")

    # opt-ins off: only the non-disruptive fix runs (re-enable + start COMSysApp)
    before = {h: sha256(p) for h, p in states.items()}
    proc, res = run(inventory, book, "com_services")
    assert res["c-acct"]["changed"] is False and sha256(states["c-acct"]) == before["c-acct"]
    assert "would set MSDTC logon account to NT AUTHORITY\\NetworkService" in res["c-acct"]["finding"]["fix"]
    assert {a["action"] for a in res["c-acct"]["not_allowed"]} == {"set_logon_account", "restart_service"}
    assert res["c-dis"]["changed"] is True
    assert load_yaml(states["c-dis"])["services"]["COMSysApp"]["state"] == "running"
    assert res["c-fail"]["failed"] is True
    assert "MSDTC failed to start" in res["c-fail"]["msg"] and "reinstall_msdtc not opted in" in res["c-fail"]["msg"]
    assert load_yaml(states["c-fail"])["services"]["MSDTC"]["start_fails"] is True
    assert res["c-fail"]["detail"]["reinstalled"] is False

    # --check --diff with the opt-ins: reports, changes nothing
    before = {h: sha256(p) for h, p in states.items()}
    proc, res = run(inventory, book, "com_services", "--diff", extra_vars=COM_OPT_IN, check=True)
    assert {h: sha256(p) for h, p in states.items()} == before
    assert res["c-acct"]["changed"] is True and res["c-acct"]["after_predicted"] is True
    assert res["c-acct"]["after"]["MSDTC"]["username"] == "NT AUTHORITY\\NETWORK SERVICE"
    assert "logon LocalSystem" in res["c-acct"]["diff"]["before"]
    assert (
        "--- before: COM+ / MSDTC services (before)"
        in run_playbook(inventory, book, "--diff", extra_vars=COM_OPT_IN, check=True).stdout
    )

    # fix with the opt-ins, then nothing left to do
    proc, res = run(inventory, book, "com_services", extra_vars=COM_OPT_IN)
    assert proc.returncode == 0, proc.stdout[-3000:]
    acct = load_yaml(states["c-acct"])["services"]
    assert acct["MSDTC"]["username"] == "NT AUTHORITY\\NETWORK SERVICE"
    assert [s["action"] for s in res["c-acct"]["actions"]] == [
        "set_logon_account",
        "restart_service",
        "restart_service",
    ]
    assert res["c-fail"]["detail"]["reinstalled"] is True
    assert [s["step"] for s in res["c-fail"]["detail"]["reinstall_steps"]] == [
        "stop MSDTC",
        "msdtc -uninstall",
        "msdtc -install",
        "start MSDTC",
        "start COMSysApp",
    ]
    fail_services = load_yaml(states["c-fail"])["services"]
    assert fail_services["MSDTC"]["state"] == "running" and "start_fails" not in fail_services["MSDTC"]
    assert fail_services["COMSysApp"]["state"] == "running"
    assert all(r["finding_after"]["status"] == "pass" for r in res.values() if r["changed"])

    proc, res = run(inventory, book, "com_services", extra_vars=COM_OPT_IN)
    assert all(proc.json["stats"][h]["changed"] == 0 for h in states), proc.json["stats"]
    assert {r["finding"]["status"] for r in res.values()} == {"pass"}


# ----------------------------------------------------------------------------- MachineKeys


MK_OPT_IN = {
    "extension_config_parsing_failure_reset_acl": True,
    "extension_config_parsing_failure_delete_certificates": True,
}


def test_machinekeys_opt_in_off_check_fix_idempotent(sim_fleet, tmp_path):
    inventory, states = sim_fleet(
        {"m-extra": "machinekeys_extra_principals.yml", "m-manual": "machinekeys_unmatchable.yml"}
    )
    book = playbook(tmp_path, "extension_config_parsing_failure")

    before = {h: sha256(p) for h, p in states.items()}
    proc, res = run(inventory, book, "machinekeys_acl")
    assert {h: sha256(p) for h, p in states.items()} == before
    fix = res["m-extra"]["finding"]["fix"]
    assert fix.startswith("would reset the MachineKeys ACL")
    assert "5C0FFEE0123456789ABCDEF0123456789ABCDEF0" in fix and "9F1A2B3C4D5E6F708192A3B4C5D6E7F8091A2B3C" in fix
    assert "3B1EFD3A66EA28B16697394703A72CA340A05BD5" not in fix
    assert res["m-extra"]["changed"] is False and res["m-manual"]["changed"] is False

    proc, res = run(inventory, book, "machinekeys_acl", "--diff", extra_vars=MK_OPT_IN, check=True)
    assert {h: sha256(p) for h, p in states.items()} == before
    extra = res["m-extra"]
    assert extra["changed"] is True and extra["after_predicted"] is True
    assert extra["after"] == "O:SYG:SYD:PAI(A;;FA;;;BA)(A;;0x12019f;;;WD)"
    assert "Windows Azure CRP Certificate Generator" in extra["diff"]["before"]
    assert "Windows Azure CRP Certificate Generator" not in extra["diff"]["after"]
    assert res["m-manual"]["failed"] is True and "icacls" in res["m-manual"]["msg"]

    proc, res = run(inventory, book, "machinekeys_acl", extra_vars=MK_OPT_IN)
    assert res["m-manual"]["failed"] is True and sha256(states["m-manual"]) == before["m-manual"]
    extra = res["m-extra"]
    assert extra["finding_after"]["status"] == "pass"
    state = load_yaml(states["m-extra"])
    assert state["acls"][MK]["sddl"] == "O:SYG:SYD:PAI(A;;FA;;;BA)(A;;0x12019f;;;WD)"
    assert [c["thumbprint"] for c in state["certificates"]["LocalMachine\\My"]] == [
        "3B1EFD3A66EA28B16697394703A72CA340A05BD5"
    ]
    assert sorted(extra["detail"]["certificates_deleted"]) == [
        "5C0FFEE0123456789ABCDEF0123456789ABCDEF0",
        "9F1A2B3C4D5E6F708192A3B4C5D6E7F8091A2B3C",
    ]

    proc, res = run(inventory, book, "machinekeys_acl", extra_vars=MK_OPT_IN)
    assert proc.json["stats"]["m-extra"]["changed"] == 0
    assert res["m-extra"]["finding"]["status"] == "pass"


# ----------------------------------------------------------------------------- BitLocker


def test_bitlocker_bad_input_wrong_password_check_fix_and_secret(sim_fleet, tmp_path):
    inventory, states = sim_fleet(
        {"b-unlock": "bitlocker_locked_data.yml", "b-decrypt": "bitlocker_locked_data.yml"},
        host_vars={"b-decrypt": {"extension_snapshot_bitlocker_error_decrypt": True}},
    )
    book = playbook(tmp_path, "extension_snapshot_bitlocker_error")
    before = {h: sha256(p) for h, p in states.items()}

    # opt-in off: report only
    proc, res = run(inventory, book, "bitlocker_volumes", "--limit", "b-unlock")
    assert sha256(states["b-unlock"]) == before["b-unlock"] and res["b-unlock"]["changed"] is False
    assert "would unlock D:" in res["b-unlock"]["finding"]["fix"]

    # bad input: fails before anything runs on the host (no remote execution logged), names the volume only
    log = f"{states['b-unlock']}.log.jsonl"
    with open(log, encoding="utf-8") as handle:
        lines = len(handle.readlines())
    bad = {
        "extension_snapshot_bitlocker_error_unlock": True,
        "extension_snapshot_bitlocker_error_recovery_passwords": {"D:": "123-456"},
    }
    proc, res = run(inventory, book, "bitlocker_volumes", "--limit", "b-unlock", extra_vars=bad)
    assert res["b-unlock"]["failed"] is True and "recovery_passwords[D:]" in res["b-unlock"]["msg"]
    assert "123-456" not in proc.stdout
    with open(log, encoding="utf-8") as handle:
        assert len(handle.readlines()) == lines
    assert sha256(states["b-unlock"]) == before["b-unlock"]

    # a well-formed but wrong password: Unlock-BitLocker refuses; the password is not echoed
    wrong = {
        "extension_snapshot_bitlocker_error_unlock": True,
        "extension_snapshot_bitlocker_error_recovery_passwords": {"D:": WRONG},
    }
    proc = run_playbook(inventory, book, "--limit", "b-unlock", "-vvv", extra_vars=wrong)
    assert (
        proc.returncode != 0
        and "Unlock-BitLocker -MountPoint D: -RecoveryPassword <recovery password of D:> failed" in proc.stdout
    )
    assert WRONG not in proc.stdout and WRONG not in proc.stderr
    assert sha256(states["b-unlock"]) == before["b-unlock"]

    good = {
        "extension_snapshot_bitlocker_error_unlock": True,
        "extension_snapshot_bitlocker_error_recovery_passwords": {"D:": PASSWORD},
    }
    proc = run_playbook(inventory, book, "-vvv", "--diff", extra_vars=good, check=True)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert {h: sha256(p) for h, p in states.items()} == before
    assert "(predicted)" in proc.stdout and PASSWORD not in proc.stdout + proc.stderr

    proc = run_playbook(inventory, book, "-vvv", extra_vars=good)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert PASSWORD not in proc.stdout + proc.stderr
    assert "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in proc.stdout
    vols = {h: {v["mount_point"]: v for v in load_yaml(p)["bitlocker_volumes"]} for h, p in states.items()}
    assert vols["b-unlock"]["D:"]["lock_status"] == "Unlocked" and vols["b-unlock"]["D:"]["protection_status"] == "On"
    assert vols["b-decrypt"]["D:"]["protection_status"] == "Off"
    assert vols["b-decrypt"]["D:"]["volume_status"] == "DecryptionInProgress"
    assert vols["b-unlock"]["E:"] == vols["b-decrypt"]["E:"]  # an unlocked volume is never touched

    proc, res = run(inventory, book, "bitlocker_volumes", extra_vars=good)
    assert all(proc.json["stats"][h]["changed"] == 0 for h in states)


# ----------------------------------------------------------------------------- scan


def test_scan_reports_each_broken_state(sim_fleet, tmp_path):
    inventory, states = sim_fleet(
        {
            "ok": "healthy.yml",
            "com": "com_msdtc_wrong_account.yml",
            "mk": "machinekeys_extra_principals.yml",
            "bl": "bitlocker_locked_data.yml",
        }
    )
    book = tmp_path / "scan.yml"
    book.write_text(
        "- hosts: windows\n  gather_facts: false\n  check_mode: true\n  tasks:\n"
        "    - vmbackup.azure.backup_scan:\n"
        "        codes: [ExtensionInstallationFailedMDTC, ExtensionConfigParsingFailure,"
        " ExtensionSnapshotBitlockerError]\n"
    )
    before = {h: sha256(p) for h, p in states.items()}
    proc, res = run(inventory, book, "backup_scan", extra_vars={"extension_snapshot_failed_com_restart": True})
    assert {h: sha256(p) for h, p in states.items()} == before
    status = {h: {f["error_code"]: f["status"] for f in r["findings"]} for h, r in res.items()}
    assert status["ok"] == dict.fromkeys(status["ok"], "pass") and len(status["ok"]) == 3
    assert status["com"]["ExtensionSnapshotFailedCOM"] == "fail"
    assert status["mk"]["ExtensionConfigParsingFailure"] == "fail"
    assert status["bl"]["ExtensionSnapshotBitlockerError"] == "fail"
    com = next(f for f in res["com"]["findings"] if f["error_code"] == "ExtensionSnapshotFailedCOM")
    # the scan reads the role's variables: restart opted in, reinstall not
    assert com["fix"].startswith("set MSDTC logon account") and "last resort, not allowed" in com["fix"]
    assert all(r["remote_executions"] == 1 for r in res.values())
